#include "dataplane/endpoint_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "dataplane/eal.h"

namespace palisade::dataplane {
namespace {

using policy::CompiledPolicy;
using policy::IpAddr;

class EndpointTableTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(start_eal_for_tools("endpoint_table_test").has_value());
  }
};

CompiledPolicy sample() {
  CompiledPolicy p;
  p.endpoints = {
      {*IpAddr::parse("10.1.0.1"), 1, 2, "prod/a"},
      {*IpAddr::parse("10.1.0.2"), 3, 4, "prod/b"},
      {*IpAddr::parse("fd00::1"), 1, 2, "prod/a"},
  };
  return p;
}

TEST_F(EndpointTableTest, AddressesMapToTheirEndpointsSets) {
  auto t = EndpointTable::build(sample()).value();
  EXPECT_EQ(t->lookup(*IpAddr::parse("10.1.0.2")).egress, 3u);
  EXPECT_EQ(t->lookup(*IpAddr::parse("10.1.0.2")).ingress, 4u);
  EXPECT_EQ(t->lookup(*IpAddr::parse("fd00::1")).ingress, 2u);
}

TEST_F(EndpointTableTest, AnAddressOfNoEndpointHasNoSet) {
  auto t = EndpointTable::build(sample()).value();
  EXPECT_EQ(t->lookup(*IpAddr::parse("10.1.0.3")).ingress, 0u);
  // The same four bytes as 10.1.0.1, but IPv6: the families never mix.
  EXPECT_EQ(t->lookup(*IpAddr::parse("a01:1::")).egress, 0u);
}

TEST_F(EndpointTableTest, BulkLookupsAnswerEachAddress) {
  auto t = EndpointTable::build(sample()).value();
  const IpAddr a = *IpAddr::parse("10.1.0.1"), b = *IpAddr::parse("10.1.0.2"),
               c = *IpAddr::parse("192.0.2.1");
  rte_be32_t raw[3];
  std::memcpy(&raw[0], a.bytes.data(), 4);
  std::memcpy(&raw[1], c.bytes.data(), 4);
  std::memcpy(&raw[2], b.bytes.data(), 4);
  const rte_be32_t* addrs[3] = {&raw[0], &raw[1], &raw[2]};
  EndpointSets out[3];
  lookup_v4(t->index(), addrs, 3, out);
  EXPECT_EQ(out[0].ingress, 2u);
  EXPECT_EQ(out[1].ingress, 0u);
  EXPECT_EQ(out[2].egress, 3u);
  const IpAddr v6 = *IpAddr::parse("fd00::1");
  const uint8_t* v6addrs[1] = {v6.bytes.data()};
  lookup_v6(t->index(), v6addrs, 1, out);
  EXPECT_EQ(out[0].egress, 1u);
}

TEST_F(EndpointTableTest, ManyEndpointsAllFindTheirSets) {
  CompiledPolicy p;
  for (uint32_t i = 0; i < 20000; ++i) {
    IpAddr ip;
    ip.family = 4;
    ip.bytes = {10, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)};
    p.endpoints.push_back({ip, i + 1, i + 2, "x"});
  }
  auto t = EndpointTable::build(p).value();
  for (const auto& b : p.endpoints) {
    ASSERT_EQ(t->lookup(b.ip).egress, b.egress_set) << b.ip.to_string();
  }
}

// Endpoint tables reuse the rte_lpm of destroyed ones (dataplane/lpm_pool.h): whatever the
// table before held, the next answers for its own policy alone.
CompiledPolicy pods(uint32_t first, uint32_t count, uint32_t set_base) {
  CompiledPolicy p;
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t n = first + i;
    IpAddr ip = *IpAddr::parse("10.0.0.0");
    ip.bytes[1] = static_cast<uint8_t>(n >> 16);
    ip.bytes[2] = static_cast<uint8_t>(n >> 8);
    ip.bytes[3] = static_cast<uint8_t>(n);
    p.endpoints.push_back({ip, set_base + n, set_base + n + 1, "ns/p" + std::to_string(n)});
  }
  return p;
}

void expect_exactly(const EndpointTable& t, const CompiledPolicy& p, uint32_t probe_first,
                    uint32_t probe_count) {
  for (uint32_t n = probe_first; n < probe_first + probe_count; ++n) {
    IpAddr ip = *IpAddr::parse("10.0.0.0");
    ip.bytes[1] = static_cast<uint8_t>(n >> 16);
    ip.bytes[2] = static_cast<uint8_t>(n >> 8);
    ip.bytes[3] = static_cast<uint8_t>(n);
    const policy::EndpointBinding* b = p.binding(ip);
    const EndpointSets got = t.lookup(ip);
    ASSERT_EQ(got.egress, b != nullptr ? b->egress_set : 0u) << ip.to_string();
    ASSERT_EQ(got.ingress, b != nullptr ? b->ingress_set : 0u) << ip.to_string();
  }
}

TEST_F(EndpointTableTest, AReusedRouteTableForgetsWhatItHeldBefore) {
  // One pod more, a few gone, the sets of all changed: the diff path.
  const CompiledPolicy first = pods(100, 300, 1000);
  CompiledPolicy second = pods(105, 300, 5000);
  std::sort(second.endpoints.begin(), second.endpoints.end(),
            [](const auto& a, const auto& b) { return a.ip < b.ip; });
  {
    auto t1 = EndpointTable::build(first).value();
    expect_exactly(*t1, first, 90, 320);
  }  // its rte_lpm goes back to the pool
  auto t2 = EndpointTable::build(second).value();
  expect_exactly(*t2, second, 90, 330);
  // Nearly everything gone (past the diff's bound: the table starts over), and many more
  // addresses than the first table was made for (a bigger one replaces it).
  t2.reset();
  const CompiledPolicy third = pods(70000, 2500, 9000);
  auto t3 = EndpointTable::build(third).value();
  expect_exactly(*t3, third, 69990, 2520);
  expect_exactly(*t3, third, 90, 330);
  t3.reset();
  const CompiledPolicy fourth = pods(70010, 40, 100);
  auto t4 = EndpointTable::build(fourth).value();
  expect_exactly(*t4, fourth, 69990, 2520);
}

TEST_F(EndpointTableTest, TablesAliveAtOnceDoNotShareRoutes) {
  const CompiledPolicy a = pods(1, 50, 10), b = pods(40, 50, 500);
  auto ta = EndpointTable::build(a).value();
  auto tb = EndpointTable::build(b).value();
  expect_exactly(*ta, a, 0, 100);
  expect_exactly(*tb, b, 0, 100);
}

}  // namespace
}  // namespace palisade::dataplane
