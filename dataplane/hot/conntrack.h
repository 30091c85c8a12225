// Conntrack: the connection-tracking table that every worker shares. RSS may send the two
// directions of one connection to two workers, so there is one table for all of them, and it
// is lock-free: no lock, no spinlock (hence not rte_hash with MULTI_WRITER_ADD), no
// allocation, no system call on the hot path.
//
// Layout. Open addressing over memory the owner provides (memory_size(capacity) bytes, aligned
// to 64: rte_zmalloc or std::aligned_alloc; the constructor zeroes it). Slots come in buckets
// of kSlotsPerBucket. Two hashes of the connection's canonical key pick two buckets (two
// choices); the entry lives in either, and insert puts it in the one with more empty slots.
// A lookup stops at the first live match but never at an empty slot (a miss scans both
// buckets), so a slot can be emptied anywhere without breaking another entry's chain. When
// both buckets are full, insert fails and the worker drops the packet with
// Drop::ConntrackFull.
//
// Why two choices: with one home and a fixed run of buckets after it, the first insert fails
// at about 55% load and one in ten fails at 80%, because runs of full buckets cluster. With
// the emptier of two random buckets of 16, the first insert fails at about 85% load, at any
// table size (the "power of two choices"). The table is sized for that: capacity() is at
// least 5/4 of the connections asked for, so that many fit, at no more than 80% load.
//
// Slot header. One atomic 32-bit word per slot: the state in the low 3 bits and, once the
// slot holds an entry, a 29-bit signature (a third value of the key's hash) above them. A
// bucket's 16 headers are one 64-byte line, apart from the entries (64 bytes each, the first line
// of a slot's 128-byte record; its TCP window is the second), so a lookup reads two lines of
// headers, compares each bucket's 16 signatures with four SSE compares, and compares a key (five
// 64-bit words) only where a signature matches. Workers put a flow cache in front of lookup
// (dataplane/hot/flow_cache.h, and check() below).
//
//   Empty ──insert: CAS──► Claimed ──fields written, store-release──► Live
//   Live ──remove()──► Removed ──mark_expired()──► Dying ──release_dying()──► Empty
//   Live ──mark_expired(), idle past its timeout──► Dying
//
// Removal is two-phase because a worker may be comparing a slot's key while it is removed:
// Removed and Dying slots are never matched, but their contents stay untouched until every
// worker has passed an RCU quiescent point (rte_rcu_qsbr) after they became Dying. A slot
// that remove() retires waits as Removed for the next mark_expired, because only a Dying
// state set before the grace period started is covered by it. The control thread's cycle:
//
//   ct.mark_expired(now);                          // idle and removed entries → Dying
//   const uint64_t token = rte_rcu_qsbr_start(qsbr);
//   ... later, once rte_rcu_qsbr_check(qsbr, token, false) == 1:
//   ct.release_dying();                            // Dying → Empty, before the next mark
//
// Threads. lookup, insert, seen, remove, entry and set_generation: any worker, concurrently,
// between two of its rte_rcu_qsbr_quiescent reports (a read-side section). An index from
// lookup or insert names that connection until the worker's next quiescent report; after it,
// the slot may hold another connection. mark_expired, release_dying, live and for_each_live:
// one control thread.
//
// Two workers inserting the same new connection at the same moment (its two directions, or
// two packets on two queues) may leave two entries. That is harmless: lookups match the first
// one in bucket order and refresh only it, so the other goes idle and expires.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>

#include "dataplane/hot/flow_key.h"
#include "dataplane/hot/tcp_window.h"
#include "policy/ipproto.h"

