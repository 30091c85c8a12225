// TableCache and the overlay tables under it: what is reused, what is built, when a full
// build replaces the base, and that each generation's tables answer for its own policy.
#include "dataplane/table_cache.h"

#include <gtest/gtest.h>

#include "dataplane/eal.h"
#include "dataplane/verdict_table.h"

namespace palisade::dataplane {
namespace {

using policy::AclRule;
using policy::Cidr;
using policy::CompiledPolicy;
using policy::IpAddr;
using policy::VerdictEntry;

class TableCacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(start_eal_for_tools("table_cache_test").has_value()); }
};

AclRule rule(uint32_t set, const char* src, uint16_t dport, int32_t priority, uint32_t verdict) {
  AclRule r;
  r.set_id = set;
  r.src = *Cidr::parse(src);
  r.dst = *Cidr::parse("0.0.0.0/0");
  r.dport = {dport, dport};
  r.category = 1;
  r.priority = priority;
  r.verdict = verdict;
  return r;
}

// Two pods: 10.0.0.1 (egress set 1, ingress set 2) and 10.0.0.2 (egress 3, ingress 4).
// Ingress of each allows port `port_a` / `port_b` from 10.0.0.0/8 (policy allow-a, allow-b),
// and ends its tier in deny.
CompiledPolicy two_pods(uint16_t port_a, uint16_t port_b, const char* tier = "default") {
  CompiledPolicy p;
  p.num_categories = 4;
  p.tier_names = {tier};
  p.policy_names = {"ns/allow-a", "ns/allow-b"};
  p.verdicts = {{},
                {VerdictEntry::Kind::Allow, 0, 0, 0},
                {VerdictEntry::Kind::EndOfTierDeny, 0, -1, -1},
                {VerdictEntry::Kind::Allow, 0, 1, 0},
                {VerdictEntry::Kind::EndOfTierDeny, 0, -1, -1}};
  for (uint32_t id = 1; id <= 4; ++id) {
    p.sets.push_back({id, id % 2 == 1 ? policy::Direction::Egress : policy::Direction::Ingress,
                      true, "set " + std::to_string(id)});
  }
  p.rules_v4 = {rule(2, "10.0.0.0/8", port_a, 100, 1), rule(2, "0.0.0.0/0", 0, 1, 2),
                rule(4, "10.0.0.0/8", port_b, 100, 3), rule(4, "0.0.0.0/0", 0, 1, 4)};
  p.rules_v4[1].dport = {0, 65535};
  p.rules_v4[3].dport = {0, 65535};
  p.endpoints = {{*IpAddr::parse("10.0.0.1"), 1, 2, "ns/a"},
                 {*IpAddr::parse("10.0.0.2"), 3, 4, "ns/b"}};
  return p;
}

// Whether a TCP packet from 10.9.9.9 to `pod` on `port` is allowed, as the workers decide:
// the pod's ingress set from the endpoint table, one classify, the tier walk.
bool allows(const CompiledPolicy& p, const AclTables& t, const char* pod, uint16_t port) {
  const policy::EndpointBinding* b = p.binding(*IpAddr::parse(pod));
  EXPECT_NE(b, nullptr);
  AclKeyV4 key;
  fill_key(key, 6, b->ingress_set, *IpAddr::parse("10.9.9.9"), *IpAddr::parse(pod), 40000, port);
  const uint8_t* keys[1] = {reinterpret_cast<const uint8_t*>(&key)};
  std::vector<uint32_t> results(t.num_categories());
  t.classify(4, keys, results.data(), 1);
  return walk(VerdictTable(p).walk(t.num_categories()), b->ingress_set, results.data()).allow;
}

