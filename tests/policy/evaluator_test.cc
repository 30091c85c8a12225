#include "policy/evaluator.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "policy/resolver.h"
#include "tests/policy/builders.h"

namespace palisade::policy {
namespace {

using testing::flow;
using testing::ns;
using testing::pod;
using testing::snapshot;
using testing::verdict;

const std::string kProd = ns("prod", "{env: prod}");
const std::string kWeb = pod("prod", "web", "10.1.0.1", "{app: web}");
const std::string kDb = pod("prod", "db", "10.1.0.2", "{app: db}");
const std::string kOther = pod("dev", "tool", "10.1.0.3", "{app: web}");

std::string gnp(const std::string& name, const std::string& spec) {
  return "{apiVersion: projectcalico.org/v3, kind: GlobalNetworkPolicy, metadata: {name: " + name +
         "}, spec: " + spec + "}";
}
std::string cnp(const std::string& ns, const std::string& name, const std::string& spec) {
  return "{apiVersion: projectcalico.org/v3, kind: NetworkPolicy, metadata: {name: " + name +
         ", namespace: " + ns + "}, spec: " + spec + "}";
}
std::string knp(const std::string& ns, const std::string& name, const std::string& spec) {
  return "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: " + name +
         ", namespace: " + ns + "}, spec: " + spec + "}";
}
std::string tier(const std::string& name, const std::string& spec) {
  return "{apiVersion: projectcalico.org/v3, kind: Tier, metadata: {name: " + name +
         "}, spec: " + spec + "}";
}
std::string cilium(const std::string& ns, const std::string& name, const std::string& spec) {
  return "{apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: {name: " + name +
         ", namespace: " + ns + "}, spec: " + spec + "}";
}

const Flow kWebToDb = flow("10.1.0.1", "10.1.0.2", "TCP", 5432);

TEST(TierWalk, NoPolicyMeansTheProfileAllows) {
  auto snap = snapshot({kProd, kWeb, kDb});
  EXPECT_EQ(verdict(*snap, kWebToDb), "allow by profile");
}

TEST(TierWalk, IsolatedEndpointWithoutMatchingRuleIsDeniedAtEndOfTier) {
  auto snap = snapshot({kProd, kWeb, kDb, knp("prod", "deny", "{podSelector: {}}")});
  EXPECT_EQ(verdict(*snap, kWebToDb), "deny by default/(end of tier)");
}

TEST(TierWalk, FirstMatchingRuleDecides) {
  auto snap = snapshot({kProd, kWeb, kDb,
                        cnp("prod", "p",
                            "{selector: app == 'db', ingress: ["
                            "{action: Deny, protocol: TCP, destination: {ports: [5432]}},"
                            "{action: Allow}]}")});
  EXPECT_EQ(verdict(*snap, kWebToDb), "deny by default/prod/p");
  EXPECT_EQ(verdict(*snap, flow("10.1.0.1", "10.1.0.2", "TCP", 80)), "allow by default/prod/p");
}

TEST(TierWalk, PassSkipsToNextTier) {
  auto snap = snapshot({kProd, kWeb, kDb, tier("security", "{order: 100}"),
                        gnp("security.pass",
                            "{tier: security, order: 1, selector: all(), "
                            "ingress: [{action: Pass}]}"),
                        gnp("security.never",
                            "{tier: security, order: 500, selector: all(), "
                            "ingress: [{action: Deny}]}"),
                        knp("prod", "allow-web",
                            "{podSelector: {}, ingress: [{from: "
                            "[{podSelector: {matchLabels: {app: web}}}]}]}")});
  EXPECT_EQ(verdict(*snap, kWebToDb), "allow by default/prod/knp.default.allow-web");
}

TEST(TierWalk, PassWithNoLaterTierFallsToTheProfile) {
  auto snap = snapshot({kProd, kWeb, kDb, tier("security", "{order: 100}"),
                        gnp("security.pass",
                            "{tier: security, selector: all(), ingress: "
                            "[{action: Pass}]}")});
  EXPECT_EQ(verdict(*snap, kWebToDb), "allow by profile");
}

TEST(TierWalk, TierDefaultActionPassContinues) {
  auto snap = snapshot({kProd, kWeb, kDb, tier("platform", "{order: 10, defaultAction: Pass}"),
                        gnp("platform.x",
                            "{tier: platform, selector: all(), ingress: "
                            "[{action: Deny, source: {nets: [192.0.2.0/24]}}]}"),
                        knp("prod", "deny", "{podSelector: {}}")});
  EXPECT_EQ(verdict(*snap, kWebToDb), "deny by default/(end of tier)");
  EXPECT_EQ(verdict(*snap, flow("192.0.2.1", "10.1.0.2", "TCP", 1)), "deny by platform/platform.x");
}

TEST(TierWalk, TierOrderDecidesBeforePolicyOrder) {
  auto snap =
      snapshot({kProd, kWeb, kDb, tier("b-first", "{order: 1}"), tier("a-second", "{order: 2}"),
                gnp("a-second.allow",
                    "{tier: a-second, order: 1, selector: all(), "
                    "ingress: [{action: Allow}]}"),
                gnp("b-first.deny",
                    "{tier: b-first, order: 999, selector: all(), "
                    "ingress: [{action: Deny}]}")});
  EXPECT_EQ(verdict(*snap, kWebToDb), "deny by b-first/b-first.deny");
}

TEST(TierWalk, TierWithoutOrderComesLast) {
  auto snap = snapshot({kProd, kWeb, kDb, tier("unordered", "{}"),
                        gnp("unordered.deny",
                            "{tier: unordered, selector: all(), ingress: "
                            "[{action: Deny}]}"),
                        gnp("allow", "{selector: all(), ingress: [{action: Allow}]}")});
  EXPECT_EQ(verdict(*snap, kWebToDb), "allow by default/allow");
}

TEST(PolicyOrder, LowerOrderFirstMissingOrderLastTiesByName) {
  auto snap = snapshot({kProd, kWeb, kDb,
                        gnp("z-low", "{order: 1, selector: all(), ingress: [{action: Deny}]}"),
                        gnp("a-high", "{order: 2, selector: all(), ingress: [{action: Allow}]}"),
                        gnp("a-none", "{selector: all(), ingress: [{action: Allow}]}")});
  EXPECT_EQ(verdict(*snap, kWebToDb), "deny by default/z-low");
  auto tie = snapshot({kProd, kWeb, kDb,
                       gnp("b", "{order: 5, selector: all(), ingress: [{action: Deny}]}"),
                       gnp("a", "{order: 5, selector: all(), ingress: [{action: Allow}]}")});
  EXPECT_EQ(verdict(*tie, kWebToDb), "allow by default/a");
  auto none = snapshot({kProd, kWeb, kDb, gnp("a", "{selector: all(), ingress: [{action: Allow}]}"),
                        gnp("b", "{order: 5000000, selector: all(), ingress: [{action: Deny}]}")});
  EXPECT_EQ(verdict(*none, kWebToDb), "deny by default/b");
}

TEST(RuleActions, LogRecordsAndContinues) {
  auto snap = snapshot({kProd, kWeb, kDb,
                        gnp("audit", "{order: 1, selector: all(), ingress: [{action: Log}]}"),
                        gnp("allow", "{order: 2, selector: all(), ingress: [{action: Allow}]}")});
  FlowVerdict v = evaluate(*snap, kWebToDb);
  ASSERT_TRUE(v.ingress.has_value());
  EXPECT_EQ(v.ingress->by_name(), "default/allow");
  EXPECT_EQ(v.ingress->logged, std::vector<std::string>{"default/audit#0"});
}

TEST(Directions, SourceEgressIsJudgedFirst) {
  auto snap = snapshot({kProd, kWeb, kDb,
                        knp("prod", "deny-all",
                            "{podSelector: {}, "
                            "policyTypes: [Ingress, Egress]}")});
  FlowVerdict v = evaluate(*snap, kWebToDb);
  EXPECT_EQ(v.verdict, Verdict::Deny);
  EXPECT_EQ(v.deciding()->direction, Direction::Egress);
  EXPECT_FALSE(v.ingress.has_value());
}

TEST(Directions, AllowedFlowIsNamedByTheDestinationIngress) {
  auto snap =
      snapshot({kProd, kWeb, kDb, gnp("out", "{selector: all(), egress: [{action: Allow}]}"),
                gnp("in", "{order: 1, selector: all(), ingress: [{action: Allow}]}")});
  EXPECT_EQ(verdict(*snap, kWebToDb), "allow by default/in");
  EXPECT_EQ(verdict(*snap, flow("10.1.0.1", "203.0.113.1", "TCP", 443)), "allow by default/out");
}

TEST(Nodes, NodeReachesItsOwnPodsDespiteDefaultDeny) {
  std::string node =
      "{apiVersion: v1, kind: Node, metadata: {name: node-a}, status: "
      "{addresses: [{type: InternalIP, address: 192.168.0.10}]}}";
  std::string node_b =
      "{apiVersion: v1, kind: Node, metadata: {name: node-b}, status: "
      "{addresses: [{type: InternalIP, address: 192.168.0.11}]}}";
  auto snap = snapshot({kProd, kWeb, kDb, node, node_b, knp("prod", "deny", "{podSelector: {}}")});
  EXPECT_EQ(verdict(*snap, flow("192.168.0.10", "10.1.0.2", "TCP", 8080)), "allow by node");
  EXPECT_EQ(verdict(*snap, flow("192.168.0.11", "10.1.0.2", "TCP", 8080)),
            "deny by default/(end of tier)");
}

TEST(Nodes, HostNetworkPodIsItsNodesTrafficNotAnEndpoint) {
  std::string agent =
      pod("kube-system", "agent", "192.168.0.10", "{app: agent}", "hostNetwork: true");
  auto snap = snapshot({kProd, kWeb, kDb, agent, knp("prod", "deny", "{podSelector: {}}")});
  EXPECT_EQ(snap->endpoint_at(*IpAddr::parse("192.168.0.10")), nullptr);
  EXPECT_EQ(verdict(*snap, flow("192.168.0.10", "10.1.0.2", "TCP", 80)), "allow by node");
}

TEST(Nodes, AnEndedPodIsNoEndpointAndItsAddressGoesToTheNewOne) {
  // A finished pod keeps its IP in its status while a new pod gets it: only the live pod owns it.
  std::string ended =
      "{apiVersion: v1, kind: Pod, metadata: {name: a-old, namespace: prod, "
      "labels: {app: web}}, spec: {nodeName: node-b}, status: {phase: Succeeded, "
      "podIP: 10.1.0.2}}";
  auto snap = snapshot({kProd, kWeb, kDb, ended, knp("prod", "deny", "{podSelector: {}}")});
  const Endpoint* owner = snap->endpoint_at(*IpAddr::parse("10.1.0.2"));
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(owner->name, "db");
  EXPECT_EQ(snap->endpoints.size(), 2u);
}

TEST(HostEndpoints, NoPolicyMeansDenyUnlessTheAllowProfile) {
  std::string hep =
      "{apiVersion: projectcalico.org/v3, kind: HostEndpoint, metadata: {name: "
      "h, labels: {role: host}}, spec: {node: node-a, expectedIPs: [192.168.0.10]}}";
  auto snap = snapshot({hep});
  EXPECT_EQ(verdict(*snap, flow("203.0.113.1", "192.168.0.10", "TCP", 80)), "deny by profile");
  std::string open =
      "{apiVersion: projectcalico.org/v3, kind: HostEndpoint, metadata: {name: "
      "h}, spec: {node: node-a, expectedIPs: [192.168.0.10], profiles: "
      "[projectcalico-default-allow]}}";
  EXPECT_EQ(verdict(*snapshot({open}), flow("203.0.113.1", "192.168.0.10", "TCP", 80)),
            "allow by profile");
}

TEST(HostEndpoints, FailsafePortsComeBeforePolicy) {
  std::string hep =
      "{apiVersion: projectcalico.org/v3, kind: HostEndpoint, metadata: {name: "
      "h, labels: {role: host}}, spec: {node: node-a, expectedIPs: [192.168.0.10]}}";
  auto snap = snapshot({hep, gnp("deny", "{selector: role == 'host', ingress: [{action: Deny}]}")});
  EXPECT_EQ(verdict(*snap, flow("203.0.113.1", "192.168.0.10", "TCP", 22)), "allow by failsafe");
  EXPECT_EQ(verdict(*snap, flow("203.0.113.1", "192.168.0.10", "TCP", 23)), "deny by default/deny");
  snap->failsafe = Failsafe{};
  EXPECT_EQ(verdict(*snap, flow("203.0.113.1", "192.168.0.10", "TCP", 22)), "deny by default/deny");
}

TEST(HostEndpoints, NamespacedAndKubernetesPoliciesNeverApplyToThem) {
  std::string hep =
      "{apiVersion: projectcalico.org/v3, kind: HostEndpoint, metadata: {name: "
      "h}, spec: {node: node-a, expectedIPs: [192.168.0.10], profiles: "
      "[projectcalico-default-allow]}}";
  auto snap = snapshot({hep, knp("default", "deny", "{podSelector: {}}"),
                        cnp("default", "deny2", "{ingress: [{action: Deny}]}")});
  EXPECT_EQ(verdict(*snap, flow("203.0.113.1", "192.168.0.10", "TCP", 80)), "allow by profile");
}

TEST(Peers, SelectorOfNamespacedPolicyStaysInItsNamespace) {
  auto snap = snapshot({kProd, ns("dev"), kWeb, kDb, kOther,
                        cnp("prod", "p",
                            "{selector: app == 'db', ingress: [{action: Allow, "
                            "source: {selector: app == 'web'}}]}")});
  EXPECT_EQ(verdict(*snap, kWebToDb), "allow by default/prod/p");
  EXPECT_EQ(verdict(*snap, flow("10.1.0.3", "10.1.0.2", "TCP", 5432)),
            "deny by default/(end of tier)");
}

// libcalico-go scopes a namespaced policy's rule to its namespace when notSelector is used
// (updateprocessors/rules.go, getEndpointSelector): an outside address is not "not web".
TEST(Peers, NotSelectorOfANamespacedPolicyMatchesOnlyItsNamespace) {
  auto snap = snapshot({kProd, kWeb, kDb,
                        cnp("prod", "p",
                            "{selector: app == 'db', ingress: [{action: Allow, "
                            "source: {notSelector: app == 'web'}}]}")});
  EXPECT_EQ(verdict(*snap, kWebToDb), "deny by default/(end of tier)");
  EXPECT_EQ(verdict(*snap, flow("203.0.113.7", "10.1.0.2", "TCP", 5432)),
            "deny by default/(end of tier)");
}

// A global policy has no namespace to scope to: notSelector alone matches outside addresses.
TEST(Peers, NotSelectorOfAGlobalPolicyMatchesOutsideAddressesToo) {
  auto snap = snapshot({kProd, kWeb, kDb,
                        gnp("p",
                            "{selector: app == 'db', ingress: [{action: Allow, "
                            "source: {notSelector: app == 'web'}}]}")});
  EXPECT_EQ(verdict(*snap, kWebToDb), "deny by default/(end of tier)");
  EXPECT_EQ(verdict(*snap, flow("203.0.113.7", "10.1.0.2", "TCP", 5432)), "allow by default/p");
}

TEST(Peers, SelectorNeverMatchesAnOutsideAddress) {
  auto snap = snapshot({kProd, kWeb, kDb,
                        gnp("p",
                            "{selector: app == 'db', ingress: [{action: Allow, "
                            "source: {selector: app != 'web'}}]}")});
  EXPECT_EQ(verdict(*snap, flow("203.0.113.7", "10.1.0.2", "TCP", 5432)),
            "deny by default/(end of tier)");
}

TEST(Peers, NetworkSetsAreSelectedByLabels) {
  std::string set =
      "{apiVersion: projectcalico.org/v3, kind: GlobalNetworkSet, metadata: {name: "
      "bad, labels: {threat: 'yes'}}, spec: {nets: [198.51.100.0/24]}}";
  auto snap = snapshot({kProd, kWeb, kDb, set,
                        gnp("p",
                            "{selector: all(), ingress: [{action: Deny, source: "
                            "{selector: threat == 'yes'}}, {action: Allow}]}")});
  EXPECT_EQ(verdict(*snap, flow("198.51.100.9", "10.1.0.2", "TCP", 1)), "deny by default/p");
  EXPECT_EQ(verdict(*snap, flow("198.51.101.9", "10.1.0.2", "TCP", 1)), "allow by default/p");
}

TEST(Ports, NamedPortResolvesOnTheDestinationPod) {
  std::string a = pod("prod", "a", "10.1.0.5", "{app: srv}",
                      "containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]");
  std::string b = pod("prod", "b", "10.1.0.6", "{app: srv}",
                      "containers: [{name: c, ports: [{name: http, containerPort: 9090}]}]");
  auto snap = snapshot({kProd, kWeb, a, b,
                        knp("prod", "http",
                            "{podSelector: {matchLabels: {app: srv}}, ingress: "
                            "[{ports: [{port: http}]}]}")});
  EXPECT_EQ(verdict(*snap, flow("10.1.0.1", "10.1.0.5", "TCP", 8080)),
            "allow by default/prod/knp.default.http");
  EXPECT_EQ(verdict(*snap, flow("10.1.0.1", "10.1.0.5", "TCP", 9090)),
            "deny by default/(end of tier)");
  EXPECT_EQ(verdict(*snap, flow("10.1.0.1", "10.1.0.6", "TCP", 9090)),
            "allow by default/prod/knp.default.http");
  EXPECT_EQ(verdict(*snap, flow("10.1.0.1", "10.1.0.5", "UDP", 8080)),
            "deny by default/(end of tier)");
}

TEST(Ports, PortsNeverMatchProtocolsWithoutPorts) {
  auto snap = snapshot({kProd, kWeb, kDb,
                        knp("prod", "p",
                            "{podSelector: {}, ingress: [{ports: [{port: 1, "
                            "endPort: 65535}]}]}")});
  Flow ping = flow("10.1.0.1", "10.1.0.2", "ICMP", 0);
  ping.icmp_type = 8;
  EXPECT_EQ(verdict(*snap, ping), "deny by default/(end of tier)");
}

TEST(Icmp, TypeAndCodeMatch) {
  auto snap = snapshot({kProd, kWeb, kDb,
                        gnp("p",
                            "{selector: all(), ingress: [{action: Allow, protocol: ICMP, "
                            "icmp: {type: 8, code: 0}}]}")});
  Flow ping = flow("10.1.0.1", "10.1.0.2", "ICMP", 0);
  ping.icmp_type = 8;
  ping.icmp_code = 0;
  EXPECT_EQ(verdict(*snap, ping), "allow by default/p");
  ping.icmp_type = 13;
  EXPECT_EQ(verdict(*snap, ping), "deny by default/(end of tier)");
}

TEST(Cilium, DenyRulesBeatEveryAllowInTheDefaultTier) {
  auto snap =
      snapshot({kProd, kWeb, kDb,
                gnp("allow-first", "{order: 1, selector: all(), egress: [{action: Allow}]}"),
                cilium("prod", "no-meta",
                       "{endpointSelector: {}, egressDeny: [{toCIDR: "
                       "[169.254.169.254/32]}]}")});
  EXPECT_EQ(verdict(*snap, flow("10.1.0.1", "169.254.169.254", "TCP", 80)),
            "deny by default/prod/cnp.no-meta");
  EXPECT_EQ(verdict(*snap, flow("10.1.0.1", "203.0.113.1", "TCP", 80)),
            "allow by default/allow-first");
}

TEST(Cilium, EmptyIngressListDoesNotIsolate) {
  auto snap =
      snapshot({kProd, kWeb, kDb, cilium("prod", "p", "{endpointSelector: {}, ingress: []}")});
  EXPECT_EQ(verdict(*snap, kWebToDb), "allow by profile");
}

TEST(Cilium, NonIsolatingPolicyAddsAllowsWithoutDefaultDeny) {
  auto snap = snapshot({kProd, kWeb, kDb,
                        cilium("prod", "p",
                               "{endpointSelector: {}, enableDefaultDeny: {ingress: "
                               "false}, ingress: [{toPorts: [{ports: [{port: '80'}]}]}]}")});
  EXPECT_EQ(verdict(*snap, flow("10.1.0.1", "10.1.0.2", "TCP", 80)), "allow by default/prod/cnp.p");
  EXPECT_EQ(verdict(*snap, flow("10.1.0.1", "10.1.0.2", "TCP", 81)), "allow by profile");
}

TEST(Cilium, EntitiesWorldAndHost) {
  std::string node =
      "{apiVersion: v1, kind: Node, metadata: {name: node-a}, status: "
      "{addresses: [{type: InternalIP, address: 192.168.0.10}]}}";
  auto snap = snapshot({kProd, kWeb, kDb, node,
                        cilium("prod", "p",
                               "{endpointSelector: {}, egress: [{toEntities: "
                               "[world]}, {toEntities: [host]}]}")});
  EXPECT_EQ(verdict(*snap, flow("10.1.0.1", "203.0.113.1", "TCP", 80)),
            "allow by default/prod/cnp.p");
  EXPECT_EQ(verdict(*snap, flow("10.1.0.1", "192.168.0.10", "TCP", 10250)),
            "allow by default/prod/cnp.p");
  // A pod is neither world nor host: egress to it is denied at the end of the tier.
  EXPECT_EQ(verdict(*snap, kWebToDb), "deny by default/(end of tier)");
}

// No stage judges L7 yet: a port whose rule has HTTP rules admits no connection, and so no
// request, rather than every request (Rule::has_l7). The policy still isolates.
TEST(Cilium, HttpRulesAdmitNoConnectionUntilAnL7StageJudgesThem) {
  const std::string http_only = cilium("prod", "api",
                                       "{endpointSelector: {matchLabels: {app: db}}, "
                                       "ingress: [{toPorts: [{ports: [{port: '8080', "
                                       "protocol: TCP}], rules: {http: [{method: GET, "
                                       "path: '/api/v1/.*'}]}}]}]}");
  auto snap = snapshot({kProd, kWeb, kDb, http_only});
  Flow f = flow("10.1.0.1", "10.1.0.2", "TCP", 8080);
  EXPECT_EQ(verdict(*snap, f), "deny by default/(end of tier)");
  f.http = HttpRequest{"GET", "/api/v1/items", "", {}};
  EXPECT_EQ(verdict(*snap, f), "deny by default/(end of tier)");
  // An L4 allow of the same port makes the L7 rules moot (Cilium's wildcardL3L4Rules).
  auto with_l4 = snapshot({kProd, kWeb, kDb, http_only,
                           cilium("prod", "l4",
                                  "{endpointSelector: {matchLabels: {app: db}}, "
                                  "ingress: [{toPorts: [{ports: [{port: '8080', "
                                  "protocol: TCP}]}]}]}")});
  EXPECT_EQ(verdict(*with_l4, f), "allow by default/prod/cnp.l4");
  f.http.reset();
  EXPECT_EQ(verdict(*with_l4, f), "allow by default/prod/cnp.l4");
}

TEST(Cilium, FqdnRulesMatchOnlyTheResolvedName) {
  auto snap = snapshot({kProd, kWeb, kDb,
                        cilium("prod", "out",
                               "{endpointSelector: {}, egress: [{toFQDNs: "
                               "[{matchPattern: '*.example.com'}, {matchName: "
                               "api.test.io}]}]}")});
  Flow f = flow("10.1.0.1", "54.1.2.3", "TCP", 443);
  EXPECT_EQ(verdict(*snap, f), "deny by default/(end of tier)");
  for (const char* name : {"www.example.com", "WWW.Example.com.", "api.test.io"}) {
    f.fqdn = name;
    EXPECT_EQ(verdict(*snap, f), "allow by default/prod/cnp.out") << name;
  }
  for (const char* name : {"example.com", "a.b.example.com", "api.test.io.evil"}) {
    f.fqdn = name;
    EXPECT_EQ(verdict(*snap, f), "deny by default/(end of tier)") << name;
  }
}

TEST(Options, OnlyTheNamedNodesEndpointsAreJudged) {
  std::string remote = pod("prod", "remote", "10.2.0.1", "{app: web}", "", "node-b");
  auto snap = snapshot({kProd, kWeb, kDb, remote,
                        knp("prod", "deny", "{podSelector: {}, policyTypes: [Ingress, Egress]}")});
  EvalOptions on_a{"node-a"};
  EXPECT_EQ(verdict(*snap, flow("10.2.0.1", "10.1.0.2", "TCP", 1), on_a),
            "deny by default/(end of tier)");
  FlowVerdict v = evaluate(*snap, flow("10.2.0.1", "10.1.0.2", "TCP", 1), on_a);
  EXPECT_EQ(v.deciding()->direction, Direction::Ingress);  // node-b's egress is not judged here
  EvalOptions on_c{"node-c"};
  EXPECT_EQ(verdict(*snap, flow("10.2.0.1", "10.1.0.2", "TCP", 1), on_c), "allow");
}

TEST(Snapshot, PolicyInAMissingTierIsReportedAndNotInForce) {
  std::vector<Object> objects = {testing::object(kProd), testing::object(kWeb),
                                 testing::object(kDb),
                                 testing::object(gnp("ghost.deny",
                                                     "{tier: ghost, selector: all(), "
                                                     "ingress: [{action: Deny}]}"))};
  SnapshotBuild build = build_snapshot(objects);
  ASSERT_EQ(build.errors.size(), 1u);
  EXPECT_EQ(build.errors[0].field, "spec.tier");
  EXPECT_NE(build.errors[0].message.find("ghost"), std::string::npos);
  EXPECT_EQ(verdict(*build.snapshot, kWebToDb), "allow by profile");
}

TEST(Snapshot, VerdictsDoNotDependOnArrivalOrder) {
  std::vector<std::string> docs = {
      kProd,
      kWeb,
      kDb,
      tier("sec", "{order: 10}"),
      gnp("sec.p", "{tier: sec, selector: all(), ingress: [{action: Pass}]}"),
      knp("prod", "a", "{podSelector: {}, ingress: [{from: [{podSelector: {}}]}]}"),
      gnp("b",
          "{order: 1000, selector: all(), ingress: [{action: Deny, source: {nets: "
          "[10.1.0.1/32]}}]}"),
  };
  std::vector<Flow> flows = {kWebToDb, flow("10.1.0.2", "10.1.0.1", "UDP", 53),
                             flow("203.0.113.1", "10.1.0.2", "TCP", 1)};
  auto answers = [&](const std::vector<std::string>& order) {
    auto snap = snapshot(order);
    std::string out;
    for (const Flow& f : flows) {
      out += verdict(*snap, f) + "; ";
    }
    return out;
  };
  const std::string want = answers(docs);
  // b (order 1000) and knp.default.a (order 1000) tie; "b" sorts before "prod/knp.default.a".
  EXPECT_EQ(want,
            "deny by default/b; allow by default/prod/knp.default.a; "
            "deny by default/(end of tier); ");
  std::sort(docs.begin(), docs.end());
  int permutations = 0;
  do {
    ASSERT_EQ(answers(docs), want);
  } while (std::next_permutation(docs.begin(), docs.end()) && ++permutations < 720);
}

}  // namespace
}  // namespace palisade::policy