namespace palisade::dataplane {

inline constexpr uint32_t kNoFlow = std::numeric_limits<uint32_t>::max();

enum class FlowDir : uint8_t { Original, Reply };

struct FlowMatch {
  uint32_t index = kNoFlow;  // kNoFlow: no live connection has this key
  FlowDir dir = FlowDir::Original;
};

// What the table computed for one key: its two buckets and what the header of a slot holding
// it reads. A function of the key and the table's seed alone, so a worker keeps it from
// lookup to insert (no second hash) and in its flow cache (dataplane/hot/flow_cache.h).
struct FlowProbe {
  std::array<uint32_t, 2> buckets{};  // the key's two choices (they may be the same bucket)
  uint32_t live_word = 0;             // the header of a Live slot that holds this key
  bool key_is_canonical = false;      // the key goes from the canonical key's src to its dst
  uint32_t free_slot = kNoFlow;       // lookup: the first Empty slot of the emptier bucket, if
                                      // any (where prefetch_insert and insert_probed look first)
};

// TCP moves SynSent → Established → Closing (see Conntrack::seen); every other protocol has
// the one state Open, with its protocol's timeout.
enum class CtState : uint8_t { SynSent, Established, Closing, Open };

// Idle timeouts in seconds (defaults: Cilium's, as ConntrackConfig in control/node_config.h).
struct ConntrackTimeouts {
  uint32_t tcp_syn = 60;
  uint32_t tcp_established = 21600;
  uint32_t tcp_closing = 10;
  uint32_t udp = 60;
  uint32_t icmp = 60;  // ICMP and ICMPv6
  uint32_t other = 60;
};

// One connection: one cache line, which a lookup reads only after a signature matched. The
// key and the direction flag are written once, before the slot is published; the other
// fields change while workers read them and are read and written as atomics (std::atomic_ref
// over plain fields, because the table lives in zeroed memory the owner provides).
class alignas(64) FlowEntry {
 public:
  const FlowKey& key() const noexcept { return key_; }  // canonical: the smaller endpoint first
  bool original_is_canonical() const noexcept { return original_is_canonical_ != 0; }
  FlowKey original() const noexcept;  // the key as the connection's first packet had it
  CtState state() const noexcept { return CtState(load(state_)); }
  uint64_t last_seen() const noexcept { return load(last_seen_); }  // ticks
  // The policy generation that judged the connection, and what each side's policy decided:
  // indexes into that generation's verdict table, for explain and counters.
  uint32_t generation() const noexcept { return load(generation_, std::memory_order_acquire); }
  uint32_t egress_verdict() const noexcept { return load(egress_verdict_); }
  uint32_t ingress_verdict() const noexcept { return load(ingress_verdict_); }

 private:
  friend class Conntrack;
  template <typename T>
  static T load(const T& field, std::memory_order order = std::memory_order_relaxed) noexcept {
    // The entry is never const in memory: the table only hands out const references.
    return std::atomic_ref<T>(const_cast<T&>(field)).load(order);
  }

  FlowKey key_;                    //  0..39 canonical key
  uint64_t last_seen_;             // 40..47 ticks of the last packet, either way (atomic)
  uint32_t generation_;            // 48..51 policy generation that judged it (atomic)
  uint32_t egress_verdict_;        // 52..55 (atomic: set_generation)
  uint32_t ingress_verdict_;       // 56..59 (atomic: set_generation)
  uint8_t original_is_canonical_;  // 60    1: the first packet went from key_.src to key_.dst
  uint8_t state_;                  // 61    CtState (atomic: seen() from any worker)
  uint16_t reserved_;              // 62..63 zero
  // NAT: a later address/port rewrite (per direction, 36 bytes for IPv6) goes in a second
  // cache line, 64..127, so that connections without NAT keep lookups to one line.
};
static_assert(sizeof(FlowEntry) == 64, "one cache line per connection");
static_assert(std::atomic_ref<uint64_t>::is_always_lock_free &&
              std::atomic_ref<uint8_t>::is_always_lock_free);

class Conntrack {
 public:
  // 16 headers of 4 bytes: one cache line a bucket.
  static constexpr uint32_t kSlotsPerBucket = 16;
  // 2^30 connections need 120 GiB of entries and windows; a larger capacity is clamped to it.
  static constexpr uint32_t kMaxCapacity = 1u << 30;
  // The alignment of the memory a table is given: a slot's record is two cache lines.
  static constexpr size_t kAlignment = 128;
  static constexpr uint32_t kDefaultHashSeed = 0x5a11ade5;

  // Bytes of memory a table for `capacity` connections needs (a multiple of 128): slots for
  // 5/4 of them (see "Why two choices"), rounded up to whole buckets.
  static size_t memory_size(uint32_t capacity) noexcept;

