#include "dataplane/hot/flow_cache.h"

#include <gtest/gtest.h>
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "policy/ipproto.h"

namespace palisade::dataplane {
namespace {

using policy::ipproto::kTcp;
using policy::ipproto::kUdp;
constexpr uint64_t kTicksPerSecond = 1000;
constexpr ConntrackTimeouts kTimeouts{
    .tcp_syn = 5, .tcp_established = 100, .tcp_closing = 2, .udp = 30, .icmp = 10, .other = 20};

FlowKey v4(uint8_t proto, std::array<uint8_t, 4> src, uint16_t sport, std::array<uint8_t, 4> dst,
           uint16_t dport) {
  FlowKey k;
  k.family = 4;
  k.proto = proto;
  k.sport = sport;
  k.dport = dport;
  std::memcpy(k.src, src.data(), 4);
  std::memcpy(k.dst, dst.data(), 4);
  return k;
}

FlowKey nth_udp(uint32_t n) {
  return v4(kUdp, {10, 1, uint8_t(n >> 8), uint8_t(n)}, 5000, {10, 2, 0, 1}, 53);
}

FlowKey reversed(const FlowKey& k) { return key_of_words(reversed_words(words_of(k))); }

struct Table {
  explicit Table(uint32_t capacity, const ConntrackTimeouts& timeouts = kTimeouts,
                 uint64_t ticks_per_second = kTicksPerSecond)
      : memory(std::aligned_alloc(Conntrack::kAlignment, Conntrack::memory_size(capacity)),
               &std::free),
        ct(memory.get(), capacity, timeouts, ticks_per_second) {}
  std::unique_ptr<void, decltype(&std::free)> memory;
  Conntrack ct;
};

// What a worker does: the cache's candidate checked against the table, the table on a miss
// (and the cache told where the key lives).
FlowMatch cached_lookup(FlowCache& cache, const Conntrack& ct, const FlowKey& key, uint64_t now) {
  const uint32_t hash = FlowCache::hash(key);
  const FlowCache::Hit hit = cache.find(hash);
  if (hit.slot != kNoFlow) {
    const FlowMatch m = ct.check(hit.slot, hit.probe_word(), hit.key_is_canonical(), key, now);
    if (m.index != kNoFlow) {
      return m;
    }
  }
  const FlowKey* keys[] = {&key};
  FlowMatch m;
  FlowProbe probe;
  ct.lookup(keys, 1, &m, now, &probe);
  if (m.index != kNoFlow) {
    cache.fill(hash, m.index, probe);
  }
  return m;
}

TEST(FlowKey, WordsTurnAroundAndOrderAsTheBytesDo) {
  const FlowKey k = v4(kTcp, {10, 0, 0, 1}, 40000, {10, 0, 0, 2}, 80);
  const FlowKey r = reversed(k);
  EXPECT_EQ(std::memcmp(r.src, k.dst, 16), 0);
  EXPECT_EQ(std::memcmp(r.dst, k.src, 16), 0);
  EXPECT_EQ(r.sport, 80);
  EXPECT_EQ(r.dport, 40000);
  EXPECT_EQ(r.family, 4);
  EXPECT_EQ(r.proto, kTcp);
  EXPECT_TRUE(is_canonical(words_of(k)));  // 10.0.0.1 < 10.0.0.2
  EXPECT_FALSE(is_canonical(words_of(r)));
  // The addresses decide byte by byte, high bytes first, whatever the ports.
  EXPECT_TRUE(is_canonical(words_of(v4(kTcp, {9, 255, 255, 255}, 9, {10, 0, 0, 0}, 1))));
  EXPECT_FALSE(is_canonical(words_of(v4(kTcp, {10, 0, 1, 0}, 1, {10, 0, 0, 255}, 9))));
  // Equal addresses: the smaller port first; a key equal to its reverse is canonical.
  EXPECT_TRUE(is_canonical(words_of(v4(kUdp, {10, 0, 0, 1}, 53, {10, 0, 0, 1}, 54))));
  EXPECT_FALSE(is_canonical(words_of(v4(kUdp, {10, 0, 0, 1}, 54, {10, 0, 0, 1}, 53))));
  EXPECT_TRUE(is_canonical(words_of(v4(kUdp, {10, 0, 0, 1}, 53, {10, 0, 0, 1}, 53))));
  EXPECT_TRUE(same_words_reversed(words_of(r), words_of(k)));
  EXPECT_FALSE(same_words(words_of(r), words_of(k)));
}

TEST(FlowCache, AKeyFoundOnceIsFoundThroughTheCacheInBothDirections) {
  Table t(1024);
  FlowCache cache;
  const FlowKey k = v4(kTcp, {10, 0, 0, 9}, 40000, {10, 0, 0, 3}, 443);
  const auto index = t.ct.insert(k, 1, 0, 0, 0x02, 0);
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ(cache.find(FlowCache::hash(k)).slot, kNoFlow);
  for (const bool reply : {false, true}) {
    const FlowKey key = reply ? reversed(k) : k;
    const FlowMatch first = cached_lookup(cache, t.ct, key, 1);  // from the table
    const FlowCache::Hit hit = cache.find(FlowCache::hash(key));
    ASSERT_EQ(hit.slot, *index);
    const FlowMatch again = t.ct.check(hit.slot, hit.probe_word(), hit.key_is_canonical(), key, 1);
    EXPECT_EQ(again.index, first.index);
    EXPECT_EQ(again.dir, first.dir);
    EXPECT_EQ(again.dir, reply ? FlowDir::Reply : FlowDir::Original);
  }
}

TEST(FlowCache, ACandidateNeverMatchesAnotherKey) {
  Table t(1024);
  FlowCache cache;
  const FlowKey a = nth_udp(1), b = nth_udp(2);
  const auto ia = t.ct.insert(a, 1, 0, 0, 0, 0);
  ASSERT_TRUE(ia.has_value());
  const FlowProbe pa = t.ct.probe(a);
  EXPECT_EQ(pa.live_word & FlowCache::kCanonicalBit, 0u);  // the bit the cache borrows
  // b's hash pointing at a's slot (a hash collision, or a crafted key): a miss, not a's.
  cache.fill(FlowCache::hash(b), *ia, pa);
  const FlowCache::Hit hit = cache.find(FlowCache::hash(b));
  ASSERT_EQ(hit.slot, *ia);
  EXPECT_EQ(t.ct.check(hit.slot, hit.probe_word(), hit.key_is_canonical(), b, 1).index, kNoFlow);
  EXPECT_EQ(cached_lookup(cache, t.ct, b, 1).index, kNoFlow);
  // a seen the wrong way round by a stale canonical flag: a miss too.
  EXPECT_EQ(t.ct.check(*ia, pa.live_word, !pa.key_is_canonical, a, 1).index, kNoFlow);
  // Indexes past the table never match.
  EXPECT_EQ(t.ct.check(t.ct.capacity(), pa.live_word, pa.key_is_canonical, a, 1).index, kNoFlow);
}

TEST(FlowCache, RemovedExpiredAndReusedSlotsAreMisses) {
  Table t(1);  // one window: every slot is every key's
  FlowCache cache;
  const uint32_t slots = t.ct.capacity();
  std::vector<uint32_t> index;
  for (uint32_t i = 0; i < slots; ++i) {
    index.push_back(t.ct.insert(nth_udp(i), 1, 0, 0, 0, 0).value());
    ASSERT_EQ(cached_lookup(cache, t.ct, nth_udp(i), 0).index, index[i]);
  }
  // Removed: no longer matched through the cache, at once.
  t.ct.remove(index[3]);
  EXPECT_EQ(cached_lookup(cache, t.ct, nth_udp(3), 1).index, kNoFlow);
  // Idle past the UDP timeout: not matched through the cache either.
  EXPECT_EQ(cached_lookup(cache, t.ct, nth_udp(4), kTicksPerSecond * 30).index, kNoFlow);
  EXPECT_EQ(cached_lookup(cache, t.ct, nth_udp(4), kTicksPerSecond * 30 - 1).index, index[4]);
  // Released and reused by another connection: the old key's candidate is a miss, and the
  // new key is found.
  t.ct.mark_expired(1);
  t.ct.release_dying();
  const FlowKey newcomer = nth_udp(1000);
  const auto reused = t.ct.insert(newcomer, 2, 0, 0, 0, 2);
  ASSERT_EQ(reused, index[3]);
  EXPECT_EQ(cache.find(FlowCache::hash(nth_udp(3))).slot, index[3]);  // still cached
  EXPECT_EQ(cached_lookup(cache, t.ct, nth_udp(3), 2).index, kNoFlow);
  EXPECT_EQ(cached_lookup(cache, t.ct, newcomer, 2).index, index[3]);
  // The old key back again, in another slot once one is free: the cache follows it.
  t.ct.remove(index[7]);
  t.ct.mark_expired(3);
  t.ct.release_dying();
  const auto back = t.ct.insert(nth_udp(3), 3, 0, 0, 0, 3);
  ASSERT_EQ(back, index[7]);
  EXPECT_EQ(cached_lookup(cache, t.ct, nth_udp(3), 3).index, index[7]);
  EXPECT_EQ(cache.find(FlowCache::hash(nth_udp(3))).slot, index[7]);
}

TEST(FlowCache, ASetKeepsItsNewestFourKeys) {
  FlowCache cache;
  FlowProbe probe;
  probe.live_word = 0x40;
  // Five hashes of one set (equal modulo kSets): the first filled is the one let go.
  for (uint32_t i = 0; i < 5; ++i) {
    cache.fill(7 + i * FlowCache::kSets, 100 + i, probe);
  }
  EXPECT_EQ(cache.find(7).slot, kNoFlow);
  for (uint32_t i = 1; i < 5; ++i) {
    EXPECT_EQ(cache.find(7 + i * FlowCache::kSets).slot, 100 + i) << i;
  }
  // Filling a hash already there replaces it in place: nothing else is let go.
  cache.fill(7 + 2 * FlowCache::kSets, 555, probe);
  for (uint32_t i = 1; i < 5; ++i) {
    EXPECT_EQ(cache.find(7 + i * FlowCache::kSets).slot, i == 2 ? 555u : 100 + i) << i;
  }
  cache.clear();
  EXPECT_EQ(cache.find(7 + 4 * FlowCache::kSets).slot, kNoFlow);
}

// Workers that look their connections up through their own flow caches, while the others
// and the control thread remove, expire, release and reuse slots with real RCU grace
// periods: a cached slot never answers for a connection that is not the key's, and a live
// connection is never missed. A small table keeps slots changing hands all the time.
TEST(FlowCacheConcurrency, CachedSlotsNeverAnswerForAnotherConnection) {
  constexpr uint32_t kWorkers = 3;
  constexpr uint32_t kKeys = 48;  // per worker, looked up every round
  constexpr uint64_t kTicks = 100;
  constexpr ConntrackTimeouts kShort{
      .tcp_syn = 1, .tcp_established = 1, .tcp_closing = 1, .udp = 1, .icmp = 1, .other = 1};
  Table t(256, kShort, kTicks);
  Conntrack& ct = t.ct;
  const size_t qsbr_size = rte_rcu_qsbr_get_memsize(kWorkers);
  std::unique_ptr<void, decltype(&std::free)> qsbr_memory(
      std::aligned_alloc(64, (qsbr_size + 63) / 64 * 64), &std::free);
  auto* qsbr = static_cast<rte_rcu_qsbr*>(qsbr_memory.get());
  ASSERT_EQ(rte_rcu_qsbr_init(qsbr, kWorkers), 0);

  auto key = [](uint32_t w, uint32_t i) {
    return v4(kUdp, {10, uint8_t(w), 0, uint8_t(i)}, 4000, {10, 9, 0, 1}, 53);
  };
  auto tag = [](uint32_t w, uint32_t i) { return (w + 1) << 24 | i; };
  std::atomic<uint64_t> clock{1};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> wrong{0}, missed{0}, hits{0}, rounds{0};
  std::atomic<uint32_t> ready{0};

  auto worker = [&](uint32_t w) {
    rte_rcu_qsbr_thread_online(qsbr, w);
    FlowCache cache;
    std::mt19937 rng(w);
    std::vector<bool> present(kKeys, false);  // inserted by us and not removed since
    ready.fetch_add(1);
    while (!stop.load(std::memory_order_relaxed)) {
      rte_rcu_qsbr_quiescent(qsbr, w);
      const uint64_t now = clock.load();
      for (uint32_t i = 0; i < kKeys; ++i) {
        const FlowKey k = rng() % 2 == 0 ? key(w, i) : reversed(key(w, i));
        const uint32_t hash = FlowCache::hash(k);
        const FlowCache::Hit hit = cache.find(hash);
        FlowMatch m;
        if (hit.slot != kNoFlow) {
          m = ct.check(hit.slot, hit.probe_word(), hit.key_is_canonical(), k, now);
          hits.fetch_add(m.index != kNoFlow ? 1 : 0, std::memory_order_relaxed);
        }
        if (m.index == kNoFlow) {
          m = cached_lookup(cache, ct, k, now);
        }
        if (m.index != kNoFlow) {
          const FlowEntry& e = ct.entry(m.index);
          const FlowKey original = e.original(), want = key(w, i);
          if (std::memcmp(&original, &want, sizeof(FlowKey)) != 0 ||
              e.egress_verdict() != tag(w, i)) {
            wrong.fetch_add(1);
          }
          ct.seen(m.index, m.dir, 0, now);
          if (rng() % 8 == 0) {  // churn: cut it; it is inserted again on a later round
            ct.remove(m.index);
            present[i] = false;
          }
        } else {
          if (present[i]) {
            missed.fetch_add(1);  // refreshed every round: it cannot have expired
          }
          present[i] = ct.insert(key(w, i), 1, tag(w, i), 0, 0, now).has_value();
        }
      }
      rounds.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::yield();
    }
    rte_rcu_qsbr_thread_offline(qsbr, w);
  };
  for (uint32_t w = 0; w < kWorkers; ++w) {
    ASSERT_EQ(rte_rcu_qsbr_thread_register(qsbr, w), 0);
  }
  std::vector<std::thread> threads;
  for (uint32_t w = 0; w < kWorkers; ++w) {
    threads.emplace_back(worker, w);
  }
  while (ready.load() < kWorkers) {
    std::this_thread::yield();
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(800);
  size_t released = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const uint64_t now = clock.fetch_add(10) + 10;
    ct.mark_expired(now);
    const uint64_t token = rte_rcu_qsbr_start(qsbr);
    while (rte_rcu_qsbr_check(qsbr, token, false) == 0) {
      std::this_thread::yield();
    }
    released += ct.release_dying();
  }
  stop = true;
  for (std::thread& th : threads) {
    th.join();
  }
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(missed.load(), 0u);
  EXPECT_GT(hits.load(), 0u);
  EXPECT_GT(released, 0u);  // slots did change hands
  EXPECT_GT(rounds.load(), 10u);
}

}  // namespace
}  // namespace palisade::dataplane
