#include "dataplane/hot/conntrack.h"

#include <rte_debug.h>
#include <rte_jhash.h>
#include <rte_prefetch.h>
#include <rte_vect.h>

#include <algorithm>
#include <cstring>

#include "policy/ipproto.h"

namespace palisade::dataplane {

namespace {

using policy::ipproto::kTcp;
constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

// A slot's header word: the state in the low kKindBits, the key's signature above them.
// Empty is 0, so zeroed memory is an empty table.
constexpr uint32_t kKindBits = 3, kKindMask = (1u << kKindBits) - 1;
constexpr uint32_t kEmpty = 0, kClaimed = 1, kLive = 2, kRemoved = 3, kDying = 4;

constexpr uint32_t with_kind(uint32_t word, uint32_t kind) { return (word & ~kKindMask) | kind; }

// Where in a bucket a key's entry goes: the first empty slot from a place its signature
// picks, not from slot 0. Entries 16 slots apart are 2 KiB apart, and at low load nearly
// every entry would sit in its bucket's slot 0, so they would all fall into 4 of the L1's 64
// sets (and 1/16 of L2's): established packets of 10k connections paid ~10 cycles for that.
// A bucket's empty mask, turned so that bit 0 is that place.
constexpr uint32_t kBucketMask = (1u << Conntrack::kSlotsPerBucket) - 1;
uint32_t start_of(uint32_t live_word) {
  return (live_word >> kKindBits) % Conntrack::kSlotsPerBucket;
}
uint32_t turned(uint32_t mask, uint32_t start) {
  return ((mask >> start) | (mask << (Conntrack::kSlotsPerBucket - start))) & kBucketMask;
}
// The slot (within its bucket) of the lowest bit of a turned mask.
uint32_t slot_of_turned(uint32_t bits, uint32_t start) {
  return (static_cast<uint32_t>(__builtin_ctz(bits)) + start) % Conntrack::kSlotsPerBucket;
}

uint32_t buckets_for(uint32_t capacity) {
  // 5/4 of the connections asked for: that many fit at 80% load (see "Why two choices").
  const uint64_t slots = (uint64_t{std::min(capacity, Conntrack::kMaxCapacity)} * 5 + 3) / 4;
  const uint64_t buckets = (slots + Conntrack::kSlotsPerBucket - 1) / Conntrack::kSlotsPerBucket;
  return static_cast<uint32_t>(std::max<uint64_t>(buckets, 1));
}

size_t header_bytes(uint32_t buckets) {
  const size_t bytes = size_t{buckets} * Conntrack::kSlotsPerBucket * sizeof(uint32_t);
  return (bytes + Conntrack::kAlignment - 1) / Conntrack::kAlignment * Conntrack::kAlignment;
}

CtState initial_state(uint8_t proto, uint8_t tcp_flags) {
  if (proto != kTcp) {
    return CtState::Open;
  }
  if ((tcp_flags & (kTcpFin | kTcpRst)) != 0) {
    return CtState::Closing;
  }
  if ((tcp_flags & kTcpSyn) != 0 && (tcp_flags & kTcpAck) == 0) {
    return CtState::SynSent;
  }
  return CtState::Established;
}

}  // namespace

FlowKey FlowEntry::original() const noexcept {
  if (original_is_canonical_ != 0) {
    return key_;
  }
  return key_of_words(reversed_words(words_of(key_)));
}

FlowProbe Conntrack::probe(const FlowKey& key) const noexcept {
  FlowKeyWords canonical;
  return probe_words(words_of(key), canonical);
}

FlowProbe Conntrack::probe_words(const FlowKeyWords& words,
                                 FlowKeyWords& canonical) const noexcept {
  FlowProbe p;
  p.key_is_canonical = is_canonical(words);
  canonical = p.key_is_canonical ? words : reversed_words(words);
  // Two independent 32-bit hashes in one pass, one per bucket choice (multiply-shift maps a
  // hash onto any bucket count with its high bits); the signature mixes the low bits of
  // both, which choose no bucket. jhash, seeded per daemon start, so that a pod cannot
  // compute which keys share a bucket (see the constructor); a worker's flow cache may use a
  // cheaper hash because a collision there costs only a miss.
  uint32_t h_first = hash_seed_, h_second = hash_seed_ ^ 0x9e3779b9u;
  static_assert(sizeof(canonical.w) == 40);
  if (((canonical.w[4] >> 32) & 0xff) == 4) {
    // An IPv4 key's words 1 and 3 are zero: hashing its 16 other bytes takes two jhash
    // rounds instead of four. (The family byte is hashed, so no IPv6 key hashes alike.)
    const uint32_t v4[4] = {
        static_cast<uint32_t>(canonical.w[0]), static_cast<uint32_t>(canonical.w[2]),
        static_cast<uint32_t>(canonical.w[4]), static_cast<uint32_t>(canonical.w[4] >> 32)};
    rte_jhash_32b_2hashes(v4, 4, &h_first, &h_second);
  } else {
    rte_jhash_32b_2hashes(reinterpret_cast<const uint32_t*>(canonical.w), 10, &h_first, &h_second);
  }
  p.buckets[0] = static_cast<uint32_t>((uint64_t{h_first} * buckets_) >> 32);
  p.buckets[1] = static_cast<uint32_t>((uint64_t{h_second} * buckets_) >> 32);
  const uint32_t signature = h_first ^ ((h_second << 16) | (h_second >> 16));
  p.live_word = (signature << kKindBits) | kLive;
  return p;
}

size_t Conntrack::memory_size(uint32_t capacity) noexcept {
  const uint32_t buckets = buckets_for(capacity);
  return header_bytes(buckets) + size_t{buckets} * kSlotsPerBucket * sizeof(SlotRecord);
}

Conntrack::Conntrack(void* memory, uint32_t capacity, const ConntrackTimeouts& timeouts,
                     uint64_t ticks_per_second, uint32_t hash_seed, Memory contents) noexcept
    : buckets_(buckets_for(capacity)),
      hash_seed_(hash_seed),
      headers_(static_cast<uint32_t*>(memory)),
      records_(
          reinterpret_cast<SlotRecord*>(static_cast<uint8_t*>(memory) + header_bytes(buckets_))),
      timeout_ticks_{uint64_t{timeouts.tcp_syn} * ticks_per_second,
                     uint64_t{timeouts.tcp_established} * ticks_per_second,
                     uint64_t{timeouts.tcp_closing} * ticks_per_second,
                     uint64_t{timeouts.udp} * ticks_per_second,
                     uint64_t{timeouts.icmp} * ticks_per_second,
                     uint64_t{timeouts.other} * ticks_per_second},
      seen_resolution_(ticks_per_second / 100) {
  // A caller's mistake, not input: misaligned entries would straddle cache lines, and a
  // misaligned last_seen would not be atomic.
  static_assert(alignof(SlotRecord) == kAlignment);
  RTE_VERIFY(memory != nullptr && reinterpret_cast<uintptr_t>(memory) % kAlignment == 0);
  if (contents == Memory::Fresh) {
    std::memset(memory, 0, memory_size(capacity));
  }
}

Conntrack::Recovery Conntrack::recover() noexcept {
  Recovery r;
  for (uint32_t slot = 0; slot < capacity(); ++slot) {
    const uint32_t word = headers_[slot];
    if (word == kEmpty) {
      continue;
    }
    FlowEntry& e = records_[slot].entry;
    if ((word & kKindMask) != kLive) {
      // Claimed, Removed, Dying: the previous process was between two steps. Nobody holds
      // the slot now, so it is simply empty again.
      const uint32_t kind = word & kKindMask;
      (kind == kClaimed || kind == kRemoved || kind == kDying ? r.unfinished : r.inconsistent)++;
      headers_[slot] = kEmpty;
      continue;
    }
    // Live: it must be exactly what insert would have written for its key.
    const FlowKeyWords stored = words_of(e.key_);
    FlowKeyWords canonical;
    const FlowProbe p = probe_words(stored, canonical);
    const uint32_t bucket = slot / kSlotsPerBucket;
    const bool consistent = p.key_is_canonical && p.live_word == word &&
                            (bucket == p.buckets[0] || bucket == p.buckets[1]) &&
                            e.original_is_canonical_ <= 1 && e.state_ <= uint8_t(CtState::Open) &&
                            (e.state_ == uint8_t(CtState::Open)) == (e.key_.proto != kTcp) &&
                            e.reserved_ == 0;
    if (!consistent) {
      ++r.inconsistent;
      headers_[slot] = kEmpty;
      continue;
    }
    e.generation_ = kUnjudged;
    ++r.kept;
  }
  return r;
}

uint32_t Conntrack::find(const FlowKeyWords& canonical, FlowProbe& p, uint64_t now) const noexcept {
  uint32_t most_empty = 0;
  p.free_slot = kNoFlow;
  for (uint32_t c = 0; c < choices(p); ++c) {
    const uint32_t first = p.buckets[c] * kSlotsPerBucket;
    const BucketMasks masks = bucket_masks(first, p.live_word);
    if (const uint32_t slot = match(first, masks.matching, p.live_word, canonical, now);
        slot != kNoFlow) {
      return slot;
    }
    const auto empty = static_cast<uint32_t>(__builtin_popcount(masks.empty));
    if (empty > most_empty) {
      most_empty = empty;
      const uint32_t start = start_of(p.live_word);
      p.free_slot = first + slot_of_turned(turned(masks.empty, start), start);
    }
  }
  return kNoFlow;
}

uint32_t Conntrack::match(uint32_t first, uint32_t candidates, uint32_t live_word,
                          const FlowKeyWords& canonical, uint64_t now) const noexcept {
  for (uint32_t bits = candidates; bits != 0; bits &= bits - 1) {
    const uint32_t slot = first + static_cast<uint32_t>(__builtin_ctz(bits));
    // The SIMD read only picked candidates. Acquire: pairs with insert's store-release, so a
    // Live header means a written key.
    if (std::atomic_ref<uint32_t>(headers_[slot]).load(std::memory_order_acquire) != live_word) {
      continue;
    }
    const FlowEntry& e = records_[slot].entry;
    if (same_words(words_of(e.key_), canonical) && !expired(e, now)) {
      return slot;
    }
  }
  return kNoFlow;
}

Conntrack::BucketMasks Conntrack::bucket_masks(uint32_t first, uint32_t live_word) const noexcept {
  // The 16 headers of a bucket are one 64-byte line: four 16-byte loads. These plain loads
  // may race with a worker's CAS or store on a header; each 4-byte lane is read whole
  // (aligned, and x86 splits no aligned 16-byte load below 4 bytes), and a candidate is only
  // trusted after find re-reads its header with an acquire load.
  static_assert(kSlotsPerBucket == 16, "four 16-byte vectors per bucket");
  const auto* v = reinterpret_cast<const __m128i*>(headers_ + first);
  const __m128i h0 = _mm_load_si128(v), h1 = _mm_load_si128(v + 1);
  const __m128i h2 = _mm_load_si128(v + 2), h3 = _mm_load_si128(v + 3);
  // Four compares give 16 lanes of all-ones or zero; two saturating packs narrow them to 16
  // bytes in slot order, and one movemask reads a bit per slot.
  const auto mask = [&](__m128i want) {
    const __m128i lo = _mm_packs_epi32(_mm_cmpeq_epi32(h0, want), _mm_cmpeq_epi32(h1, want));
    const __m128i hi = _mm_packs_epi32(_mm_cmpeq_epi32(h2, want), _mm_cmpeq_epi32(h3, want));
    return static_cast<uint32_t>(_mm_movemask_epi8(_mm_packs_epi16(lo, hi)));
  };
  return {mask(_mm_set1_epi32(static_cast<int>(live_word))), mask(_mm_setzero_si128())};
}

void Conntrack::prefetch_buckets(const FlowProbe& p) const noexcept {
  rte_prefetch0(&headers_[size_t{p.buckets[0]} * kSlotsPerBucket]);
  rte_prefetch0(&headers_[size_t{p.buckets[1]} * kSlotsPerBucket]);
}

void Conntrack::lookup(const FlowKey* const* keys, uint32_t n, FlowMatch* out, uint64_t now,
                       FlowProbe* probes) const noexcept {
  constexpr uint32_t kChunk = 16;
  std::array<FlowProbe, kChunk> local;
  std::array<FlowKeyWords, kChunk> canonical;
  for (uint32_t base = 0; base < n; base += kChunk) {
    const uint32_t m = std::min(kChunk, n - base);
    FlowProbe* p = probes != nullptr ? probes + base : local.data();
    // Hash the whole chunk and prefetch each key's two header lines first, so that the
    // header misses of the chunk overlap instead of following one another.
    for (uint32_t i = 0; i < m; ++i) {
      p[i] = probe_words(words_of(*keys[base + i]), canonical[i]);
      prefetch_buckets(p[i]);
    }
    for (uint32_t i = 0; i < m; ++i) {
      const uint32_t slot = find(canonical[i], p[i], now);
      FlowMatch& match = out[base + i];
      match.index = slot;
      match.dir = FlowDir::Original;
      if (slot != kNoFlow &&
          (records_[slot].entry.original_is_canonical_ != 0) != p[i].key_is_canonical) {
        match.dir = FlowDir::Reply;
      }
    }
  }
}

void Conntrack::prefetch_insert(const FlowProbe& probe) const noexcept {
  if (probe.free_slot < capacity()) {
    __builtin_prefetch(&records_[probe.free_slot],
                       1);  // for writing (rte_prefetch0_write is experimental)
  }
}

std::optional<uint32_t> Conntrack::insert(const FlowKey& original, uint32_t generation,
                                          uint32_t egress_verdict, uint32_t ingress_verdict,
                                          uint8_t tcp_flags, uint64_t now) noexcept {
  const uint32_t slot = insert_probed(original, probe(original), generation, egress_verdict,
                                      ingress_verdict, tcp_flags, now);
  return slot == kNoFlow ? std::nullopt : std::optional<uint32_t>(slot);
}

bool Conntrack::claim(uint32_t slot) noexcept {
  uint32_t expected = kEmpty;
  // Acquire: pairs with release_dying's store, which the control thread made only after
  // every reader of the slot's previous connection had let go of it.
  return std::atomic_ref<uint32_t>(headers_[slot])
      .compare_exchange_strong(expected, kClaimed, std::memory_order_acquire,
                               std::memory_order_relaxed);
}

void Conntrack::fill(uint32_t slot, const FlowKeyWords& canonical, const FlowProbe& p,
                     uint32_t generation, uint32_t egress_verdict, uint32_t ingress_verdict,
                     CtState state, uint64_t now) noexcept {
  FlowEntry& e = records_[slot].entry;
  store_words(e.key_, canonical);
  std::atomic_ref<uint64_t>(e.last_seen_).store(now, std::memory_order_relaxed);
  std::atomic_ref<uint32_t>(e.generation_).store(generation, std::memory_order_relaxed);
  std::atomic_ref<uint32_t>(e.egress_verdict_).store(egress_verdict, std::memory_order_relaxed);
  std::atomic_ref<uint32_t>(e.ingress_verdict_).store(ingress_verdict, std::memory_order_relaxed);
  e.original_is_canonical_ = p.key_is_canonical ? 1 : 0;
  std::atomic_ref<uint8_t>(e.state_).store(uint8_t(state), std::memory_order_relaxed);
  e.reserved_ = 0;
  std::memset(&records_[slot].window, 0, sizeof(TcpWindow));  // not seen yet, either way
  // Release: publishes every field above.
  std::atomic_ref<uint32_t>(headers_[slot]).store(p.live_word, std::memory_order_release);
}

uint32_t Conntrack::insert_probed(const FlowKey& original, const FlowProbe& p, uint32_t generation,
                                  uint32_t egress_verdict, uint32_t ingress_verdict,
                                  uint8_t tcp_flags, uint64_t now) noexcept {
  const FlowKeyWords words = words_of(original);
  const FlowKeyWords canonical = p.key_is_canonical ? words : reversed_words(words);
  // The slot the lookup found empty, if it still is: the buckets need not be read again. A
  // second packet of the same new connection in one burst had the same hint and finds it
  // taken, so it falls through to the pass below, which finds the first packet's entry.
  if (p.free_slot < capacity() && claim(p.free_slot)) {
    fill(p.free_slot, canonical, p, generation, egress_verdict, ingress_verdict,
         initial_state(original.proto, tcp_flags), now);
    return p.free_slot;
  }
  // One pass over both buckets: the connection if it is already there (two packets of a new
  // connection in one burst both miss the lookup), and each bucket's empty slots.
  std::array<uint32_t, 2> first_of{};
  std::array<uint32_t, 2> empty{};
  const uint32_t n = choices(p);
  for (uint32_t c = 0; c < n; ++c) {
    first_of[c] = p.buckets[c] * kSlotsPerBucket;
    const BucketMasks masks = bucket_masks(first_of[c], p.live_word);
    empty[c] = masks.empty;
    if (const uint32_t slot = match(first_of[c], masks.matching, p.live_word, canonical, now);
        slot != kNoFlow) {
      return slot;
    }
  }
  // The emptier bucket first: that choice is what keeps the two buckets of every key from
  // filling up before the table does.
  const uint32_t emptier =
      n == 2 && __builtin_popcount(empty[1]) > __builtin_popcount(empty[0]) ? 1 : 0;
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t c = k == 0 ? emptier : 1 - emptier;
    const uint32_t start = start_of(p.live_word);
    for (uint32_t bits = turned(empty[c], start); bits != 0; bits &= bits - 1) {
      const uint32_t slot = first_of[c] + slot_of_turned(bits, start);
      if (!claim(slot)) {
        continue;  // another worker took it first
      }
      fill(slot, canonical, p, generation, egress_verdict, ingress_verdict,
           initial_state(original.proto, tcp_flags), now);
      return slot;
    }
  }
  return kNoFlow;
}