  // The generation a kept connection records until this process judges it (recover()):
  // no generation is ever numbered 0, so the first one re-judges every kept connection.
  static constexpr uint32_t kUnjudged = 0;

  // What `memory` holds: nothing yet (it is zeroed here), or a table a previous process left
  // (dataplane/conntrack_file.h), to be kept: call recover() before the workers start.
  enum class Memory : uint8_t { Fresh, Kept };

  // memory: memory_size(capacity) bytes aligned to kAlignment, owned by the caller and outliving
  // the table. ticks_per_second: the clock of every `now` (rte_get_tsc_hz() for TSC ticks).
  // hash_seed: pass a random one at start-up, so that nobody can compute in advance which
  // keys share a bucket (a pod crafting such keys could fill both buckets of a key and deny
  // that connection); a kept table keeps the seed it was built with. Not thread-safe: build
  // before the workers start.
  Conntrack(void* memory, uint32_t capacity, const ConntrackTimeouts& timeouts,
            uint64_t ticks_per_second, uint32_t hash_seed = kDefaultHashSeed,
            Memory contents = Memory::Fresh) noexcept;

  // What recover() kept and dropped.
  struct Recovery {
    uint32_t kept = 0;
    uint32_t unfinished = 0;    // inserted, removed or expiring when the previous process died
    uint32_t inconsistent = 0;  // a header or entry that cannot be this table's (corruption)
  };
  // Before the workers start, on a kept table: every slot is checked against what this
  // table would write for its key (signature, bucket, state, direction flag), and kept only
  // if it matches; slots caught mid-insert or mid-removal are emptied. Kept connections
  // record kUnjudged, so the first generation judges each again before its next packet
  // passes, whatever rejudge_established says: the verdicts they recorded index a verdict
  // table the previous process had.
  Recovery recover() noexcept;
  Conntrack(const Conntrack&) = delete;
  Conntrack& operator=(const Conntrack&) = delete;

  // Hot path (any worker). Looks up n keys: out[i] is the live connection of *keys[i] and the
  // direction keys[i] goes in it, or kNoFlow. An entry idle past its timeout at `now` is not
  // matched even if mark_expired has not come by yet, so a connection expires on time.
  // probes, when not null, receives each key's FlowProbe (for insert_probed and flow caches).
  void lookup(const FlowKey* const* keys, uint32_t n, FlowMatch* out, uint64_t now,
              FlowProbe* probes = nullptr) const noexcept;

  // Hot path (any worker). The FlowProbe of one key (hashes it: rte_jhash, seeded).
  FlowProbe probe(const FlowKey& key) const noexcept;

  // Hot path (any worker). What lookup would answer for `key`, checked at one slot only: the
  // slot's header reads probe_word (the live_word of the key's FlowProbe), it holds `key`
  // (turned around unless key_is_canonical) and has not expired. Otherwise kNoFlow. A flow
  // cache remembers (index, probe_word, key_is_canonical) and asks this instead of hashing
  // and scanning two buckets; it reads exactly the state lookup reads, so a slot removed,
  // expired or reused for another connection since it was cached never matches. One
  // difference: where two workers inserted the same connection twice (see above), lookup
  // answers the first entry in bucket order and this one the entry it is asked about; both
  // are that connection's, judged by the generation each records.
  FlowMatch check(uint32_t index, uint32_t probe_word, bool key_is_canonical, const FlowKey& key,
                  uint64_t now) const noexcept;

  // Hot path. Prefetches what check(index, ...) reads: the slot's header and its entry; and
  // the window that tcp_in_window reads next.
  void prefetch_slot(uint32_t index) const noexcept;
  // Hot path. Prefetches a connection's TCP window (a lookup found it: its entry is in cache).
  void prefetch_window(uint32_t index) const noexcept {
    __builtin_prefetch(&records_[index].window);
  }

  // check, prefetch_slot, seen, expired and timeout_ticks are defined inline below: a worker calls
  // them for every established packet, and a call would cost as much as their bodies.

