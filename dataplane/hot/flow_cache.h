// FlowCache: a worker's own memory of where in the shared conntrack table the connections of
// the keys it saw recently live, so that an established packet is found without hashing its
// key with jhash and scanning its two buckets of 16 slots.
//
// What it holds: for a key's CRC32-C, the conntrack slot index, the header word that slot has
// while it holds the key (FlowProbe::live_word) and whether the key is the connection's
// canonical direction. Nothing else: no verdict, no state, no route.
//
// Why it cannot let a packet through that the table would not: a hit is only a candidate
// slot, which the worker hands to Conntrack::check. check reads the slot's header and entry
// exactly as lookup does (header Live with the key's signature, the whole 40-byte key equal,
// not idle past its timeout), so a slot that was removed, expired, released or reused for
// another connection since it was cached is a miss, and the worker falls back to lookup.
// Everything the worker checks after a conntrack hit (the pod-port guard, anti-spoofing, the
// generation that judged the connection, TCP state moves, fragments, ICMP errors) it checks
// the same way whichever found the slot.
//
// RCU: the cache holds slot indexes, never pointers. The table's memory lives as long as the
// workers; a slot only changes hands, two-phase (conntrack.h), and a worker compares a slot's
// key only after reading its header Live, which keeps the key unchanged until the worker's
// next quiescent report. So no entry needs clearing when the worker reports quiescent: each
// is validated on every use.
//
// Why CRC32-C here, and not in the table: CRC is linear, so a pod can craft keys that share a
// cache set. Here that costs the pod's own packets (and others' in that set) a fallback to
// lookup, never a wrong answer and never table capacity; the shared table keeps its seeded
// jhash, so nobody can aim keys at one of its buckets.
//
// Threads: one per worker, used by that worker alone. Hot path: no allocation, no lock.
#pragma once

#include <rte_hash_crc.h>
#include <rte_prefetch.h>
#include <rte_vect.h>

#include <array>
#include <cstdint>

#include "dataplane/hot/conntrack.h"
#include "dataplane/hot/flow_key.h"

namespace palisade::dataplane {

class alignas(64) FlowCache {
 public:
  static constexpr uint32_t kCanonicalBit = 1;
  // 4,096 sets of 4 ways, one cache line a set: 16,384 keys in 256 KiB, a quarter of a
  // worker's L2 on the machines measured (docs/dataplane.md, Speed).
  static constexpr uint32_t kSets = 4096;
  static constexpr uint32_t kWays = 4;

  // A candidate: the slot, and the header word it has while it holds the key (bit 0, always
  // 0 in a Live word, holds whether the key is canonical).
  struct Hit {
    uint32_t slot = kNoFlow;  // kNoFlow: no way holds the hash
    uint32_t word = 0;
    uint32_t probe_word() const noexcept { return word & ~kCanonicalBit; }
    bool key_is_canonical() const noexcept { return (word & kCanonicalBit) != 0; }
  };
  static_assert(sizeof(Hit) == 8, "returned in one register");

  FlowCache() noexcept { clear(); }

  // CRC32-C of the key's five words (hardware CRC32 on x86 with SSE 4.2).
  static uint32_t hash(const FlowKey& key) noexcept {
    const FlowKeyWords k = words_of(key);
    // Two chains of CRC32 instructions, so that their latencies overlap.
    uint32_t a = rte_hash_crc_8byte(k.w[0], 0xffffffffu);
    uint32_t b = rte_hash_crc_8byte(k.w[1], 0x9e3779b9u);
    a = rte_hash_crc_8byte(k.w[2], a);
    b = rte_hash_crc_8byte(k.w[3], b);
    a = rte_hash_crc_8byte(k.w[4], a);
    return a ^ ((b << 13) | (b >> 19));
  }

  void prefetch(uint32_t hash) const noexcept { rte_prefetch0(&sets_[hash % kSets]); }

  // The way that holds `hash`, if any. hash, prefetch and find are inline: a worker calls
  // them for every packet it looks up.
  Hit find(uint32_t hash) const noexcept {
    const Set& set = sets_[hash % kSets];
    const __m128i hashes = _mm_load_si128(reinterpret_cast<const __m128i*>(set.hash.data()));
    const __m128i want = _mm_set1_epi32(static_cast<int>(hash));
    const auto mask =
        static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(hashes, want))));
    if (mask == 0) {
      return Hit{};
    }
    const auto way = static_cast<uint32_t>(__builtin_ctz(mask));
    return Hit{set.slot[way], set.probe_word[way]};
  }

  // Remembers that the key of `hash` lives at `slot`: replaces the way that holds the hash,
  // else the set's oldest way (first in, first out; a hit writes nothing).
  void fill(uint32_t hash, uint32_t slot, const FlowProbe& probe) noexcept;
  void clear() noexcept;

 private:
  // One set: the ways' hashes, slots and header words side by side, so that one vector
  // compare finds the way. Way 0 is the newest.
  struct alignas(64) Set {
    std::array<uint32_t, kWays> hash;
    std::array<uint32_t, kWays> slot;
    std::array<uint32_t, kWays> probe_word;  // bit 0: the key is canonical (a Live word's
                                             // bit 0 is always 0: its kind is 2)
    std::array<uint32_t, kWays> unused;
  };
  static_assert(sizeof(Set) == 64);

  std::array<Set, kSets> sets_;
};

}  // namespace palisade::dataplane