TEST_F(TableCacheTest, FirstBuildIsFullAndAnUnchangedPolicyReusesEverySet) {
  TableCache cache;
  CompiledPolicy first = two_pods(80, 443);
  TableBuild info;
  auto t1 = cache.build(first, &info).value();
  EXPECT_TRUE(info.full);
  EXPECT_EQ(info.why_full, "no base yet");
  EXPECT_EQ(first.overlay_first_set, 0u);
  EXPECT_TRUE(allows(first, *t1, "10.0.0.1", 80));
  EXPECT_FALSE(allows(first, *t1, "10.0.0.1", 443));

  CompiledPolicy again = two_pods(80, 443);
  auto t2 = cache.build(again, &info).value();
  EXPECT_FALSE(info.full);
  EXPECT_EQ(info.rebase.reused_sets, 4u);
  EXPECT_EQ(info.rebase.overlay_sets, 0u);
  EXPECT_EQ(info.rebase.overlay_rules, 0u);
  EXPECT_FALSE(t2->has_overlay());
  EXPECT_EQ(t2->base(), t1->base());  // the same contexts, not a copy
  EXPECT_EQ(again.overlay_first_set, 5u);
  EXPECT_TRUE(allows(again, *t2, "10.0.0.2", 443));
  EXPECT_FALSE(allows(again, *t2, "10.0.0.2", 80));
}

TEST_F(TableCacheTest, OnlyTheChangedSetGoesToTheOverlay) {
  TableCache cache;
  CompiledPolicy base = two_pods(80, 443);
  auto t1 = cache.build(base).value();
  CompiledPolicy changed = two_pods(8080, 443);  // pod a's ingress now allows 8080 only
  TableBuild info;
  auto t2 = cache.build(changed, &info).value();
  ASSERT_FALSE(info.full) << info.describe();
  EXPECT_EQ(info.rebase.overlay_sets, 1u);
  EXPECT_EQ(info.rebase.reused_sets, 3u);
  EXPECT_EQ(info.rebase.overlay_rules, 2u);
  EXPECT_EQ(t2->stats(4).rules, 2u);  // only the overlay was built
  EXPECT_TRUE(t2->has_overlay());
  // Pod a's ingress has a new set past the base's, pod b keeps its base set.
  EXPECT_EQ(changed.binding(*IpAddr::parse("10.0.0.1"))->ingress_set, 5u);
  EXPECT_EQ(changed.binding(*IpAddr::parse("10.0.0.2"))->ingress_set, 4u);
  EXPECT_TRUE(allows(changed, *t2, "10.0.0.1", 8080));
  EXPECT_FALSE(allows(changed, *t2, "10.0.0.1", 80));
  EXPECT_TRUE(allows(changed, *t2, "10.0.0.2", 443));
  // The verdict of the overlay's rule still names its policy.
  EXPECT_EQ(changed.by_name(changed.rules_v4[changed.rules_v4.size() - 2].verdict),
            "default/ns/allow-a");
  // The previous generation's tables are untouched.
  EXPECT_TRUE(allows(base, *t1, "10.0.0.1", 80));
}

TEST_F(TableCacheTest, ABurstSplitAcrossBaseAndOverlayKeepsEachKeysResults) {
  TableCache cache;
  CompiledPolicy base = two_pods(80, 443);
  cache.build(base).value();
  CompiledPolicy changed = two_pods(8080, 443);
  auto t = cache.build(changed).value();
  ASSERT_TRUE(t->has_overlay());
  // 100 keys (more than one chunk of the split), alternating between the two pods.
  std::vector<AclKeyV4> keys(100);
  std::vector<const uint8_t*> ptrs;
  for (size_t i = 0; i < keys.size(); ++i) {
    const bool a = i % 3 == 0;
    const auto* b = changed.binding(*IpAddr::parse(a ? "10.0.0.1" : "10.0.0.2"));
    fill_key(keys[i], 6, b->ingress_set, *IpAddr::parse("10.9.9.9"), b->ip, 40000,
             a ? 8080 : (i % 2 ? 443 : 80));
    ptrs.push_back(reinterpret_cast<const uint8_t*>(&keys[i]));
  }
  std::vector<uint32_t> results(keys.size() * t->num_categories());
  t->classify(4, ptrs.data(), results.data(), static_cast<uint32_t>(keys.size()));
  const VerdictTable verdicts(changed);
  for (size_t i = 0; i < keys.size(); ++i) {
    const bool a = i % 3 == 0;
    const bool want = a || i % 2 == 1;
    const uint32_t set = a ? 5 : 4;
    EXPECT_EQ(
        walk(verdicts.walk(t->num_categories()), set, &results[i * t->num_categories()]).allow,
        want)
        << "key " << i;
  }
}

