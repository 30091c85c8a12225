#include "dataplane/hot/flow_cache.h"

namespace palisade::dataplane {

void FlowCache::fill(uint32_t hash, uint32_t slot, const FlowProbe& probe) noexcept {
  Set& set = sets_[hash % kSets];
  uint32_t way = kWays - 1;  // the oldest, unless a way already holds the hash
  for (uint32_t w = 0; w < kWays; ++w) {
    if (set.hash[w] == hash) {
      way = w;
      break;
    }
  }
  // The newest goes first: ways [0, way) move down one.
  for (uint32_t w = way; w > 0; --w) {
    set.hash[w] = set.hash[w - 1];
    set.slot[w] = set.slot[w - 1];
    set.probe_word[w] = set.probe_word[w - 1];
  }
  set.hash[0] = hash;
  set.slot[0] = slot;
  set.probe_word[0] = probe.live_word | (probe.key_is_canonical ? kCanonicalBit : 0);
}

void FlowCache::clear() noexcept {
  for (Set& set : sets_) {
    set.hash.fill(0);
    set.slot.fill(kNoFlow);
    set.probe_word.fill(0);
    set.unused.fill(0);
  }
}

}  // namespace palisade::dataplane