  // Hot path (any worker). Whether a TCP segment of connection `index`, going `dir`, lies in
  // the connection's window, and if so what it opens next (dataplane/hot/tcp_window.h). The
  // first segment each way sets that way's state.
  bool tcp_in_window(uint32_t index, FlowDir dir, const TcpSegment& seg) noexcept {
    return dataplane::tcp_in_window(records_[index].window, dir == FlowDir::Reply ? 1 : 0, seg);
  }
  // Hot path. The connection was picked up mid-stream (not opened by a SYN): its window is
  // not checked (tcp_window.h).
  void tcp_pickup(uint32_t index) noexcept;

  // Hot path (any worker). Adds the connection whose first packet is `original` (tcp_flags: of
  // that packet) and returns its index. When a lookup would already match the connection, its
  // index is returned and the entry is left as it is. nullopt: both its buckets are full.
  // Initial state: TCP SYN without ACK → SynSent; FIN or RST → Closing; any other TCP packet
  // → Established (a connection picked up mid-stream, after a restart or expiry; the worker
  // decides whether to allow that); other protocols → Open.
  std::optional<uint32_t> insert(const FlowKey& original, uint32_t generation,
                                 uint32_t egress_verdict, uint32_t ingress_verdict,
                                 uint8_t tcp_flags, uint64_t now) noexcept;
  // The same with the FlowProbe a lookup of `original` gave (the key is not hashed again);
  // kNoFlow when both buckets are full. Where the lookup found an Empty slot (free_slot) and
  // it is still Empty, the connection goes there without the buckets being read again;
  // otherwise as insert. A connection another worker inserted since that lookup may then be
  // there twice, the race described above.
  //
  // Within one read-side section the hint cannot mislead: a slot taken since the lookup
  // stays taken until a grace period this worker has not passed, so a second packet of a
  // connection this worker just inserted finds its hint taken and the first entry.
  uint32_t insert_probed(const FlowKey& original, const FlowProbe& probe, uint32_t generation,
                         uint32_t egress_verdict, uint32_t ingress_verdict, uint8_t tcp_flags,
                         uint64_t now) noexcept;
  // Hot path. Prefetches, for writing, the entry insert_probed will most likely fill (the
  // probe's free_slot): a new connection's entry is a cold line, and a burst's inserts overlap
  // their misses when each is prefetched before the first insert.
  void prefetch_insert(const FlowProbe& probe) const noexcept;

  // Hot path (any worker). A packet of connection `index` went in direction `dir`: refreshes
  // last_seen (written at most every 1/100 s, so that the workers carrying the two directions
  // do not write the line on every packet; an idle connection may expire that much early)
  // and moves the TCP state: a reply while SynSent →
  // Established; FIN or RST in either direction → Closing, which lasts until it expires.
  void seen(uint32_t index, FlowDir dir, uint8_t tcp_flags, uint64_t now) noexcept;

  // Any worker, or the control thread. Stops matching the connection at once (Live → Removed);
  // the slot is reused after the next mark_expired and grace period. No effect unless Live.
  void remove(uint32_t index) noexcept;

  const FlowEntry& entry(uint32_t index) const noexcept { return records_[index].entry; }

  // The connection was judged again by policy `generation`, which allowed it with these
  // verdicts. The verdicts change with the generation, because they index its verdict table.
  // A reader that loads generation() (acquire) reads these verdicts or newer ones.
  void set_generation(uint32_t index, uint32_t generation, uint32_t egress_verdict,
                      uint32_t ingress_verdict) noexcept;

  // Idle time after which the entry expires, in ticks: by TCP state, or by protocol.
  uint64_t timeout_ticks(const FlowEntry& e) const noexcept;

  uint32_t capacity() const noexcept { return buckets_ * kSlotsPerBucket; }

  // Control thread. Live connections, counted by a scan of the headers (O(capacity), no
  // counter written on the hot path): exact on a quiet table, approximate while workers
  // insert and remove.
  uint32_t live() const noexcept;

  // Control thread. Turns Live entries idle past their timeout at `now`, and the entries
  // remove() retired since the last call, into Dying; returns how many. Then start a grace
  // period; see the cycle above.
  size_t mark_expired(uint64_t now) noexcept;

