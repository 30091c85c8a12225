#include "dataplane/acl_tables.h"

#include <gtest/gtest.h>

#include "dataplane/eal.h"

namespace palisade::dataplane {
namespace {

using policy::AclRule;
using policy::Cidr;
using policy::CompiledPolicy;
using policy::IpAddr;

class AclTablesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(start_eal_for_tools("acl_tables_test").has_value()); }
};

AclRule rule(uint32_t set, const char* src, const char* dst, uint16_t dport_first,
             uint16_t dport_last, uint8_t category, int32_t priority, uint32_t verdict) {
  AclRule r;
  r.set_id = set;
  r.src = *Cidr::parse(src);
  r.dst = *Cidr::parse(dst);
  r.dport = {dport_first, dport_last};
  r.category = category;
  r.priority = priority;
  r.verdict = verdict;
  return r;
}

std::vector<uint32_t> classify(const AclTables& t, uint8_t proto, uint32_t set, const char* src,
                               const char* dst, uint16_t dport) {
  std::vector<uint32_t> results(t.num_categories());
  const IpAddr s = *IpAddr::parse(src), d = *IpAddr::parse(dst);
  if (s.family == 4) {
    AclKeyV4 key;
    fill_key(key, proto, set, s, d, 40000, dport);
    const uint8_t* keys[1] = {reinterpret_cast<const uint8_t*>(&key)};
    t.classify(4, keys, results.data(), 1);
  } else {
    AclKeyV6 key;
    fill_key(key, proto, set, s, d, 40000, dport);
    const uint8_t* keys[1] = {reinterpret_cast<const uint8_t*>(&key)};
    t.classify(6, keys, results.data(), 1);
  }
  return results;
}

CompiledPolicy sample() {
  CompiledPolicy p;
  p.num_categories = 4;
  p.verdicts.resize(10);
  p.rules_v4 = {
      rule(1, "10.0.0.0/8", "0.0.0.0/0", 80, 80, 1, 100, 1),
      rule(1, "10.1.0.0/16", "0.0.0.0/0", 0, 65535, 1, 200, 2),  // higher priority wins
      rule(1, "0.0.0.0/0", "0.0.0.0/0", 0, 65535, 1, 1, 3),      // end of tier
      rule(2, "0.0.0.0/0", "192.0.2.0/24", 443, 443, 2, 5, 4),   // another set, category
  };
  p.rules_v6 = {
      rule(1, "fd00::/64", "::/0", 0, 65535, 1, 10, 5),
      rule(1, "fd00:0:0:0:8000::/65", "::/0", 0, 65535, 1, 20, 6),  // splits the second word
      rule(1, "fd00:0:0:0:1::/80", "::/0", 0, 65535, 1, 30, 7),
  };
  return p;
}

TEST_F(AclTablesTest, HighestPriorityMatchPerCategory) {
  auto t = AclTables::build(sample()).value();
  EXPECT_EQ(classify(*t, 6, 1, "10.1.2.3", "10.9.9.9", 80), (std::vector<uint32_t>{0, 2, 0, 0}));
  EXPECT_EQ(classify(*t, 6, 1, "10.2.2.3", "10.9.9.9", 80), (std::vector<uint32_t>{0, 1, 0, 0}));
  EXPECT_EQ(classify(*t, 6, 1, "10.2.2.3", "10.9.9.9", 81), (std::vector<uint32_t>{0, 3, 0, 0}));
}

TEST_F(AclTablesTest, PolicySetIdIsAnExactField) {
  auto t = AclTables::build(sample()).value();
  EXPECT_EQ(classify(*t, 6, 2, "10.1.2.3", "192.0.2.9", 443), (std::vector<uint32_t>{0, 0, 4, 0}));
  EXPECT_EQ(classify(*t, 6, 3, "10.1.2.3", "192.0.2.9", 443), (std::vector<uint32_t>{0, 0, 0, 0}));
}

TEST_F(AclTablesTest, Ipv6PrefixesSpanTheFourWords) {
  auto t = AclTables::build(sample()).value();
  EXPECT_EQ(classify(*t, 17, 1, "fd00::1", "2001:db8::1", 53)[1], 5u);
  EXPECT_EQ(classify(*t, 17, 1, "fd00::8000:0:0:1", "2001:db8::1", 53)[1], 6u);
  EXPECT_EQ(classify(*t, 17, 1, "fd00::1:0:0:1", "2001:db8::1", 53)[1], 7u);
  EXPECT_EQ(classify(*t, 17, 1, "fd00:0:0:1::1", "2001:db8::1", 53)[1], 0u);
}

TEST_F(AclTablesTest, EveryClassifyMethodGivesTheSameAnswers) {
  auto t = AclTables::build(sample()).value();
  int methods = 0;
  for (enum rte_acl_classify_alg alg :
       {RTE_ACL_CLASSIFY_SCALAR, RTE_ACL_CLASSIFY_SSE, RTE_ACL_CLASSIFY_AVX2,
        RTE_ACL_CLASSIFY_AVX512X16, RTE_ACL_CLASSIFY_AVX512X32}) {
    if (!t->set_algorithm(alg)) {
      continue;
    }
    ++methods;
    EXPECT_EQ(classify(*t, 6, 1, "10.1.2.3", "10.9.9.9", 80)[1], 2u) << alg;
    EXPECT_EQ(classify(*t, 6, 1, "10.2.2.3", "10.9.9.9", 81)[1], 3u) << alg;
    EXPECT_EQ(classify(*t, 17, 1, "fd00::1:0:0:1", "::1", 1)[1], 7u) << alg;
  }
  EXPECT_GE(methods, 1);
}

TEST_F(AclTablesTest, AFamilyWithoutRulesAnswersNoMatch) {
  CompiledPolicy p = sample();
  p.rules_v6.clear();
  auto t = AclTables::build(p).value();
  EXPECT_EQ(t->stats(6).rules, 0u);
  EXPECT_EQ(classify(*t, 6, 1, "fd00::1", "::1", 1), (std::vector<uint32_t>{0, 0, 0, 0}));
}

TEST_F(AclTablesTest, MemoryBoundIsALimitErrorNotACrash) {
  CompiledPolicy p = sample();
  for (uint32_t i = 0; i < 2000; ++i) {
    p.rules_v4.push_back(
        rule(1, ("10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".0/24").c_str(),
             "0.0.0.0/0", static_cast<uint16_t>(i), static_cast<uint16_t>(i), 1,
             300 + static_cast<int32_t>(i), 8));
  }
  auto t = AclTables::build(p, 4096);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, policy::ErrorCode::LimitExceeded);
  EXPECT_NE(t.error().message.find("max_size"), std::string::npos);
  auto unbounded = AclTables::build(p);
  ASSERT_TRUE(unbounded.has_value());
  EXPECT_GT(unbounded.value()->stats(4).memory_bytes, 0u);
}

}  // namespace
}  // namespace palisade::dataplane