TEST_F(TableCacheTest, OtherTiersOrABigOverlayMakeAFullBuild) {
  TableCache cache;
  CompiledPolicy base = two_pods(80, 443);
  cache.build(base).value();
  CompiledPolicy tiered = two_pods(80, 443, "security");
  TableBuild info;
  auto t = cache.build(tiered, &info).value();
  EXPECT_TRUE(info.full);
  EXPECT_EQ(info.why_full, "the tiers changed");
  EXPECT_EQ(tiered.overlay_first_set, 0u);
  EXPECT_TRUE(allows(tiered, *t, "10.0.0.1", 80));

  TableCache strict(TableCacheOptions{.min_overlay_rules = 1, .max_overlay_share = 0});
  CompiledPolicy p = two_pods(80, 443);
  strict.build(p).value();
  CompiledPolicy one_set = two_pods(81, 443);  // 2 rules differ: over a bound of 1
  strict.build(one_set, &info).value();
  EXPECT_TRUE(info.full);
  EXPECT_EQ(info.why_full, "2 rules differ from the base, over 1");
  // That full build is the new base: the same policy again reuses everything.
  CompiledPolicy same = two_pods(81, 443);
  strict.build(same, &info).value();
  EXPECT_FALSE(info.full);
  EXPECT_EQ(info.rebase.overlay_sets, 0u);
}

TEST_F(TableCacheTest, TablesOfOldGenerationsOutliveANewBase) {
  TableCache cache;
  CompiledPolicy p1 = two_pods(80, 443);
  auto t1 = cache.build(p1).value();
  CompiledPolicy p2 = two_pods(8080, 443);
  auto t2 = cache.build(p2).value();
  cache.reset();
  CompiledPolicy p3 = two_pods(9090, 443);
  TableBuild info;
  auto t3 = cache.build(p3, &info).value();
  EXPECT_TRUE(info.full);
  t1.reset();  // the first base's contexts are still held by t2
  EXPECT_TRUE(allows(p2, *t2, "10.0.0.1", 8080));
  EXPECT_TRUE(allows(p2, *t2, "10.0.0.2", 443));
  EXPECT_TRUE(allows(p3, *t3, "10.0.0.1", 9090));
}

TEST_F(TableCacheTest, ARebasedPolicyIsNotBuiltInFullNorOverOtherTables) {
  TableCache cache;
  CompiledPolicy base = two_pods(80, 443);
  auto t1 = cache.build(base).value();
  CompiledPolicy changed = two_pods(8080, 443);
  cache.build(changed).value();
  EXPECT_FALSE(AclTables::build(changed).has_value());
  CompiledPolicy other = two_pods(80, 443);
  auto t_other = AclTables::build(other).value();
  CompiledPolicy three_sets = two_pods(80, 443);
  three_sets.sets.pop_back();
  three_sets.rules_v4.resize(2);
  auto t_small = AclTables::build(three_sets).value();
  // `changed` was rebased onto a base of 4 sets: tables of 3 sets are not its base.
  EXPECT_FALSE(AclTables::build_over(t_small->base(), changed).has_value());
  EXPECT_TRUE(AclTables::build_over(t_other->base(), changed).has_value());
}

}  // namespace
}  // namespace palisade::dataplane
