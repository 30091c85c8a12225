#include "policy/compiler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "tests/policy/builders.h"

namespace palisade::policy {
namespace {

using testing::ns;
using testing::pod;
using testing::snapshot;

std::string knp(const std::string& ns, const std::string& name, const std::string& spec) {
  return "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: " + name +
         ", namespace: " + ns + "}, spec: " + spec + "}";
}
std::string gnp(const std::string& name, const std::string& spec) {
  return "{apiVersion: projectcalico.org/v3, kind: GlobalNetworkPolicy, metadata: {name: " + name +
         "}, spec: " + spec + "}";
}
std::string tier(const std::string& name, int order) {
  return "{apiVersion: projectcalico.org/v3, kind: Tier, metadata: {name: " + name +
         "}, spec: {order: " + std::to_string(order) + "}}";
}

std::string digest(const CompiledPolicy& p) {
  std::ostringstream out;
  for (uint8_t f : {uint8_t{4}, uint8_t{6}}) {
    for (const AclRule& r : p.rules(f)) {
      out << r.set_id << ' ' << int(r.proto_first) << '-' << int(r.proto_last) << ' '
          << r.src.to_string() << ' ' << r.dst.to_string() << ' ' << r.sport.first << '-'
          << r.sport.last << ' ' << r.dport.first << '-' << r.dport.last << ' ' << int(r.category)
          << ' ' << r.priority << ' ' << r.verdict << '\n';
    }
  }
  for (const EndpointBinding& b : p.endpoints) {
    out << b.ip.to_string() << ' ' << b.egress_set << ' ' << b.ingress_set << '\n';
  }
  return out.str();
}

TEST(Compile, IdenticalPodsShareOnePolicySetPerDirection) {
  std::vector<std::string> docs = {ns("prod"), knp("prod", "db",
                                                   "{podSelector: {}, ingress: [{from: "
                                                   "[{ipBlock: {cidr: 192.0.2.0/24}}]}]}")};
  for (int i = 0; i < 200; ++i) {
    docs.push_back(pod("prod", "p" + std::to_string(i),
                       "10.1." + std::to_string(i / 100) + "." + std::to_string(i % 100 + 1)));
  }
  auto snap = snapshot(docs);
  CompiledPolicy p = compile(*snap).value();
  EXPECT_EQ(p.sets.size(), 2u);  // one egress, one ingress
  EXPECT_EQ(p.endpoints.size(), 200u);
  // The ingress set: node exception (no node addresses known: none), one allow, end of tier.
  EXPECT_EQ(p.rules_v4.size(), 2u);
}

TEST(Compile, RuleCountDoesNotGrowWithPodsOfOneSet) {
  auto rules_for = [](int pods) {
    std::vector<std::string> docs = {ns("prod"), knp("prod", "deny", "{podSelector: {}}")};
    for (int i = 0; i < pods; ++i) {
      docs.push_back(pod("prod", "p" + std::to_string(i), "10.1.0." + std::to_string(i + 1)));
    }
    return compile(*snapshot(docs)).value().rules_v4.size();
  };
  EXPECT_EQ(rules_for(10), rules_for(100));
}

TEST(Compile, TiersMapOntoCategoriesRoundedToTheResultsMultiplier) {
  auto snap = snapshot({ns("prod"), pod("prod", "a", "10.1.0.1"), tier("security", 10),
                        gnp("security.x",
                            "{tier: security, selector: all(), ingress: "
                            "[{action: Pass}]}"),
                        knp("prod", "k", "{podSelector: {}}")});
  CompiledPolicy p = compile(*snap).value();
  EXPECT_EQ(p.tier_names, (std::vector<std::string>{"security", "default"}));
  EXPECT_EQ(p.num_categories, 4u);  // exceptions + 2 tiers = 3, rounded up to 4
}

TEST(Compile, MoreThanFifteenTiersWithPoliciesIsALimitError) {
  std::vector<std::string> docs = {ns("prod"), pod("prod", "a", "10.1.0.1")};
  for (int t = 0; t < 16; ++t) {
    const std::string name = "t" + std::to_string(t / 10) + std::to_string(t % 10);
    docs.push_back(tier(name, t + 1));
    docs.push_back(
        gnp(name + ".p", "{tier: " + name + ", selector: all(), ingress: [{action: Pass}]}"));
  }
  Result<CompiledPolicy> p = compile(*snapshot(docs));
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code, ErrorCode::LimitExceeded);
  EXPECT_EQ(p.error().object, "Tier t15");
  EXPECT_NE(p.error().message.find("15"), std::string::npos);
}

TEST(Compile, TooManyRulesIsALimitErrorNotATruncation) {
  std::vector<std::string> docs = {ns("prod"), pod("prod", "a", "10.1.0.1"),
                                   knp("prod", "k",
                                       "{podSelector: {}, ingress: [{ports: "
                                       "[{port: 1}, {port: 3}, {port: 5}, {port: 7}]}]}")};
  CompileOptions options;
  options.max_rules = 3;
  Result<CompiledPolicy> p = compile(*snapshot(docs), options);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code, ErrorCode::LimitExceeded);
  EXPECT_NE(p.error().message.find("limit of 3"), std::string::npos);
}