  // Control thread, only after every worker has passed a quiescent point since the last
  // mark_expired returned: empties the Dying slots, and returns how many.
  size_t release_dying() noexcept;

  // Control thread. fn(index, const FlowEntry&) for each Live entry (re-judging, listing).
  // An entry may become Removed while fn runs; its fields stay readable until the next
  // release_dying, which this thread calls.
  template <typename Fn>
  void for_each_live(Fn&& fn) const {
    for (uint32_t slot = 0; slot < capacity(); ++slot) {
      if (is_live(slot)) {
        fn(slot, records_[slot].entry);
      }
    }
  }

 private:
  // Of one bucket's 16 headers (bit i: slot first + i): those that read live_word, and the
  // Empty ones.
  struct BucketMasks {
    uint32_t matching, empty;
  };
  FlowProbe probe_words(const FlowKeyWords& words, FlowKeyWords& canonical) const noexcept;
  // The first slot in bucket order that holds `canonical`, live and unexpired; on a miss,
  // p.free_slot is set to the first Empty slot of the bucket with more of them.
  uint32_t find(const FlowKeyWords& canonical, FlowProbe& p, uint64_t now) const noexcept;
  BucketMasks bucket_masks(uint32_t first, uint32_t live_word) const noexcept;
  // Of the candidate slots of the bucket at `first` (bits of bucket_masks' `matching`), the
  // first that holds `canonical`, live and unexpired; kNoFlow if none.
  uint32_t match(uint32_t first, uint32_t candidates, uint32_t live_word,
                 const FlowKeyWords& canonical, uint64_t now) const noexcept;
  // Insert's two steps: take an Empty slot (Empty → Claimed; false if it is not Empty), then
  // write the connection into it and publish it (Claimed → Live).
  bool claim(uint32_t slot) noexcept;
  void fill(uint32_t slot, const FlowKeyWords& canonical, const FlowProbe& p, uint32_t generation,
            uint32_t egress_verdict, uint32_t ingress_verdict, CtState state,
            uint64_t now) noexcept;
  void prefetch_buckets(const FlowProbe& p) const noexcept;
  // The buckets to scan: both, or one when the two choices are the same bucket.
  static uint32_t choices(const FlowProbe& p) noexcept {
    return p.buckets[0] == p.buckets[1] ? 1 : 2;
  }
  bool expired(const FlowEntry& e, uint64_t now) const noexcept;
  bool is_live(uint32_t slot) const noexcept;

  // The offsets written beside FlowEntry's fields (checked here: a friend sees them).
  static_assert(offsetof(FlowEntry, last_seen_) == 40 && offsetof(FlowEntry, generation_) == 48 &&
                offsetof(FlowEntry, egress_verdict_) == 52 &&
                offsetof(FlowEntry, ingress_verdict_) == 56 &&
                offsetof(FlowEntry, original_is_canonical_) == 60 &&
                offsetof(FlowEntry, state_) == 61 && offsetof(FlowEntry, reserved_) == 62);

  // Timeout classes, the indexes of timeout_ticks_ (TCP's are its CtState values).
  static constexpr size_t kUdpTimeout = 3, kIcmpTimeout = 4, kOtherTimeout = 5;
  static_assert(size_t(CtState::SynSent) == 0 && size_t(CtState::Established) == 1 &&
                size_t(CtState::Closing) == 2);

  uint32_t buckets_;
  uint32_t hash_seed_;
  // A slot's record: its entry in the first cache line (all a lookup reads), its TCP window
  // in the second, adjacent one: the same page, and the line the CPU's adjacent-line
  // prefetcher brings in with the first. Apart from the entries, windows cost an extra cache
  // and TLB miss per established packet (BM_established at 10k flows: +270 cycles, against
  // +20 here). The last 32 bytes wait for NAT state.
  struct alignas(128) SlotRecord {
    FlowEntry entry;
    TcpWindow window;
    std::array<uint8_t, 32> spare;
  };
  static_assert(sizeof(SlotRecord) == 128);