void Conntrack::tcp_pickup(uint32_t index) noexcept {
  for (TcpSide& side : records_[index].window.side) {
    std::atomic_ref<uint8_t>(side.liberal).store(1, std::memory_order_relaxed);
  }
}

void Conntrack::remove(uint32_t index) noexcept {
  std::atomic_ref<uint32_t> header(headers_[index]);
  uint32_t word = header.load(std::memory_order_relaxed);
  if ((word & kKindMask) == kLive) {
    // Fails only if it is no longer Live: removed by someone else, or expired.
    header.compare_exchange_strong(word, with_kind(word, kRemoved), std::memory_order_relaxed);
  }
}

void Conntrack::set_generation(uint32_t index, uint32_t generation, uint32_t egress_verdict,
                               uint32_t ingress_verdict) noexcept {
  FlowEntry& e = records_[index].entry;
  std::atomic_ref<uint32_t>(e.egress_verdict_).store(egress_verdict, std::memory_order_relaxed);
  std::atomic_ref<uint32_t>(e.ingress_verdict_).store(ingress_verdict, std::memory_order_relaxed);
  // Release: a reader that sees this generation sees its verdicts.
  std::atomic_ref<uint32_t>(e.generation_).store(generation, std::memory_order_release);
}

bool Conntrack::is_live(uint32_t slot) const noexcept {
  return (std::atomic_ref<uint32_t>(headers_[slot]).load(std::memory_order_acquire) & kKindMask) ==
         kLive;
}

