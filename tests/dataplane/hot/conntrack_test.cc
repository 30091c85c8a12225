#include "dataplane/hot/conntrack.h"

#include <gtest/gtest.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "policy/ipproto.h"

namespace palisade::dataplane {
namespace {

using namespace policy::ipproto;  // kTcp, kUdp, kIcmp, kIcmpV6, kSctp
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;

// Milliseconds as ticks keep the expiry tests readable: s(5) is five seconds.
constexpr uint64_t kTicksPerSecond = 1000;
constexpr uint64_t s(uint64_t seconds) { return seconds * kTicksPerSecond; }
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

// fd00::<src_last> → fd00::<dst_last>
FlowKey v6(uint8_t proto, uint8_t src_last, uint16_t sport, uint8_t dst_last, uint16_t dport) {
  FlowKey k;
  k.family = 6;
  k.proto = proto;
  k.sport = sport;
  k.dport = dport;
  k.src[0] = k.dst[0] = 0xfd;
  k.src[15] = src_last;
  k.dst[15] = dst_last;
  return k;
}

FlowKey reversed(const FlowKey& k) {
  FlowKey r = k;
  r.sport = k.dport;
  r.dport = k.sport;
  std::memcpy(r.src, k.dst, sizeof(r.src));
  std::memcpy(r.dst, k.src, sizeof(r.dst));
  return r;
}

bool same(const FlowKey& a, const FlowKey& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

// A table in memory from std::aligned_alloc, as the owner would get from rte_zmalloc.
struct Table {
  explicit Table(uint32_t capacity, const ConntrackTimeouts& timeouts = kTimeouts,
                 uint64_t ticks_per_second = kTicksPerSecond)
      : memory(std::aligned_alloc(Conntrack::kAlignment, Conntrack::memory_size(capacity)),
               &std::free),
        ct(memory.get(), capacity, timeouts, ticks_per_second) {}
  std::unique_ptr<void, decltype(&std::free)> memory;
  Conntrack ct;
};

FlowMatch find(const Conntrack& ct, const FlowKey& key, uint64_t now) {
  const FlowKey* keys[] = {&key};
  FlowMatch match;
  ct.lookup(keys, 1, &match, now);
  return match;
}

uint32_t add(Conntrack& ct, const FlowKey& key, uint64_t now, uint8_t tcp_flags = kSyn) {
  const auto index = ct.insert(key, 1, 10, 20, tcp_flags, now);
  EXPECT_TRUE(index.has_value());
  return index.value_or(kNoFlow);
}

// A fresh address pair for each n, so that keys are distinct.
FlowKey nth_udp(uint32_t n) {
  return v4(kUdp, {10, 1, uint8_t(n >> 8), uint8_t(n)}, 5000, {10, 2, 0, 1}, 53);
}

TEST(Conntrack, BothDirectionsOfAnIpv4ConnectionFindItsOneEntry) {
  Table t(1024);
  // One connection opened from the smaller address, one from the larger: the table stores
  // both canonically, and must still tell the directions apart.
  const FlowKey up = v4(kTcp, {10, 0, 0, 1}, 40000, {10, 0, 0, 2}, 80);
  const FlowKey down = v4(kTcp, {10, 0, 0, 9}, 40000, {10, 0, 0, 3}, 443);
  for (const FlowKey& original : {up, down}) {
    const uint32_t index = add(t.ct, original, 0);
    const FlowMatch there = find(t.ct, original, 1);
    EXPECT_EQ(there.index, index);
    EXPECT_EQ(there.dir, FlowDir::Original);
    const FlowMatch back = find(t.ct, reversed(original), 1);
    EXPECT_EQ(back.index, index);
    EXPECT_EQ(back.dir, FlowDir::Reply);
    EXPECT_TRUE(same(t.ct.entry(index).original(), original));
  }
  EXPECT_TRUE(t.ct.entry(find(t.ct, up, 1).index).original_is_canonical());
  EXPECT_FALSE(t.ct.entry(find(t.ct, down, 1).index).original_is_canonical());
}

TEST(Conntrack, BothDirectionsOfAnIpv6ConnectionFindItsOneEntry) {
  Table t(1024);
  const FlowKey original = v6(kUdp, 0x20, 5353, 0x10, 53);
  const uint32_t index = add(t.ct, original, 0, 0);
  EXPECT_EQ(find(t.ct, original, 1).index, index);
  EXPECT_EQ(find(t.ct, original, 1).dir, FlowDir::Original);
  EXPECT_EQ(find(t.ct, reversed(original), 1).index, index);
  EXPECT_EQ(find(t.ct, reversed(original), 1).dir, FlowDir::Reply);
}

TEST(Conntrack, AKeyDifferingInAnyFieldIsAnotherConnection) {
  Table t(1024);
  const FlowKey k = v4(kTcp, {10, 0, 0, 1}, 40000, {10, 0, 0, 2}, 80);
  add(t.ct, k, 0);
  ASSERT_NE(find(t.ct, k, 0).index, kNoFlow);
  std::vector<FlowKey> others;
  others.push_back(v4(kTcp, {10, 0, 0, 1}, 40001, {10, 0, 0, 2}, 80));  // source port
  others.push_back(v4(kTcp, {10, 0, 0, 1}, 40000, {10, 0, 0, 2}, 81));  // destination port
  others.push_back(v4(kTcp, {10, 0, 0, 1}, 80, {10, 0, 0, 2}, 40000));  // ports swapped only
  others.push_back(v4(kUdp, {10, 0, 0, 1}, 40000, {10, 0, 0, 2}, 80));  // protocol
  others.push_back(v4(kTcp, {10, 0, 0, 3}, 40000, {10, 0, 0, 2}, 80));  // source address
  others.push_back(v4(kTcp, {10, 0, 0, 1}, 40000, {11, 0, 0, 2}, 80));  // destination address
  FlowKey family = k;  // the same 32 bytes of addresses, as IPv6
  family.family = 6;
  others.push_back(family);
  for (const FlowKey& other : others) {
    EXPECT_EQ(find(t.ct, other, 0).index, kNoFlow) << int(other.proto) << " " << other.sport;
    EXPECT_EQ(find(t.ct, reversed(other), 0).index, kNoFlow);
  }
}

TEST(Conntrack, AnIcmpEchoAndItsReplyShareTheIdentifierAsBothPorts) {
  Table t(1024);
  const FlowKey request = v4(kIcmp, {10, 0, 0, 1}, 77, {10, 0, 0, 2}, 77);
  const uint32_t index = add(t.ct, request, 0, 0);
  const FlowKey reply = v4(kIcmp, {10, 0, 0, 2}, 77, {10, 0, 0, 1}, 77);
  EXPECT_EQ(find(t.ct, reply, 1).index, index);
  EXPECT_EQ(find(t.ct, reply, 1).dir, FlowDir::Reply);
  const FlowKey other_id = v4(kIcmp, {10, 0, 0, 2}, 78, {10, 0, 0, 1}, 78);
  EXPECT_EQ(find(t.ct, other_id, 1).index, kNoFlow);
}

TEST(Conntrack, ABurstLookupAnswersEveryKeyInOrder) {
  Table t(4096);
  // More keys than one internal chunk, in both directions, with misses among them.
  constexpr uint32_t kFlows = 40;
  std::vector<FlowKey> flows, keys;
  std::vector<uint32_t> index;
  for (uint32_t i = 0; i < kFlows; ++i) {
    flows.push_back(i % 2 == 0 ? nth_udp(i) : v6(kTcp, uint8_t(i), 1000, 200, 22));
    index.push_back(add(t.ct, flows.back(), 0));
  }
  for (uint32_t i = 0; i < kFlows; ++i) {
    keys.push_back(i % 3 == 0 ? reversed(flows[i]) : flows[i]);
    keys.push_back(nth_udp(1000 + i));  // never inserted
  }
  std::vector<const FlowKey*> ptrs;
  for (const FlowKey& k : keys) {
    ptrs.push_back(&k);
  }
  std::vector<FlowMatch> out(keys.size());
  t.ct.lookup(ptrs.data(), uint32_t(ptrs.size()), out.data(), 1);
  for (uint32_t i = 0; i < kFlows; ++i) {
    EXPECT_EQ(out[2 * i].index, index[i]) << i;
    EXPECT_EQ(out[2 * i].dir, i % 3 == 0 ? FlowDir::Reply : FlowDir::Original) << i;
    EXPECT_EQ(out[2 * i + 1].index, kNoFlow) << i;
  }
}

TEST(Conntrack, CapacityIsFiveFourthsOfTheConnectionsInWholeBuckets) {
  EXPECT_EQ(Table(100).ct.capacity(), 128u);    // 125 slots, in 8 buckets of 16
  EXPECT_EQ(Table(1024).ct.capacity(), 1280u);  // 80 buckets
  EXPECT_EQ(Table(1).ct.capacity(), Conntrack::kSlotsPerBucket);
  EXPECT_EQ(Conntrack::memory_size(100) % Conntrack::kAlignment, 0u);
  EXPECT_GE(Conntrack::memory_size(100), 128 * sizeof(FlowEntry));
  EXPECT_LT(Conntrack::memory_size(100), Conntrack::memory_size(1000));
}

TEST(Conntrack, FullBucketsRefuseTheInsert) {
  // The smallest table is one bucket: both choices of every key.
  Table t(1);
  const uint32_t slots = t.ct.capacity();
  std::vector<uint32_t> taken;
  for (uint32_t i = 0; i < slots; ++i) {
    const auto index = t.ct.insert(nth_udp(i), 1, 0, 0, 0, 0);
    ASSERT_TRUE(index.has_value()) << i;
    taken.push_back(*index);
  }
  std::sort(taken.begin(), taken.end());
  EXPECT_EQ(std::unique(taken.begin(), taken.end()), taken.end());
  EXPECT_EQ(t.ct.insert(nth_udp(slots), 1, 0, 0, 0, 0), std::nullopt);
  for (uint32_t i = 0; i < slots; ++i) {
    EXPECT_NE(find(t.ct, nth_udp(i), 1).index, kNoFlow) << i;
  }
  EXPECT_EQ(t.ct.live(), slots);
}

// Keys as a node sees them: one client's ports towards a few servers, or many clients of one
// server; differing only in a port or an address's last bytes. Each family's hash must spread
// them over the whole table, and the connections the table was sized for must all fit.
TEST(Conntrack, AsManyConnectionsAsAskedForFitWhenKeysDifferInOnePortOrAddress) {
  for (const uint8_t family : {4, 6}) {
    const uint32_t n = 1u << 16;
    Table t(n);
    std::vector<uint32_t> per_home(t.ct.capacity() / Conntrack::kSlotsPerBucket);
    for (uint32_t i = 0; i < n; ++i) {
      FlowKey k;
      if (i % 2 == 0) {  // one client's ports towards 16 servers
        const uint16_t port = uint16_t(1024 + i / 32);
        k = family == 4 ? v4(kTcp, {10, 1, 0, 1}, port, {10, 2, 0, uint8_t(i / 2 % 16)}, 443)
                        : v6(kTcp, 1, port, uint8_t(i / 2 % 16), 443);
      } else {  // many clients of one server
        k = family == 4 ? v4(kTcp, {10, 3, uint8_t(i >> 12), uint8_t(i >> 4)},
                             uint16_t(40000 + (i & 15)), {10, 4, 0, 1}, 80)
                        : v6(kTcp, uint8_t(i >> 4), uint16_t(40000 + (i & 15)), 2, 80);
        if (family == 6) {
          k.src[14] = uint8_t(i >> 12);
        }
      }
      ASSERT_TRUE(t.ct.insert(k, 1, 0, 0, kSyn, 0).has_value())
          << "family " << int(family) << ", key " << i << " of " << n;
      ++per_home[t.ct.probe(k).buckets[0]];
    }
    // First choices, Poisson with a mean of 12.8 over 5,120 buckets: a bucket that many more
    // keys choose first means a hash that ignores part of the key.
    EXPECT_LT(*std::max_element(per_home.begin(), per_home.end()), 40u) << int(family);
    EXPECT_EQ(t.ct.live(), n);
  }
}

TEST(Conntrack, InsertingALiveConnectionAgainReturnsItsEntry) {
  Table t(1);
  const FlowKey k = nth_udp(1);
  const auto first = t.ct.insert(k, 1, 10, 20, 0, 0);
  ASSERT_TRUE(first.has_value());
  // Two packets of a new connection in one burst, or its reply: the same entry, unchanged.
  EXPECT_EQ(t.ct.insert(k, 2, 11, 21, 0, 1), first);
  EXPECT_EQ(t.ct.insert(reversed(k), 2, 11, 21, 0, 1), first);
  EXPECT_EQ(t.ct.entry(*first).generation(), 1u);
  EXPECT_TRUE(same(t.ct.entry(*first).original(), k));
  EXPECT_EQ(t.ct.live(), 1u);
  // Even when the window is full.
  for (uint32_t i = 2; t.ct.insert(nth_udp(i), 1, 0, 0, 0, 0); ++i) {
  }
  EXPECT_EQ(t.ct.insert(k, 1, 0, 0, 0, 2), first);
}

TEST(Conntrack, EntriesAreSpreadOverTheirBucketsSlotsNotStackedInTheFirst) {
  // At low load every entry would otherwise sit in slot 0 of its bucket, 1 KiB apart, and
  // all of them would share a few of the CPU cache's sets.
  Table t(1u << 16);
  std::array<uint32_t, Conntrack::kSlotsPerBucket> per_slot{};
  for (uint32_t i = 0; i < 4096; ++i) {
    const auto index = t.ct.insert(nth_udp(i), 1, 0, 0, 0, 0);
    ASSERT_TRUE(index.has_value());
    ++per_slot[*index % Conntrack::kSlotsPerBucket];
  }
  // 256 a slot on average; slot 0 holding most of them is the failure.
  for (uint32_t slot = 0; slot < Conntrack::kSlotsPerBucket; ++slot) {
    EXPECT_GT(per_slot[slot], 150u) << slot;
    EXPECT_LT(per_slot[slot], 400u) << slot;
  }
}

TEST(Conntrack, InsertProbedFillsTheSlotTheLookupFoundEmptyOrFindsTheConnection) {
  Table t(1);
  const FlowKey k = nth_udp(1);
  // Another connection whose lookup hints at the same Empty slot (keys start their search
  // for one at different places in a bucket).
  const auto hint = [&](const FlowKey& key) {
    const FlowKey* one[] = {&key};
    FlowMatch match;
    FlowProbe probe;
    t.ct.lookup(one, 1, &match, 0, &probe);
    return probe.free_slot;
  };
  FlowKey other = nth_udp(2);
  for (uint32_t i = 3; hint(other) != hint(k); ++i) {
    other = nth_udp(i);
  }
  const FlowKey* keys[] = {&k, &k, &other};
  std::array<FlowMatch, 3> misses;
  std::array<FlowProbe, 3> probes;
  t.ct.lookup(keys, 3, misses.data(), 0, probes.data());
  ASSERT_EQ(misses[0].index, kNoFlow);
  ASSERT_LT(probes[0].free_slot, t.ct.capacity());
  ASSERT_EQ(probes[1].free_slot, probes[0].free_slot);
  // The first packet of a burst takes the hinted slot.
  const uint32_t first = t.ct.insert_probed(k, probes[0], 1, 10, 20, 0, 0);
  EXPECT_EQ(first, probes[0].free_slot);
  // A second packet of the same connection in the burst had the same hint, now taken: it
  // finds the first packet's entry, and nothing is inserted twice.
  EXPECT_EQ(t.ct.insert_probed(k, probes[1], 2, 11, 21, 0, 1), first);
  EXPECT_EQ(t.ct.live(), 1u);
  EXPECT_EQ(t.ct.entry(first).generation(), 1u);
  // Another connection whose hint was the same slot goes to the next empty one.
  ASSERT_EQ(probes[2].free_slot, first);
  const uint32_t second = t.ct.insert_probed(other, probes[2], 1, 0, 0, 0, 0);
  EXPECT_NE(second, first);
  EXPECT_EQ(second, t.ct.insert(other, 1, 0, 0, 0, 0));
  EXPECT_EQ(find(t.ct, k, 1).index, first);
  EXPECT_EQ(find(t.ct, other, 1).index, second);
  EXPECT_EQ(t.ct.live(), 2u);
}

TEST(Conntrack, ASynOnlyConnectionExpiresAfterTcpSyn) {
  Table t(1024);
  const FlowKey k = v4(kTcp, {10, 0, 0, 1}, 40000, {10, 0, 0, 2}, 80);
  const uint32_t index = add(t.ct, k, 0, kSyn);
  EXPECT_EQ(t.ct.entry(index).state(), CtState::SynSent);
  t.ct.seen(index, FlowDir::Original, kSyn, s(3));  // a retransmitted SYN
  EXPECT_EQ(t.ct.entry(index).state(), CtState::SynSent);
  EXPECT_EQ(t.ct.mark_expired(s(3) + s(5) - 1), 0u);
  EXPECT_EQ(t.ct.mark_expired(s(3) + s(5)), 1u);
  EXPECT_EQ(find(t.ct, k, s(3) + s(5)).index, kNoFlow);
}

TEST(Conntrack, AnEstablishedConnectionOutlivesTheSynTimeout) {
  Table t(1024);
  const FlowKey k = v4(kTcp, {10, 0, 0, 1}, 40000, {10, 0, 0, 2}, 80);
  const uint32_t index = add(t.ct, k, 0, kSyn);
  t.ct.seen(index, FlowDir::Reply, kSyn | kAck, s(1));
  EXPECT_EQ(t.ct.entry(index).state(), CtState::Established);
  EXPECT_EQ(t.ct.mark_expired(s(1) + s(5)), 0u);
  EXPECT_EQ(t.ct.mark_expired(s(1) + s(100) - 1), 0u);
  EXPECT_NE(find(t.ct, k, s(1) + s(100) - 1).index, kNoFlow);
  EXPECT_EQ(t.ct.mark_expired(s(1) + s(100)), 1u);
}

TEST(Conntrack, AClosingConnectionExpiresAfterTcpClosing) {
  for (const auto& [dir, flags] :
       {std::pair{FlowDir::Original, kFin | kAck}, std::pair{FlowDir::Reply, int(kRst)}}) {
    Table t(1024);
    const FlowKey k = v4(kTcp, {10, 0, 0, 1}, 40000, {10, 0, 0, 2}, 80);
    const uint32_t index = add(t.ct, k, 0, kSyn);
    t.ct.seen(index, FlowDir::Reply, kSyn | kAck, s(1));
    t.ct.seen(index, dir, uint8_t(flags), s(2));
    EXPECT_EQ(t.ct.entry(index).state(), CtState::Closing);
    t.ct.seen(index, FlowDir::Reply, kAck, s(3));  // the last ACK does not reopen it
    EXPECT_EQ(t.ct.entry(index).state(), CtState::Closing);
    EXPECT_EQ(t.ct.mark_expired(s(3) + s(2) - 1), 0u);
    EXPECT_EQ(t.ct.mark_expired(s(3) + s(2)), 1u);
  }
}

TEST(Conntrack, TheFirstPacketSetsTheInitialState) {
  Table t(1024);
  auto state_after = [&](uint8_t proto, uint8_t flags, uint16_t port) {
    return t.ct.entry(add(t.ct, v4(proto, {10, 0, 0, 1}, port, {10, 0, 0, 2}, 80), 0, flags))
        .state();
  };
  EXPECT_EQ(state_after(kTcp, kSyn, 1), CtState::SynSent);
  EXPECT_EQ(state_after(kTcp, kAck, 2), CtState::Established);  // picked up mid-stream
  EXPECT_EQ(state_after(kTcp, kSyn | kAck, 3), CtState::Established);
  EXPECT_EQ(state_after(kTcp, kRst, 4), CtState::Closing);
  EXPECT_EQ(state_after(kUdp, kSyn, 5), CtState::Open);  // flags mean nothing outside TCP
  // Not a reply: an ACK from the original side leaves a SYN-only connection as it is.
  const uint32_t index = add(t.ct, v4(kTcp, {10, 0, 0, 1}, 6, {10, 0, 0, 2}, 80), 0, kSyn);
  t.ct.seen(index, FlowDir::Original, kAck, 1);
  EXPECT_EQ(t.ct.entry(index).state(), CtState::SynSent);
}

TEST(Conntrack, OtherProtocolsExpireAfterTheirOwnTimeouts) {
  const struct {
    FlowKey key;
    uint64_t timeout;
  } cases[] = {
      {v4(kUdp, {10, 0, 0, 1}, 5000, {10, 0, 0, 2}, 53), s(kTimeouts.udp)},
      {v4(kIcmp, {10, 0, 0, 1}, 7, {10, 0, 0, 2}, 7), s(kTimeouts.icmp)},
      {v6(kIcmpV6, 1, 7, 2, 7), s(kTimeouts.icmp)},
      {v4(kSctp, {10, 0, 0, 1}, 5000, {10, 0, 0, 2}, 36412), s(kTimeouts.other)},
  };
  for (const auto& c : cases) {
    Table t(1024);
    const uint32_t index = add(t.ct, c.key, 0, 0);
    EXPECT_EQ(t.ct.timeout_ticks(t.ct.entry(index)), c.timeout) << int(c.key.proto);
    EXPECT_EQ(t.ct.mark_expired(c.timeout - 1), 0u) << int(c.key.proto);
    EXPECT_EQ(t.ct.mark_expired(c.timeout), 1u) << int(c.key.proto);
  }
}

TEST(Conntrack, PacketsEitherWayKeepAConnectionAlive) {
  Table t(1024);
  const FlowKey k = nth_udp(1);
  const uint32_t index = add(t.ct, k, 0, 0);
  t.ct.seen(index, FlowDir::Reply, 0, s(20));
  EXPECT_EQ(t.ct.mark_expired(s(40)), 0u);
  t.ct.seen(index, FlowDir::Original, 0, s(45));
  EXPECT_EQ(t.ct.mark_expired(s(70)), 0u);
  EXPECT_EQ(t.ct.mark_expired(s(75)), 1u);
}

TEST(Conntrack, AnEntryPastItsTimeoutIsNotMatchedBeforeTheScan) {
  Table t(1024);
  const FlowKey k = nth_udp(1);
  const uint32_t old_index = add(t.ct, k, 0, 0);
  EXPECT_EQ(find(t.ct, k, s(30) - 1).index, old_index);
  EXPECT_EQ(find(t.ct, k, s(30)).index, kNoFlow);  // mark_expired has not run
  // The packet is judged afresh and inserted again: a second entry, the one that matches.
  const uint32_t new_index = add(t.ct, k, s(30), 0);
  EXPECT_NE(new_index, old_index);
  EXPECT_EQ(find(t.ct, k, s(31)).index, new_index);
  // The stale one ages out; the fresh one stays.
  EXPECT_EQ(t.ct.mark_expired(s(31)), 1u);
  EXPECT_EQ(t.ct.live(), 1u);
  EXPECT_EQ(find(t.ct, k, s(31)).index, new_index);
}

TEST(Conntrack, DyingSlotsAreNotMatchedAndAreReusedOnlyAfterRelease) {
  Table t(1);
  const uint32_t slots = t.ct.capacity();
  for (uint32_t i = 0; i < slots; ++i) {
    ASSERT_TRUE(t.ct.insert(nth_udp(i), 1, 0, 0, 0, 0).has_value());
  }
  EXPECT_EQ(t.ct.mark_expired(s(30)), slots);
  EXPECT_EQ(t.ct.live(), 0u);
  for (uint32_t i = 0; i < slots; ++i) {
    // An earlier now: the entries would match on time alone, so Dying is what stops them.
    EXPECT_EQ(find(t.ct, nth_udp(i), 1).index, kNoFlow) << i;
  }
  // A reader may still be comparing their keys: the slots are not free yet.
  EXPECT_EQ(t.ct.insert(nth_udp(slots), 1, 0, 0, 0, s(30)), std::nullopt);
  EXPECT_EQ(t.ct.release_dying(), slots);
  EXPECT_TRUE(t.ct.insert(nth_udp(slots), 1, 0, 0, 0, s(30)).has_value());
  EXPECT_EQ(t.ct.release_dying(), 0u);
}

TEST(Conntrack, RemoveStopsMatchingAtOnceAndFreesAfterTheNextGracePeriod) {
  Table t(1);
  const uint32_t slots = t.ct.capacity();
  std::vector<uint32_t> index;
  for (uint32_t i = 0; i < slots; ++i) {
    index.push_back(add(t.ct, nth_udp(i), 0, 0));
  }
  t.ct.remove(index[3]);
  EXPECT_EQ(find(t.ct, nth_udp(3), 0).index, kNoFlow);
  EXPECT_NE(find(t.ct, nth_udp(4), 0).index, kNoFlow);
  EXPECT_EQ(t.ct.live(), slots - 1);
  EXPECT_EQ(t.ct.insert(nth_udp(slots), 1, 0, 0, 0, 0), std::nullopt);
  // Removed after the last mark_expired: the grace period the caller is waiting for (if any)
  // started too early to cover it.
  EXPECT_EQ(t.ct.release_dying(), 0u);
  EXPECT_EQ(t.ct.mark_expired(1), 1u);  // only the removed one: the others are not idle
  t.ct.remove(index[3]);                // no effect: no longer Live
  EXPECT_EQ(t.ct.release_dying(), 1u);
  EXPECT_EQ(t.ct.insert(nth_udp(slots), 1, 0, 0, 0, 1), index[3]);  // the one free slot
  EXPECT_EQ(t.ct.mark_expired(2), 0u);
}

TEST(Conntrack, SetGenerationRecordsTheNewJudgement) {
  Table t(1024);
  const FlowKey k = nth_udp(1);
  const auto index = t.ct.insert(k, 7, 3, 4, 0, 0);
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ(t.ct.entry(*index).generation(), 7u);
  EXPECT_EQ(t.ct.entry(*index).egress_verdict(), 3u);
  EXPECT_EQ(t.ct.entry(*index).ingress_verdict(), 4u);
  t.ct.set_generation(*index, 8, 5, 6);
  EXPECT_EQ(t.ct.entry(*index).generation(), 8u);
  EXPECT_EQ(t.ct.entry(*index).egress_verdict(), 5u);
  EXPECT_EQ(t.ct.entry(*index).ingress_verdict(), 6u);
  EXPECT_EQ(find(t.ct, k, 1).index, *index);
}

TEST(Conntrack, ForEachLiveVisitsTheLiveEntriesOnly) {
  Table t(1024);
  std::vector<uint32_t> index;
  for (uint32_t i = 0; i < 5; ++i) {
    index.push_back(add(t.ct, nth_udp(i), 0, 0));
  }
  t.ct.remove(index[1]);
  t.ct.remove(index[4]);
  std::vector<uint32_t> visited;
  t.ct.for_each_live([&](uint32_t i, const FlowEntry& e) {
    visited.push_back(i);
    EXPECT_EQ(find(t.ct, e.original(), 0).index, i);
  });
  std::sort(visited.begin(), visited.end());
  std::vector<uint32_t> want = {index[0], index[2], index[3]};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(visited, want);
}

// Workers look up, insert, refresh and remove connections while the control thread expires
// and releases slots with real RCU grace periods. A small table keeps windows overlapping, so
// slots are recycled under readers all the time. No sleeps: the clock advances only once
// every worker has passed a quiescent point, so a worker refreshes its connections at least
// every few clock steps, far inside their timeout, and they must never be missed.
TEST(ConntrackConcurrency, WorkersNeverMissALiveConnectionNorMatchAWrongOne) {
  constexpr uint32_t kWorkers = 3;
  constexpr uint32_t kOwn = 40;     // per worker, refreshed every round, looked up as a burst
  constexpr uint32_t kShared = 24;  // every worker looks them up and inserts them when missing
  constexpr uint32_t kChurn = 6;    // per worker and clock step: new ones, half removed at once
  constexpr uint64_t kTicks = 100;  // per second: every timeout is 100 ticks
  constexpr uint64_t kStep = 10;    // ticks per control round
  constexpr uint32_t kMaxSteps = 3000;
  constexpr ConntrackTimeouts kShort{
      .tcp_syn = 1, .tcp_established = 1, .tcp_closing = 1, .udp = 1, .icmp = 1, .other = 1};
  Table t(1024, kShort, kTicks);
  Conntrack& ct = t.ct;

  const size_t qsbr_size = rte_rcu_qsbr_get_memsize(kWorkers);
  std::unique_ptr<void, decltype(&std::free)> qsbr_memory(
      std::aligned_alloc(64, (qsbr_size + 63) / 64 * 64), &std::free);
  auto* qsbr = static_cast<rte_rcu_qsbr*>(qsbr_memory.get());
  ASSERT_EQ(rte_rcu_qsbr_init(qsbr, kWorkers), 0);

  // Each connection carries a tag in its verdicts, so a match of the wrong entry shows even
  // if its key were read torn.
  auto own_key = [](uint32_t w, uint32_t i) {
    return i % 4 == 0 ? v6(kUdp, uint8_t(w * 64 + i), 4000, 1, 53)
                      : v4(kUdp, {10, uint8_t(w), 0, uint8_t(i)}, 4000, {10, 9, 0, 1}, 53);
  };
  auto shared_key = [](uint32_t i) {
    return v4(kTcp, {10, 8, 0, uint8_t(i)}, 30000, {10, 9, 0, 2}, 443);
  };
  auto churn_key = [](uint32_t w, uint32_t n) {
    return v4(kUdp, {10, uint8_t(100 + w), uint8_t(n >> 8), uint8_t(n)}, uint16_t(n), {10, 9, 0, 3},
              123);
  };
  auto own_tag = [](uint32_t w, uint32_t i) { return (w + 1) << 24 | i; };
  auto shared_tag = [](uint32_t i) { return 0xff000000u | i; };
  auto churn_tag = [](uint32_t w, uint32_t n) { return 0x80000000u | (w + 1) << 24 | n; };

  std::atomic<uint64_t> clock{1};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> missed{0}, wrong{0}, full{0}, churned{0};
  std::atomic<uint32_t> ready{0};

  auto worker = [&](uint32_t w) {
    rte_rcu_qsbr_thread_online(qsbr, w);
    std::vector<FlowKey> own, absent;
    for (uint32_t i = 0; i < kOwn; ++i) {
      own.push_back(own_key(w, i));
    }
    absent.push_back(v4(kUdp, {10, 7, 7, uint8_t(w)}, 1, {10, 7, 7, 7}, 2));  // nobody's
    std::vector<bool> shared_found(kShared, false);
    std::vector<const FlowKey*> burst(kOwn + 1);
    std::vector<FlowMatch> out(kOwn + 1);
    std::vector<FlowKey> flipped(kOwn);
    uint64_t last_churn = 0;
    struct Held {
      uint32_t index;
      FlowKey key;
      uint32_t tag;
    };
    std::vector<Held> held;  // indexes this round holds: they stay valid until its end
    uint32_t serial = 0;
    auto check = [&](uint32_t index, const FlowKey& original, uint32_t tag) {
      const FlowEntry& e = ct.entry(index);
      if (!same(e.original(), original) || e.egress_verdict() != tag ||
          e.ingress_verdict() != ~tag) {
        wrong.fetch_add(1);
      }
    };

    uint64_t now = clock.load();
    for (uint32_t i = 0; i < kOwn; ++i) {
      if (!ct.insert(own[i], 1, own_tag(w, i), ~own_tag(w, i), 0, now)) {
        full.fetch_add(1);
      }
    }
    ready.fetch_add(1);
    for (uint64_t round = 0; !stop.load(std::memory_order_relaxed); ++round) {
      rte_rcu_qsbr_quiescent(qsbr, w);  // the top of a poll loop
      now = clock.load();
      held.clear();

      // Own connections in one burst, half of them from the reply side, and a key nobody
      // inserted.
      for (uint32_t i = 0; i < kOwn; ++i) {
        const bool reply = (i + round) % 2 == 1;
        flipped[i] = reversed(own[i]);
        burst[i] = reply ? &flipped[i] : &own[i];
      }
      burst[kOwn] = &absent[0];
      ct.lookup(burst.data(), kOwn + 1, out.data(), now);
      for (uint32_t i = 0; i < kOwn; ++i) {
        if (out[i].index == kNoFlow) {
          missed.fetch_add(1);
          continue;
        }
        const FlowDir want = burst[i] == &own[i] ? FlowDir::Original : FlowDir::Reply;
        if (out[i].dir != want) {
          wrong.fetch_add(1);
        }
        check(out[i].index, own[i], own_tag(w, i));
        ct.seen(out[i].index, out[i].dir, 0, now);
      }
      if (out[kOwn].index != kNoFlow) {
        wrong.fetch_add(1);
      }

      // Shared connections: whoever misses one inserts it (duplicates may appear at first).
      for (uint32_t i = 0; i < kShared; ++i) {
        const FlowKey key = shared_key(i);
        const bool ask_reply = (i + w) % 2 == 1;
        const FlowKey asked = ask_reply ? reversed(key) : key;
        FlowMatch m = find(ct, asked, now);
        if (m.index == kNoFlow) {
          if (shared_found[i]) {
            missed.fetch_add(1);
          }
          const auto index = ct.insert(key, 1, shared_tag(i), ~shared_tag(i), kSyn, now);
          if (!index) {
            full.fetch_add(1);
            continue;
          }
          m.index = *index;
          m.dir = ask_reply ? FlowDir::Reply : FlowDir::Original;
        } else if (m.dir != (ask_reply ? FlowDir::Reply : FlowDir::Original)) {
          wrong.fetch_add(1);
        }
        shared_found[i] = true;
        check(m.index, key, shared_tag(i));
        ct.seen(m.index, m.dir, m.dir == FlowDir::Reply ? kSyn | kAck : kAck, now);
      }

      // Churn, once per clock step: new connections, found at once from the reply side; half
      // are removed now, half left to expire.
      if (now != last_churn) {
        last_churn = now;
        for (uint32_t k = 0; k < kChurn; ++k, ++serial) {
          const FlowKey key = churn_key(w, serial);
          const uint32_t tag = churn_tag(w, serial);
          const auto index = ct.insert(key, 1, tag, ~tag, 0, now);
          if (!index) {
            full.fetch_add(1);
            continue;
          }
          const FlowMatch m = find(ct, reversed(key), now);
          if (m.index != *index || m.dir != FlowDir::Reply) {
            (m.index == kNoFlow ? missed : wrong).fetch_add(1);
          }
          check(*index, key, tag);
          if (k % 2 == 0) {
            ct.remove(*index);
          }
          held.push_back({*index, key, tag});
          churned.fetch_add(1, std::memory_order_relaxed);
        }
      }
      std::this_thread::yield();  // fairness on a busy machine; not synchronization
      // Still before the next quiescent report: the slots of connections removed or expired
      // since they were matched have not been handed to another connection.
      for (const Held& h : held) {
        check(h.index, h.key, h.tag);
      }
    }
    rte_rcu_qsbr_thread_offline(qsbr, w);
  };

  std::vector<std::thread> threads;
  for (uint32_t w = 0; w < kWorkers; ++w) {
    ASSERT_EQ(rte_rcu_qsbr_thread_register(qsbr, w), 0);
  }
  for (uint32_t w = 0; w < kWorkers; ++w) {
    threads.emplace_back(worker, w);
  }
  // A grace period waits only for online readers: start once every worker is.
  while (ready.load() < kWorkers) {
    std::this_thread::yield();
  }
  // The control thread: expire, wait for a grace period, release; then the clock moves on.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  uint32_t steps = 0;
  size_t marked = 0, released = 0;
  while (steps < kMaxSteps && std::chrono::steady_clock::now() < deadline) {
    const uint64_t now = clock.fetch_add(kStep) + kStep;
    marked += ct.mark_expired(now);
    const uint64_t token = rte_rcu_qsbr_start(qsbr);
    while (rte_rcu_qsbr_check(qsbr, token, false) == 0) {
      std::this_thread::yield();
    }
    released += ct.release_dying();
    ++steps;
  }
  stop = true;
  for (std::thread& th : threads) {
    th.join();
  }

  EXPECT_EQ(missed.load(), 0u);
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(full.load(), 0u);  // a leak of slots would fill the small table's windows
  // Enough rounds for churned connections to expire (10 steps) and their slots to be reused.
  EXPECT_GE(steps, 25u);
  EXPECT_GT(released, 0u);
  EXPECT_EQ(released, marked);
  EXPECT_GT(churned.load(), 0u);
  // What is still live: at least every worker's own and every shared connection; the shared
  // ones saw replies, so the CAS on their state went through.
  EXPECT_GE(ct.live(), kWorkers * kOwn + kShared);
  const uint64_t now = clock.load();
  for (uint32_t i = 0; i < kShared; ++i) {
    const FlowMatch m = find(ct, shared_key(i), now);
    ASSERT_NE(m.index, kNoFlow) << i;
    EXPECT_EQ(ct.entry(m.index).state(), CtState::Established) << i;
  }
}

}  // namespace
}  // namespace palisade::dataplane
