#include "dataplane/endpoint_table.h"

#include <gtest/gtest.h>

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
  t->lookup_v4(addrs, 3, out);
  EXPECT_EQ(out[0].ingress, 2u);
  EXPECT_EQ(out[1].ingress, 0u);
  EXPECT_EQ(out[2].egress, 3u);
  const IpAddr v6 = *IpAddr::parse("fd00::1");
  const uint8_t* v6addrs[1] = {v6.bytes.data()};
  t->lookup_v6(v6addrs, 1, out);
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

}  // namespace
}  // namespace palisade::dataplane