uint32_t Conntrack::live() const noexcept {
  uint32_t n = 0;
  for (uint32_t slot = 0; slot < capacity(); ++slot) {
    n += is_live(slot) ? 1 : 0;
  }
  return n;
}

size_t Conntrack::mark_expired(uint64_t now) noexcept {
  // Relaxed stores suffice for Dying: the caller's rte_rcu_qsbr_start (a release) follows
  // them, and a worker that reports quiescent for that token sees them.
  size_t n = 0;
  for (uint32_t slot = 0; slot < capacity(); ++slot) {
    std::atomic_ref<uint32_t> header(headers_[slot]);
    uint32_t word = header.load(std::memory_order_acquire);
    const uint32_t kind = word & kKindMask;
    if (kind == kRemoved) {
      // Only this thread moves a Removed slot on. Seeing it Removed here, before the grace
      // period starts, is what makes the grace period cover the readers that matched it.
      header.store(with_kind(word, kDying), std::memory_order_relaxed);
      ++n;
    } else if (kind == kLive && expired(records_[slot].entry, now)) {
      if (!header.compare_exchange_strong(word, with_kind(word, kDying),
                                          std::memory_order_relaxed)) {
        // A worker removed it meanwhile, the only other way out of Live.
        header.store(with_kind(word, kDying), std::memory_order_relaxed);
      }
      ++n;
    }
  }
  return n;
}

size_t Conntrack::release_dying() noexcept {
  size_t n = 0;
  for (uint32_t slot = 0; slot < capacity(); ++slot) {
    std::atomic_ref<uint32_t> header(headers_[slot]);
    if ((header.load(std::memory_order_relaxed) & kKindMask) == kDying) {
      // Release: pairs with insert's acquire CAS, after which the slot is rewritten.
      header.store(kEmpty, std::memory_order_release);
      ++n;
    }
  }
  return n;
}

}  // namespace palisade::dataplane
