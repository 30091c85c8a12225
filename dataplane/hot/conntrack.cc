#include "dataplane/hot/conntrack.h"

#include <algorithm>
#include <cstring>

#include <rte_debug.h>
#include <rte_jhash.h>
#include <rte_prefetch.h>

namespace palisade::dataplane {

namespace {

constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmpV6 = 58;
constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

// A slot's header word: the state in the low kKindBits, the key's signature above them.
// Empty is 0, so zeroed memory is an empty table.
constexpr uint32_t kKindBits = 3, kKindMask = (1u << kKindBits) - 1;
constexpr uint32_t kEmpty = 0, kClaimed = 1, kLive = 2, kRemoved = 3, kDying = 4;
constexpr uint32_t kWindowSlots = Conntrack::kProbeBuckets * Conntrack::kSlotsPerBucket;

constexpr uint32_t with_kind(uint32_t word, uint32_t kind) { return (word & ~kKindMask) | kind; }

// Timeout classes, the indexes of Conntrack::timeout_ticks_ (TCP's are its CtState values).
constexpr size_t kUdpTimeout = 3, kIcmpTimeout = 4, kOtherTimeout = 5;
static_assert(size_t(CtState::SynSent) == 0 && size_t(CtState::Established) == 1 &&
              size_t(CtState::Closing) == 2);

uint32_t buckets_for(uint32_t capacity) {
  capacity = std::min(capacity, Conntrack::kMaxCapacity);
  const uint32_t buckets = (capacity + Conntrack::kSlotsPerBucket - 1) / Conntrack::kSlotsPerBucket;
  // At least one window, so that a window never wraps onto itself.
  return std::max(buckets, Conntrack::kProbeBuckets);
}

size_t header_bytes(uint32_t buckets) {
  const size_t bytes = size_t{buckets} * Conntrack::kSlotsPerBucket * sizeof(uint32_t);
  return (bytes + alignof(FlowEntry) - 1) / alignof(FlowEntry) * alignof(FlowEntry);
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

CtState tcp_next(CtState state, FlowDir dir, uint8_t tcp_flags) {
  if ((tcp_flags & (kTcpFin | kTcpRst)) != 0) {
    return CtState::Closing;
  }
  if (state == CtState::SynSent && dir == FlowDir::Reply) {
    return CtState::Established;
  }
  return state;
}

}  // namespace

FlowKey FlowEntry::original() const noexcept {
  if (original_is_canonical_ != 0) {
    return key_;
  }
  FlowKey k = key_;
  k.sport = key_.dport;
  k.dport = key_.sport;
  std::memcpy(k.src, key_.dst, sizeof(k.src));
  std::memcpy(k.dst, key_.src, sizeof(k.dst));
  return k;
}

struct Conntrack::Probe {
  // The canonical key, padded to 40 bytes so that jhash reads whole aligned words and never
  // past the object.
  struct alignas(8) Padded {
    FlowKey key;
    uint8_t zero[2];
  } canonical;
  bool key_is_canonical;  // the key looked up goes from canonical.key.src to .dst
  uint32_t home;          // home bucket
  uint32_t live_word;     // the header of a Live slot that holds this key
};

Conntrack::Probe Conntrack::probe(const FlowKey& key) const noexcept {
  Probe p{};
  // The canonical direction goes from the smaller (address, port) endpoint to the larger.
  const int order = std::memcmp(key.src, key.dst, sizeof(key.src));
  p.key_is_canonical = order < 0 || (order == 0 && key.sport <= key.dport);
  FlowKey& c = p.canonical.key;
  c = key;
  if (!p.key_is_canonical) {
    c.sport = key.dport;
    c.dport = key.sport;
    std::memcpy(c.src, key.dst, sizeof(c.src));
    std::memcpy(c.dst, key.src, sizeof(c.dst));
  }
  // Two independent 32-bit hashes in one pass: the bucket from the first (multiply-shift maps
  // it onto any bucket count), the signature from the second.
  uint32_t h_bucket = hash_seed_, h_signature = hash_seed_ ^ 0x9e3779b9u;
  static_assert(sizeof(Probe::Padded) == 40);
  rte_jhash_2hashes(&p.canonical, sizeof(p.canonical), &h_bucket, &h_signature);
  p.home = static_cast<uint32_t>((uint64_t{h_bucket} * buckets_) >> 32);
  p.live_word = (h_signature << kKindBits) | kLive;
  return p;
}

size_t Conntrack::memory_size(uint32_t capacity) noexcept {
  const uint32_t buckets = buckets_for(capacity);
  return header_bytes(buckets) + size_t{buckets} * kSlotsPerBucket * sizeof(FlowEntry);
}

Conntrack::Conntrack(void* memory, uint32_t capacity, const ConntrackTimeouts& timeouts,
                     uint64_t ticks_per_second, uint32_t hash_seed) noexcept
    : buckets_(buckets_for(capacity)),
      hash_seed_(hash_seed),
      headers_(static_cast<uint32_t*>(memory)),
      entries_(
          reinterpret_cast<FlowEntry*>(static_cast<uint8_t*>(memory) + header_bytes(buckets_))),
      timeout_ticks_{uint64_t{timeouts.tcp_syn} * ticks_per_second,
                     uint64_t{timeouts.tcp_established} * ticks_per_second,
                     uint64_t{timeouts.tcp_closing} * ticks_per_second,
                     uint64_t{timeouts.udp} * ticks_per_second,
                     uint64_t{timeouts.icmp} * ticks_per_second,
                     uint64_t{timeouts.other} * ticks_per_second},
      seen_resolution_(ticks_per_second / 100) {
  // A caller's mistake, not input: misaligned entries would straddle cache lines, and a
  // misaligned last_seen would not be atomic.
  RTE_VERIFY(memory != nullptr && reinterpret_cast<uintptr_t>(memory) % alignof(FlowEntry) == 0);
  std::memset(memory, 0, memory_size(capacity));
}

uint32_t Conntrack::window_slot(uint32_t home, uint32_t i) const noexcept {
  uint32_t bucket = home + i / kSlotsPerBucket;
  if (bucket >= buckets_) {
    bucket -= buckets_;
  }
  return bucket * kSlotsPerBucket + i % kSlotsPerBucket;
}

uint64_t Conntrack::timeout_ticks(const FlowEntry& e) const noexcept {
  switch (e.key_.proto) {
    case kTcp: {
      const CtState s = e.state();
      return timeout_ticks_[s == CtState::Open ? size_t(CtState::Established) : size_t(s)];
    }
    case kUdp:
      return timeout_ticks_[kUdpTimeout];
    case kIcmp:
    case kIcmpV6:
      return timeout_ticks_[kIcmpTimeout];
    default:
      return timeout_ticks_[kOtherTimeout];
  }
}

bool Conntrack::expired(const FlowEntry& e, uint64_t now) const noexcept {
  // Another worker's clock may be a little ahead of ours: a last_seen after now is fresh.
  const uint64_t last = e.last_seen();
  return now > last && now - last >= timeout_ticks(e);
}

uint32_t Conntrack::find(const Probe& p, uint64_t now) const noexcept {
  for (uint32_t i = 0; i < kWindowSlots; ++i) {
    const uint32_t slot = window_slot(p.home, i);
    // Acquire: pairs with insert's store-release, so a Live header means a written key.
    if (std::atomic_ref<uint32_t>(headers_[slot]).load(std::memory_order_acquire) != p.live_word) {
      continue;
    }
    const FlowEntry& e = entries_[slot];
    if (std::memcmp(&e.key_, &p.canonical.key, sizeof(FlowKey)) == 0 && !expired(e, now)) {
      return slot;
    }
  }
  return kNoFlow;
}

void Conntrack::lookup(const FlowKey* const* keys, uint32_t n, FlowMatch* out,
                       uint64_t now) const noexcept {
  constexpr uint32_t kChunk = 16;
  std::array<Probe, kChunk> probes;
  for (uint32_t base = 0; base < n; base += kChunk) {
    const uint32_t m = std::min(kChunk, n - base);
    // Hash the whole chunk and prefetch each window's headers first, so that the header
    // misses of the chunk overlap instead of following one another.
    for (uint32_t i = 0; i < m; ++i) {
      probes[i] = probe(*keys[base + i]);
      for (uint32_t b = 0; b < kProbeBuckets; ++b) {
        rte_prefetch0(&headers_[window_slot(probes[i].home, b * kSlotsPerBucket)]);
      }
    }
    for (uint32_t i = 0; i < m; ++i) {
      const uint32_t slot = find(probes[i], now);
      FlowMatch& match = out[base + i];
      match.index = slot;
      match.dir = FlowDir::Original;
      if (slot != kNoFlow &&
          (entries_[slot].original_is_canonical_ != 0) != probes[i].key_is_canonical) {
        match.dir = FlowDir::Reply;
      }
    }
  }
}

std::optional<uint32_t> Conntrack::insert(const FlowKey& original, uint32_t generation,
                                          uint32_t egress_verdict, uint32_t ingress_verdict,
                                          uint8_t tcp_flags, uint64_t now) noexcept {
  const Probe p = probe(original);
  // One pass over the window: the connection if it is already there (two packets of a new
  // connection in one burst both miss the lookup), and the empty slots in window order.
  std::array<uint32_t, kWindowSlots> empty;
  uint32_t n_empty = 0;
  for (uint32_t i = 0; i < kWindowSlots; ++i) {
    const uint32_t slot = window_slot(p.home, i);
    const uint32_t word = std::atomic_ref<uint32_t>(headers_[slot]).load(std::memory_order_acquire);
    if (word == kEmpty) {
      empty[n_empty++] = slot;
    } else if (word == p.live_word &&
               std::memcmp(&entries_[slot].key_, &p.canonical.key, sizeof(FlowKey)) == 0 &&
               !expired(entries_[slot], now)) {
      return slot;
    }
  }
  for (uint32_t j = 0; j < n_empty; ++j) {
    const uint32_t slot = empty[j];
    std::atomic_ref<uint32_t> header(headers_[slot]);
    uint32_t expected = kEmpty;
    // Acquire: pairs with release_dying's store, which the control thread made only after
    // every reader of the slot's previous connection had let go of it.
    if (!header.compare_exchange_strong(expected, kClaimed, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
      continue;  // another worker took it first
    }
    FlowEntry& e = entries_[slot];
    e.key_ = p.canonical.key;
    e.original_is_canonical_ = p.key_is_canonical ? 1 : 0;
    std::atomic_ref<uint8_t>(e.state_).store(uint8_t(initial_state(original.proto, tcp_flags)),
                                             std::memory_order_relaxed);
    std::atomic_ref<uint64_t>(e.last_seen_).store(now, std::memory_order_relaxed);
    std::atomic_ref<uint32_t>(e.generation_).store(generation, std::memory_order_relaxed);
    std::atomic_ref<uint32_t>(e.egress_verdict_).store(egress_verdict, std::memory_order_relaxed);
    std::atomic_ref<uint32_t>(e.ingress_verdict_).store(ingress_verdict, std::memory_order_relaxed);
    e.reserved_ = 0;
    header.store(p.live_word, std::memory_order_release);  // publishes every field above
    return slot;
  }
  return std::nullopt;
}

void Conntrack::seen(uint32_t index, FlowDir dir, uint8_t tcp_flags, uint64_t now) noexcept {
  FlowEntry& e = entries_[index];
  std::atomic_ref<uint64_t> last(e.last_seen_);
  const uint64_t before = last.load(std::memory_order_relaxed);
  if (now > before && now - before >= seen_resolution_) {
    last.store(now, std::memory_order_relaxed);
  }
  if (e.key_.proto != kTcp) {
    return;
  }
  // Two workers may move the state at once (a FIN one way, the first reply the other): each
  // move is a CAS from the state it was computed from, so neither undoes the other.
  std::atomic_ref<uint8_t> state(e.state_);
  uint8_t current = state.load(std::memory_order_relaxed);
  for (;;) {
    const auto next = uint8_t(tcp_next(CtState(current), dir, tcp_flags));
    if (next == current || state.compare_exchange_weak(current, next, std::memory_order_relaxed)) {
      return;
    }
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
  FlowEntry& e = entries_[index];
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
    } else if (kind == kLive && expired(entries_[slot], now)) {
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