  uint32_t* headers_;    // capacity() slot words, accessed through std::atomic_ref
  SlotRecord* records_;  // capacity() records
  // Idle timeouts in ticks: SynSent, Established, Closing, then UDP, ICMP, other.
  std::array<uint64_t, 6> timeout_ticks_;
  uint64_t seen_resolution_;  // ticks between two writes of last_seen
};

inline uint64_t Conntrack::timeout_ticks(const FlowEntry& e) const noexcept {
  switch (e.key_.proto) {
    case 6: {  // TCP: by state
      const CtState s = e.state();
      return timeout_ticks_[s == CtState::Open ? size_t(CtState::Established) : size_t(s)];
    }
    case 17:  // UDP
      return timeout_ticks_[kUdpTimeout];
    case 1:   // ICMP
    case 58:  // ICMPv6
      return timeout_ticks_[kIcmpTimeout];
    default:
      return timeout_ticks_[kOtherTimeout];
  }
}

inline bool Conntrack::expired(const FlowEntry& e, uint64_t now) const noexcept {
  // Another worker's clock may be a little ahead of ours: a last_seen after now is fresh.
  const uint64_t last = e.last_seen();
  return now > last && now - last >= timeout_ticks(e);
}

inline FlowMatch Conntrack::check(uint32_t index, uint32_t probe_word, bool key_is_canonical,
                                  const FlowKey& key, uint64_t now) const noexcept {
  FlowMatch match;
  if (index >= capacity() ||
      std::atomic_ref<uint32_t>(headers_[index]).load(std::memory_order_acquire) != probe_word) {
    return match;  // emptied, removed, expired by the scan, or another connection's now
  }
  // Live with the key's signature (acquire: pairs with insert's store-release, so the key is
  // written), and it stays so until this worker's next quiescent report: a slot is rewritten
  // only after a grace period that starts once it has left Live. So the key compares as in
  // lookup.
  const FlowEntry& e = records_[index].entry;
  const FlowKeyWords words = words_of(key);
  const FlowKeyWords stored = words_of(e.key_);
  const bool same =
      key_is_canonical ? same_words(stored, words) : same_words_reversed(stored, words);
  if (!same || expired(e, now)) {
    return match;
  }
  match.index = index;
  match.dir =
      (e.original_is_canonical_ != 0) != key_is_canonical ? FlowDir::Reply : FlowDir::Original;
  return match;
}

// Inline: every established packet calls it, and it usually writes nothing (last_seen is
// fresh, the TCP state stays).
inline void Conntrack::seen(uint32_t index, FlowDir dir, uint8_t tcp_flags, uint64_t now) noexcept {
  using policy::ipproto::kTcp;
  constexpr uint8_t kTcpFin = 0x01, kTcpRst = 0x04;
  FlowEntry& e = records_[index].entry;
  std::atomic_ref<uint64_t> last(e.last_seen_);
  const uint64_t before = last.load(std::memory_order_relaxed);
  if (now > before && now - before >= seen_resolution_) {
    last.store(now, std::memory_order_relaxed);
  }
  if (e.key_.proto != kTcp) {
    return;
  }
  // Two workers may move the state at once (a FIN one way, the first reply the other): each
  // move is a CAS from the state it was computed from, so neither undoes the other. TCP moves
  // SynSent → Established on a reply, anything → Closing on FIN or RST.
  std::atomic_ref<uint8_t> state(e.state_);
  uint8_t current = state.load(std::memory_order_relaxed);
  for (;;) {
    uint8_t next = current;
    if ((tcp_flags & (kTcpFin | kTcpRst)) != 0) {
      next = uint8_t(CtState::Closing);
    } else if (current == uint8_t(CtState::SynSent) && dir == FlowDir::Reply) {
      next = uint8_t(CtState::Established);
    }
    if (next == current || state.compare_exchange_weak(current, next, std::memory_order_relaxed)) {
      return;
    }
  }
}

inline void Conntrack::prefetch_slot(uint32_t index) const noexcept {
  if (index < capacity()) {
    __builtin_prefetch(&headers_[index]);
    __builtin_prefetch(&records_[index].entry);
    __builtin_prefetch(&records_[index].window);  // the adjacent line: TCP checks read it
  }
}

}  // namespace palisade::dataplane