TEST(Compile, ARuleThatExplodesIsALimitErrorNamingIt) {
  // notSelector on both sides: the product of two complements, 128 prefixes a side in IPv6.
  auto snap = snapshot({ns("prod"), pod("prod", "a", "10.1.0.1"),
                        "{apiVersion: v1, kind: Pod, metadata: {name: b, namespace: prod}, spec: "
                        "{nodeName: node-a}, status: {podIPs: [{ip: 10.1.0.2}, {ip: 'fd00::2'}]}}",
                        gnp("wide",
                            "{selector: all(), egress: [{action: Deny, source: "
                            "{notSelector: all()}, destination: {notSelector: all()}}]}")});
  CompileOptions options;
  options.max_rules_per_policy_rule = 1000;
  Result<CompiledPolicy> p = compile(*snap, options);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code, ErrorCode::LimitExceeded);
  EXPECT_EQ(p.error().object, "wide");
  EXPECT_EQ(p.error().field, "spec.egress[0]");
  EXPECT_NE(p.error().message.find("limit 1000"), std::string::npos);
}

TEST(Compile, AnAddressBelongsToItsFirstEndpointOnWhicheverNode) {
  // Two pods report one address: the first (by namespace/name) owns it, as the reference
  // evaluator decides, even when only the other one's node is compiled.
  auto snap = snapshot({ns("app"), pod("app", "a-old", "10.1.0.5", "{}", "", "node-b"),
                        pod("app", "b-new", "10.1.0.5", "{}", "", "node-a")});
  CompileOptions options;
  options.node = "node-a";
  EXPECT_TRUE(compile(*snap, options).value().endpoints.empty());
}

TEST(Compile, LogRulesAddNoAclRule) {
  auto with_log =
      snapshot({ns("prod"), pod("prod", "a", "10.1.0.1"),
                gnp("p", "{selector: all(), ingress: [{action: Log}, {action: Allow}]}")});
  auto without = snapshot({ns("prod"), pod("prod", "a", "10.1.0.1"),
                           gnp("p", "{selector: all(), ingress: [{action: Allow}]}")});
  EXPECT_EQ(compile(*with_log).value().rules_v4.size(), compile(*without).value().rules_v4.size());
}

TEST(Compile, NotPortsBecomeTheComplementRanges) {
  auto snap = snapshot({ns("prod"), pod("prod", "a", "10.1.0.1"),
                        gnp("p",
                            "{selector: all(), ingress: [{action: Allow, protocol: TCP, "
                            "destination: {notPorts: [80, '8000:8080']}}]}")});
  CompiledPolicy p = compile(*snap).value();
  std::vector<std::pair<int, int>> ranges;
  for (const AclRule& r : p.rules_v4) {
    if (r.verdict != 0 && p.verdicts[r.verdict].kind == VerdictEntry::Kind::Allow) {
      ranges.emplace_back(r.dport.first, r.dport.last);
    }
  }
  EXPECT_EQ(ranges, (std::vector<std::pair<int, int>>{{0, 79}, {81, 7999}, {8081, 65535}}));
}

TEST(Compile, NodeOptionBindsOnlyThatNodesEndpoints) {
  auto snap = snapshot({ns("prod"), pod("prod", "a", "10.1.0.1", "{}", "", "node-a"),
                        pod("prod", "b", "10.1.0.2", "{}", "", "node-b")});
  CompileOptions options;
  options.node = "node-b";
  CompiledPolicy p = compile(*snap, options).value();
  ASSERT_EQ(p.endpoints.size(), 1u);
  EXPECT_EQ(p.endpoints[0].name, "prod/b");
}

TEST(Compile, OutputDoesNotDependOnArrivalOrder) {
  std::vector<std::string> docs = {
      ns("prod", "{env: prod}"),
      pod("prod", "a", "10.1.0.1", "{app: a}"),
      pod("prod", "b", "10.1.0.2", "{app: b}"),
      tier("sec", 5),
      gnp("sec.p",
          "{tier: sec, selector: all(), ingress: [{action: Deny, source: {nets: "
          "[192.0.2.0/24]}}, {action: Pass}]}"),
      knp("prod", "k",
          "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{podSelector: "
          "{matchLabels: {app: a}}}]}]}"),
  };
  const std::string want = digest(compile(*snapshot(docs)).value());
  EXPECT_FALSE(want.empty());
  std::sort(docs.begin(), docs.end());
  do {
    ASSERT_EQ(digest(compile(*snapshot(docs)).value()), want);
  } while (std::next_permutation(docs.begin(), docs.end()));
}

}  // namespace
}  // namespace palisade::policy
