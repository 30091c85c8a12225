#include "control/source/scenario.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/verify/verify.h"

namespace palisade::control {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("palisade_scenario_test_" + name);
  std::ofstream(path) << text;
  return path.string();
}

const std::string kObjects = R"yaml(
objects:
  - {apiVersion: v1, kind: Namespace, metadata: {name: prod}}
  - apiVersion: v1
    kind: Pod
    metadata: {name: web, namespace: prod, labels: {app: web}}
    spec: {nodeName: node-a}
    status: {podIP: 10.1.0.1, podIPs: [{ip: 10.1.0.1}, {ip: "fd00::1"}]}
  - apiVersion: v1
    kind: Pod
    metadata: {name: db, namespace: prod, labels: {app: db}}
    spec: {nodeName: node-a}
    status: {podIP: 10.1.0.2}
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: db, namespace: prod}
    spec:
      podSelector: {matchLabels: {app: db}}
      ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]
)yaml";

VerifyTotals run(const std::string& name, const std::string& text, std::string* output = nullptr) {
  auto engine = make_reference_engine();
  VerifyTotals totals;
  std::ostringstream out;
  verify_file(write_temp(name, text), *engine, VerifyOptions{}, out, totals);
  if (output != nullptr) {
    *output = out.str();
  }
  return totals;
}

TEST(Verify, PassingFlowsPassAndWrongExpectationsFail) {
  std::string text = kObjects + R"yaml(
flows:
  - {src: prod/web, dst: prod/db, proto: TCP, dport: 5432, expect: allow, reply: allow,
     by: default/prod/knp.default.db}
  - {src: prod/web, dst: prod/db, proto: TCP, dport: 5433, expect: deny, by: "default/(end of tier)"}
  - {src: prod/db, dst: prod/web, proto: UDP, dport: 53, expect: allow, by: profile}
  - {src: 203.0.113.1, dst: prod/db, proto: TCP, dport: 5432, expect: allow}
  - {src: prod/web, dst: prod/db, proto: TCP, dport: 5432, expect: allow, by: profile}
)yaml";
  std::string out;
  VerifyTotals t = run("pass_fail.yaml", text, &out);
  EXPECT_EQ(t.passed, 3) << out;
  EXPECT_EQ(t.failed, 2) << out;
  EXPECT_NE(out.find("expected allow, got deny"), std::string::npos) << out;
  EXPECT_NE(out.find("expected by profile, got by default/prod/knp.default.db"), std::string::npos)
      << out;
}

TEST(Verify, InvalidObjectFailsTheFileButTheRestStillCounts) {
  std::string text = kObjects + R"yaml(
  - apiVersion: projectcalico.org/v3
    kind: GlobalNetworkPolicy
    metadata: {name: broken}
    spec: {selector: all(), ingress: [{action: Deny, source: {nets: [10.0.0.0/33]}}]}
flows:
  - {src: prod/web, dst: prod/db, proto: TCP, dport: 5432, expect: allow}
)yaml";
  std::string out;
  VerifyTotals t = run("invalid.yaml", text, &out);
  EXPECT_EQ(t.passed, 1) << out;
  EXPECT_EQ(t.failed, 1) << out;
  EXPECT_NE(out.find("GlobalNetworkPolicy broken: spec.ingress[0].source.nets[0]: 10.0.0.0/33 "
                     "is not a CIDR"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("invalid.yaml:"), std::string::npos) << out;
}

TEST(Verify, ExpectedRejectionsPassOnlyWhenTheyHappenAtThatField) {
  std::string bad_policy = R"yaml(
  - apiVersion: projectcalico.org/v3
    kind: GlobalNetworkPolicy
    metadata: {name: broken}
    spec: {selector: all(), ingress: [{action: Deny, source: {nets: [10.0.0.0/33]}}]}
)yaml";
  std::string flows = R"yaml(
flows:
  - {src: prod/web, dst: prod/db, proto: TCP, dport: 5432, expect: allow}
)yaml";
  VerifyTotals ok =
      run("rejected_ok.yaml", kObjects + bad_policy + flows +
                                  "expect_rejected: [{object: GlobalNetworkPolicy/broken, field: "
                                  "\"spec.ingress[0].source.nets\"}]\n");
  EXPECT_EQ(ok.failed, 0);
  EXPECT_EQ(ok.passed, 2);
  VerifyTotals wrong_field =
      run("rejected_field.yaml", kObjects + bad_policy + flows +
                                     "expect_rejected: [{object: GlobalNetworkPolicy/broken, "
                                     "field: spec.egress}]\n");
  EXPECT_EQ(wrong_field.failed, 2);  // the unexpected error, and the expectation not met
  VerifyTotals never = run("rejected_never.yaml",
                           kObjects + flows +
                               "expect_rejected: [{object: GlobalNetworkPolicy/broken, field: "
                               "spec}]\n");
  EXPECT_EQ(never.failed, 1);
}

TEST(Scenario, UnknownTopLevelKeyIsAnError) {
  auto s = load_scenario(write_temp("unknown.yaml", kObjects + "flowz: []\nflows: []\n"));
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().field, "flowz");
}

TEST(Scenario, UnreadableFileIsAnErrorNamingIt) {
  auto s = load_scenario("/nonexistent/scenario.yaml");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().source, "/nonexistent/scenario.yaml");
  EXPECT_EQ(s.error().code, policy::ErrorCode::Io);
}

TEST(Scenario, FlowWithBadExpectationNamesItsField) {
  auto s = load_scenario(write_temp(
      "badexpect.yaml", kObjects + "flows: [{src: prod/web, dst: prod/db, expect: maybe}]\n"));
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().field, "flows[0].expect");
}

TEST(Scenario, FlowsResolvePodsToTheAddressOfTheirFamily) {
  auto s = load_scenario(write_temp("family.yaml", kObjects + R"yaml(
flows:
  - {src: prod/web, dst: 2001:db8::1, family: 6, proto: TCP, dport: 443, expect: allow}
  - {src: prod/db, dst: 2001:db8::1, family: 6, proto: TCP, dport: 443, expect: allow}
  - {src: prod/nope, dst: 10.9.9.9, proto: TCP, dport: 443, expect: allow}
  - {src: prod/web, dst: 2001:db8::1, proto: TCP, dport: 443, expect: allow}
)yaml"));
  ASSERT_TRUE(s.has_value()) << s.error().to_string();
  auto v6 = resolve_flow(*s, s->flows[0]);
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->src.to_string(), "fd00::1");
  EXPECT_EQ(v6->src_port, kDefaultSourcePort);
  auto no_v6 = resolve_flow(*s, s->flows[1]);
  ASSERT_FALSE(no_v6.has_value());
  EXPECT_NE(no_v6.error().message.find("no IPv6 address"), std::string::npos);
  auto unknown = resolve_flow(*s, s->flows[2]);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("no pod prod/nope"), std::string::npos);
  auto mixed = resolve_flow(*s, s->flows[3]);
  ASSERT_FALSE(mixed.has_value());
  EXPECT_NE(mixed.error().message.find("different address families"), std::string::npos);
}

}  // namespace
}  // namespace palisade::control
