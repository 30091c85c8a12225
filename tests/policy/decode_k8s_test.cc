// networking.k8s.io/v1 NetworkPolicy decoding (docs/semantics.md, "Kubernetes NetworkPolicy").
#include <gtest/gtest.h>

#include "policy/decode.h"
#include "tests/policy/builders.h"

namespace palisade::policy {

namespace {

using testing::decode_error;
using testing::object;
using testing::policies;

// A NetworkPolicy `web` in namespace `prod` with this spec (flow style).
std::string knp(const std::string& spec,
                const std::string& metadata = "{name: web, namespace: prod}") {
  return "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: " + metadata +
         ", spec: " + spec + "}";
}

Policy knp_policy(const std::string& spec) {
  std::vector<Policy> ps = policies(knp(spec));
  EXPECT_EQ(ps.size(), 1u);
  return ps.empty() ? Policy{} : ps[0];
}

// The ingress rules of a policy that selects every pod.
std::vector<Rule> ingress(const std::string& rules) {
  return knp_policy("{podSelector: {}, ingress: " + rules + "}").ingress;
}

Error ingress_error(const std::string& rules) {
  return decode_error(knp("{podSelector: {}, ingress: " + rules + "}"));
}

std::string canon(const std::string& selector) {
  Result<Selector> s = Selector::parse(selector);
  EXPECT_TRUE(s.has_value()) << selector;
  return s ? s->to_string() : "";
}

Cidr net(const std::string& text) { return Cidr::parse(text).value(); }

bool unconstrained(const PeerMatch& p) {
  return p.nets.empty() && p.not_nets.empty() && !p.selector && !p.not_selector && !p.entities &&
         !p.fqdns && !p.matches_nothing && p.ports.empty() && p.not_ports.empty();
}

// --- The policy as a whole -----------------------------------------------------------------

TEST(DecodeK8s, BecomesOneDefaultTierPolicyAtOrder1000NamedKnpDefault) {
  Object o = object(knp("{podSelector: {}}"));
  EXPECT_EQ(o.key.kind, "NetworkPolicy");
  EXPECT_EQ(o.key.ns, "prod");
  EXPECT_EQ(o.key.name, "web");
  EXPECT_EQ(o.api_version, "networking.k8s.io/v1");
  EXPECT_EQ(o.source, "test.yaml:1");
  const auto* ps = std::get_if<std::vector<Policy>>(&o.body);
  ASSERT_NE(ps, nullptr);
  ASSERT_EQ(ps->size(), 1u);
  const Policy& p = (*ps)[0];
  EXPECT_EQ(p.kind, PolicyKind::KubernetesNetworkPolicy);
  EXPECT_EQ(p.ns, "prod");
  EXPECT_EQ(p.name, "web");
  EXPECT_EQ(p.display_name, "knp.default.web");
  EXPECT_EQ(p.qualified_name(), "prod/knp.default.web");
  EXPECT_EQ(p.tier, "default");
  ASSERT_TRUE(p.order.has_value());
  EXPECT_EQ(*p.order, 1000);
  EXPECT_EQ(p.band, 1);
  EXPECT_TRUE(p.isolates_ingress);
  EXPECT_TRUE(p.isolates_egress);
  EXPECT_EQ(p.source, "test.yaml:1");
}

TEST(DecodeK8s, NamespaceDefaultsToDefaultWhenMetadataHasNone) {
  std::vector<Policy> ps = policies(knp("{podSelector: {}}", "{name: web}"));
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].ns, "default");
  EXPECT_EQ(ps[0].applies_to.scope.ns, "default");
  EXPECT_EQ(ps[0].qualified_name(), "default/knp.default.web");
  EXPECT_EQ(object(knp("{podSelector: {}}", "{name: web}")).key.ns, "default");
}

TEST(DecodeK8s, MissingSpecIsMissingField) {
  Error e = decode_error(
      "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, "
      "metadata: {name: web, namespace: prod}}");
  EXPECT_EQ(e.code, ErrorCode::MissingField);
  EXPECT_EQ(e.field, "spec");
  EXPECT_EQ(e.object, "NetworkPolicy prod/web");
}

TEST(DecodeK8s, MissingPodSelectorIsMissingField) {
  Error e = decode_error(knp("{ingress: [{}]}"));
  EXPECT_EQ(e.code, ErrorCode::MissingField);
  EXPECT_EQ(e.field, "spec.podSelector");
}

// --- podSelector ---------------------------------------------------------------------------

TEST(DecodeK8s, PodSelectorMatchLabelsSelectsPodsOfThePolicyNamespace) {
  Policy p = knp_policy("{podSelector: {matchLabels: {app: db, tier: backend}}}");
  EXPECT_EQ(p.applies_to.dialect, Dialect::Kubernetes);
  EXPECT_EQ(p.applies_to.selector.to_string(), canon("app == 'db' && tier == 'backend'"));
  EXPECT_EQ(p.applies_to.scope.kind, Scope::Kind::Namespace);
  EXPECT_EQ(p.applies_to.scope.ns, "prod");
  EXPECT_FALSE(p.applies_to.scope.network_sets);
  EXPECT_FALSE(p.applies_to.scope.host_endpoints);
}

TEST(DecodeK8s, EmptyPodSelectorSelectsEveryPodOfTheNamespace) {
  Policy p = knp_policy("{podSelector: {}}");
  EXPECT_TRUE(p.applies_to.selector.is_all());
  EXPECT_EQ(p.applies_to.scope.kind, Scope::Kind::Namespace);
  EXPECT_EQ(p.applies_to.scope.ns, "prod");
}

TEST(DecodeK8s, PodSelectorMatchExpressionsAreAndedWithKubernetesOperators) {
  Policy p = knp_policy(
      "{podSelector: {matchLabels: {role: api}, matchExpressions: ["
      "{key: app, operator: In, values: [web, api]}, {key: env, operator: NotIn, values: [dev]},"
      "{key: team, operator: Exists}, {key: legacy, operator: DoesNotExist}]}}");
  const Selector& s = p.applies_to.selector;
  EXPECT_TRUE(s.matches({{"role", "api"}, {"app", "web"}, {"team", "a"}}));
  EXPECT_TRUE(s.matches({{"role", "api"}, {"app", "api"}, {"team", "a"}, {"env", "prod"}}));
  EXPECT_FALSE(s.matches({{"app", "web"}, {"team", "a"}}));                  // no role
  EXPECT_FALSE(s.matches({{"role", "api"}, {"app", "db"}, {"team", "a"}}));  // In
  EXPECT_FALSE(s.matches({{"role", "api"}, {"app", "web"}, {"team", "a"}, {"env", "dev"}}));
  EXPECT_FALSE(s.matches({{"role", "api"}, {"app", "web"}}));  // Exists
  EXPECT_FALSE(s.matches({{"role", "api"}, {"app", "web"}, {"team", "a"}, {"legacy", "y"}}));
}

TEST(DecodeK8s, BadMatchExpressionOperatorIsRejectedAtItsPath) {
  Error e =
      decode_error(knp("{podSelector: {matchExpressions: [{key: app, operator: Equals, "
                       "values: [web]}]}}"));
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.podSelector.matchExpressions[0].operator");
  EXPECT_NE(e.message.find("Equals"), std::string::npos) << e.message;
  EXPECT_EQ(e.object, "NetworkPolicy prod/web");
}

TEST(DecodeK8s, InOperatorWithoutValuesIsRejected) {
  Error e = decode_error(knp("{podSelector: {matchExpressions: [{key: app, operator: In}]}}"));
  EXPECT_EQ(e.field, "spec.podSelector.matchExpressions[0]");
  EXPECT_NE(e.message.find("needs at least one value"), std::string::npos) << e.message;
}

// Every decoding error names its file and line (policy/decode.h): a label selector error too.
TEST(DecodeK8s, LabelSelectorErrorNamesItsLine) {
  Error e = decode_error(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: prod}
spec:
  podSelector:
    matchExpressions: [{key: app, operator: Equals, values: [web]}]
)");
  EXPECT_EQ(e.field, "spec.podSelector.matchExpressions[0].operator");
  EXPECT_EQ(e.source, "test.yaml:6");
}

// --- policyTypes ---------------------------------------------------------------------------

TEST(DecodeK8s, PolicyTypesDefaultToIngressWhenMissing) {
  Policy p = knp_policy("{podSelector: {}, ingress: [{}]}");
  EXPECT_TRUE(p.types_ingress);
  EXPECT_FALSE(p.types_egress);
}

TEST(DecodeK8s, PolicyTypesDefaultToIngressWhenNeitherRulesNorTypesAreGiven) {
  Policy p = knp_policy("{podSelector: {}}");
  EXPECT_TRUE(p.types_ingress);
  EXPECT_FALSE(p.types_egress);
  EXPECT_TRUE(p.ingress.empty());
}

TEST(DecodeK8s, PolicyTypesDefaultToIngressPlusEgressWhenEgressRulesExist) {
  Policy p = knp_policy("{podSelector: {}, egress: [{ports: [{port: 53, protocol: UDP}]}]}");
  EXPECT_TRUE(p.types_ingress);
  EXPECT_TRUE(p.types_egress);
  EXPECT_EQ(p.egress.size(), 1u);
}

TEST(DecodeK8s, EmptyEgressListDoesNotDefaultTheEgressType) {
  Policy p = knp_policy("{podSelector: {}, egress: []}");
  EXPECT_TRUE(p.types_ingress);
  EXPECT_FALSE(p.types_egress);
}

TEST(DecodeK8s, EmptyPolicyTypesListIsDefaultedLikeAMissingOne) {
  Policy p = knp_policy("{podSelector: {}, policyTypes: [], egress: [{}]}");
  EXPECT_TRUE(p.types_ingress);
  EXPECT_TRUE(p.types_egress);
}

TEST(DecodeK8s, ExplicitPolicyTypesAreKeptAsWritten) {
  Policy egress_only = knp_policy("{podSelector: {}, policyTypes: [Egress], ingress: [{}]}");
  EXPECT_FALSE(egress_only.types_ingress);
  EXPECT_TRUE(egress_only.types_egress);
  Policy both = knp_policy("{podSelector: {}, policyTypes: [Ingress, Egress]}");
  EXPECT_TRUE(both.types_ingress);
  EXPECT_TRUE(both.types_egress);
  EXPECT_TRUE(both.egress.empty());  // egress isolation with nothing allowed
}

TEST(DecodeK8s, UnknownPolicyTypeIsRejected) {
  Error e = decode_error(knp("{podSelector: {}, policyTypes: [Ingress, egress]}"));
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.policyTypes[1]");
  EXPECT_NE(e.message.find("egress"), std::string::npos) << e.message;
}

// --- Rules: the cross product of peers and ports -------------------------------------------

TEST(DecodeK8s, RuleIsLoweredAsCrossProductOfPeersAndPorts) {
  std::vector<Rule> rules = ingress(
      "[{from: [{podSelector: {matchLabels: {app: a}}}, {ipBlock: {cidr: 10.0.0.0/8}}],"
      "  ports: [{port: 80}, {port: 443}, {protocol: UDP, port: 53}]},"
      " {ports: [{port: 22}]}]");
  ASSERT_EQ(rules.size(), 7u);  // 2 peers x 3 ports, then 1 x 1
  for (size_t i = 0; i < 6; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(rules[i].action, Action::Allow);
    EXPECT_EQ(rules[i].origin, "spec.ingress[0]");
  }
  EXPECT_EQ(rules[6].origin, "spec.ingress[1]");
  // Peer-major order: the pod selector with each port, then the ipBlock with each port.
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(rules[i].source.selector.has_value());
    EXPECT_EQ(rules[i + 3].source.nets, std::vector<Cidr>{net("10.0.0.0/8")});
  }
  EXPECT_EQ(rules[0].destination.ports.ranges, (std::vector<PortRange>{{80, 80}}));
  EXPECT_EQ(rules[1].destination.ports.ranges, (std::vector<PortRange>{{443, 443}}));
  EXPECT_EQ(rules[2].destination.ports.ranges, (std::vector<PortRange>{{53, 53}}));
  EXPECT_EQ(rules[2].protocols, std::vector<uint8_t>{ipproto::kUdp});
  EXPECT_EQ(rules[4].destination.ports.ranges, (std::vector<PortRange>{{443, 443}}));
  EXPECT_TRUE(unconstrained(rules[6].source));
}

TEST(DecodeK8s, MissingFromMatchesEveryPeer) {
  std::vector<Rule> rules = ingress("[{ports: [{port: 80}]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_TRUE(unconstrained(rules[0].source));
  EXPECT_EQ(rules[0].protocols, std::vector<uint8_t>{ipproto::kTcp});
  EXPECT_EQ(rules[0].destination.ports.ranges, (std::vector<PortRange>{{80, 80}}));
}

TEST(DecodeK8s, EmptyFromMatchesEveryPeer) {
  std::vector<Rule> rules = ingress("[{from: [], ports: [{port: 80}]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_TRUE(unconstrained(rules[0].source));
}

TEST(DecodeK8s, MissingPortsMatchEveryPortAndProtocol) {
  std::vector<Rule> rules = ingress("[{from: [{podSelector: {}}]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_TRUE(rules[0].protocols.empty());
  EXPECT_TRUE(rules[0].destination.ports.empty());
}

TEST(DecodeK8s, EmptyPortsMatchEveryPortAndProtocol) {
  std::vector<Rule> rules = ingress("[{from: [{podSelector: {}}], ports: []}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_TRUE(rules[0].protocols.empty());
  EXPECT_TRUE(rules[0].destination.ports.empty());
}

TEST(DecodeK8s, EmptyRuleAllowsEverything) {
  std::vector<Rule> rules = ingress("[{}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].action, Action::Allow);
  EXPECT_TRUE(rules[0].protocols.empty());
  EXPECT_TRUE(unconstrained(rules[0].source));
  EXPECT_TRUE(unconstrained(rules[0].destination));
}

TEST(DecodeK8s, EmptyIngressListAllowsNothing) {
  Policy p = knp_policy("{podSelector: {}, ingress: []}");
  EXPECT_TRUE(p.types_ingress);
  EXPECT_TRUE(p.ingress.empty());
}

TEST(DecodeK8s, EgressPeersAndPortsAreTheDestination) {
  Policy p = knp_policy(
      "{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 192.168.0.0/16}}], ports: [{port: "
      "5432}]}]}");
  ASSERT_EQ(p.egress.size(), 1u);
  const Rule& r = p.egress[0];
  EXPECT_EQ(r.origin, "spec.egress[0]");
  EXPECT_EQ(r.destination.nets, std::vector<Cidr>{net("192.168.0.0/16")});
  EXPECT_EQ(r.destination.ports.ranges, (std::vector<PortRange>{{5432, 5432}}));
  EXPECT_TRUE(unconstrained(r.source));
}

// --- Peers ---------------------------------------------------------------------------------

TEST(DecodeK8s, PodSelectorAloneSelectsPodsOfThePolicyNamespace) {
  std::vector<Rule> rules = ingress("[{from: [{podSelector: {matchLabels: {app: web}}}]}]");
  ASSERT_EQ(rules.size(), 1u);
  ASSERT_TRUE(rules[0].source.selector.has_value());
  const EndpointSelector& s = *rules[0].source.selector;
  EXPECT_EQ(s.dialect, Dialect::Kubernetes);
  EXPECT_EQ(s.selector.to_string(), canon("app == 'web'"));
  EXPECT_EQ(s.scope.kind, Scope::Kind::Namespace);
  EXPECT_EQ(s.scope.ns, "prod");
  EXPECT_FALSE(s.scope.network_sets);
  EXPECT_FALSE(s.scope.host_endpoints);
}

TEST(DecodeK8s, NamespaceSelectorAloneSelectsEveryPodOfSelectedNamespaces) {
  std::vector<Rule> rules = ingress("[{from: [{namespaceSelector: {matchLabels: {team: a}}}]}]");
  ASSERT_EQ(rules.size(), 1u);
  ASSERT_TRUE(rules[0].source.selector.has_value());
  const EndpointSelector& s = *rules[0].source.selector;
  EXPECT_EQ(s.dialect, Dialect::Kubernetes);
  EXPECT_TRUE(s.selector.is_all());
  EXPECT_EQ(s.scope.kind, Scope::Kind::Namespaces);
  EXPECT_EQ(s.scope.namespace_selector.to_string(), canon("team == 'a'"));
  EXPECT_FALSE(s.scope.network_sets);
  EXPECT_FALSE(s.scope.host_endpoints);
}

TEST(DecodeK8s, EmptyNamespaceSelectorSelectsEveryNamespace) {
  std::vector<Rule> rules = ingress("[{from: [{namespaceSelector: {}}]}]");
  ASSERT_EQ(rules.size(), 1u);
  const EndpointSelector& s = rules[0].source.selector.value();
  EXPECT_EQ(s.scope.kind, Scope::Kind::Namespaces);
  EXPECT_TRUE(s.scope.namespace_selector.is_all());
  EXPECT_TRUE(s.selector.is_all());
}

TEST(DecodeK8s, PodAndNamespaceSelectorTogetherSelectThosePodsOfThoseNamespaces) {
  std::vector<Rule> rules = ingress(
      "[{from: [{namespaceSelector: {matchLabels: {team: a}}, podSelector: {matchLabels: {app: "
      "web}}}]}]");
  ASSERT_EQ(rules.size(), 1u);
  const EndpointSelector& s = rules[0].source.selector.value();
  EXPECT_EQ(s.selector.to_string(), canon("app == 'web'"));
  EXPECT_EQ(s.scope.kind, Scope::Kind::Namespaces);
  EXPECT_EQ(s.scope.namespace_selector.to_string(), canon("team == 'a'"));
  EXPECT_TRUE(s.scope.ns.empty());
}

TEST(DecodeK8s, IpBlockIsItsCidrMinusItsExcepts) {
  std::vector<Rule> rules =
      ingress("[{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.3.0/24]}}]}]");
  ASSERT_EQ(rules.size(), 1u);
  const PeerMatch& src = rules[0].source;
  EXPECT_EQ(src.nets, std::vector<Cidr>{net("10.0.0.0/8")});
  EXPECT_EQ(src.not_nets, (std::vector<Cidr>{net("10.1.0.0/16"), net("10.2.3.0/24")}));
  EXPECT_FALSE(src.selector.has_value());
}

TEST(DecodeK8s, IpBlockAcceptsIpv6) {
  std::vector<Rule> rules =
      ingress("[{from: [{ipBlock: {cidr: 'fd00::/8', except: ['fd00:1::/32']}}]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].source.nets, std::vector<Cidr>{net("fd00::/8")});
  EXPECT_EQ(rules[0].source.not_nets, std::vector<Cidr>{net("fd00:1::/32")});
}

TEST(DecodeK8s, IpBlockExceptOutsideTheCidrIsRejected) {
  Error e = ingress_error(
      "[{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, "
      "192.168.0.0/16]}}]}]");
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.ingress[0].from[0].ipBlock.except[1]");
  EXPECT_NE(e.message.find("192.168.0.0/16"), std::string::npos) << e.message;
}

TEST(DecodeK8s, IpBlockExceptEqualToTheCidrIsRejected) {
  Error e = ingress_error("[{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]}]");
  EXPECT_EQ(e.field, "spec.ingress[0].from[0].ipBlock.except[0]");
}

TEST(DecodeK8s, IpBlockExceptOfTheOtherFamilyIsRejected) {
  Error e = ingress_error("[{from: [{ipBlock: {cidr: 10.0.0.0/8, except: ['fd00::/16']}}]}]");
  EXPECT_EQ(e.field, "spec.ingress[0].from[0].ipBlock.except[0]");
}

TEST(DecodeK8s, IpBlockWithABadCidrIsRejected) {
  Error e = ingress_error("[{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]");
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.ingress[0].from[0].ipBlock.cidr");
  EXPECT_NE(e.message.find("not a CIDR"), std::string::npos) << e.message;
}

TEST(DecodeK8s, IpBlockCombinedWithPodSelectorIsRejected) {
  Error e = ingress_error(
      "[{from: [{podSelector: {}}, {ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]");
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.ingress[0].from[1]");
  EXPECT_NE(e.message.find("ipBlock"), std::string::npos) << e.message;
}

TEST(DecodeK8s, IpBlockCombinedWithNamespaceSelectorIsRejected) {
  Error e = ingress_error("[{from: [{ipBlock: {cidr: 10.0.0.0/8}, namespaceSelector: {}}]}]");
  EXPECT_EQ(e.field, "spec.ingress[0].from[0]");
}

TEST(DecodeK8s, PeerWithNoSelectorAndNoIpBlockIsRejected) {
  Error e = ingress_error("[{from: [{}]}]");
  EXPECT_EQ(e.field, "spec.ingress[0].from[0]");
  EXPECT_NE(e.message.find("needs"), std::string::npos) << e.message;
}

// --- Ports ---------------------------------------------------------------------------------

TEST(DecodeK8s, PortProtocolDefaultsToTcp) {
  std::vector<Rule> rules = ingress("[{ports: [{port: 8080}]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].protocols, std::vector<uint8_t>{ipproto::kTcp});
}

TEST(DecodeK8s, PortProtocolMayBeUdpOrSctp) {
  std::vector<Rule> rules = ingress(
      "[{ports: [{protocol: UDP, port: 53}, {protocol: SCTP, port: 9999}, "
      "{protocol: TCP, port: 1}]}]");
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].protocols, std::vector<uint8_t>{ipproto::kUdp});
  EXPECT_EQ(rules[1].protocols, std::vector<uint8_t>{ipproto::kSctp});
  EXPECT_EQ(rules[2].protocols, std::vector<uint8_t>{ipproto::kTcp});
}

TEST(DecodeK8s, IcmpProtocolIsRejected) {
  Error e = ingress_error("[{ports: [{protocol: ICMP}]}]");
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.ingress[0].ports[0].protocol");
  EXPECT_NE(e.message.find("ICMP"), std::string::npos) << e.message;
}

TEST(DecodeK8s, UnknownProtocolIsRejected) {
  Error e = ingress_error("[{ports: [{port: 80}, {protocol: QUIC, port: 443}]}]");
  EXPECT_EQ(e.field, "spec.ingress[0].ports[1].protocol");
}

// The Kubernetes API accepts exactly "TCP", "UDP" and "SCTP" (validation is case-sensitive).
TEST(DecodeK8s, ProtocolNamesAreCaseSensitiveAsInTheKubernetesApi) {
  Error e = ingress_error("[{ports: [{protocol: tcp, port: 80}]}]");
  EXPECT_EQ(e.field, "spec.ingress[0].ports[0].protocol");
}

TEST(DecodeK8s, PortMayBeANumberOrAName) {
  std::vector<Rule> rules = ingress("[{ports: [{port: 80}, {port: http}]}]");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].destination.ports.ranges, (std::vector<PortRange>{{80, 80}}));
  EXPECT_TRUE(rules[0].destination.ports.names.empty());
  EXPECT_TRUE(rules[1].destination.ports.ranges.empty());
  EXPECT_EQ(rules[1].destination.ports.names, std::vector<std::string>{"http"});
  EXPECT_EQ(rules[1].protocols, std::vector<uint8_t>{ipproto::kTcp});
}

TEST(DecodeK8s, PortEntryWithoutPortMatchesEveryPortOfItsProtocol) {
  std::vector<Rule> rules = ingress("[{ports: [{protocol: UDP}]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].protocols, std::vector<uint8_t>{ipproto::kUdp});
  EXPECT_TRUE(rules[0].destination.ports.empty());
}

TEST(DecodeK8s, EndPortMakesARange) {
  std::vector<Rule> rules = ingress("[{ports: [{port: 32000, endPort: 32768}]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].destination.ports.ranges, (std::vector<PortRange>{{32000, 32768}}));
}

TEST(DecodeK8s, EndPortEqualToPortIsOnePort) {
  std::vector<Rule> rules = ingress("[{ports: [{port: 80, endPort: 80}]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].destination.ports.ranges, (std::vector<PortRange>{{80, 80}}));
}

TEST(DecodeK8s, EndPortBelowPortIsRejected) {
  Error e = ingress_error("[{ports: [{port: 9000, endPort: 8000}]}]");
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.ingress[0].ports[0].endPort");
  EXPECT_NE(e.message.find("below"), std::string::npos) << e.message;
}

TEST(DecodeK8s, EndPortWithANamedPortIsRejected) {
  Error e = ingress_error("[{ports: [{port: http, endPort: 8080}]}]");
  EXPECT_EQ(e.field, "spec.ingress[0].ports[0].endPort");
  EXPECT_NE(e.message.find("http"), std::string::npos) << e.message;
}

TEST(DecodeK8s, EndPortWithoutPortIsRejected) {
  Error e = ingress_error("[{ports: [{endPort: 8080}]}]");
  EXPECT_EQ(e.field, "spec.ingress[0].ports[0].endPort");
}

TEST(DecodeK8s, PortOutsideOneTo65535IsRejected) {
  EXPECT_EQ(ingress_error("[{ports: [{port: 0}]}]").field, "spec.ingress[0].ports[0].port");
  EXPECT_EQ(ingress_error("[{ports: [{port: 65536}]}]").field, "spec.ingress[0].ports[0].port");
  EXPECT_EQ(ingress_error("[{ports: [{port: 80, endPort: 65536}]}]").field,
            "spec.ingress[0].ports[0].endPort");
}

// --- Strictness and error reports ----------------------------------------------------------

TEST(DecodeK8s, MisspeltExceptIsAnUnknownFieldWithItsExactPathAndLine) {
  Error e = decode_error(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: prod}
spec:
  podSelector: {}
  ingress:
    - from:
        - ipBlock:
            cidr: 10.0.0.0/8
            excpet: [10.1.0.0/16]
)");
  EXPECT_EQ(e.code, ErrorCode::UnknownField);
  EXPECT_EQ(e.field, "spec.ingress[0].from[0].ipBlock.excpet");
  EXPECT_EQ(e.source, "test.yaml:10");
  EXPECT_EQ(e.object, "NetworkPolicy prod/web");
  EXPECT_EQ(e.to_string().rfind("test.yaml:10: NetworkPolicy prod/web: "
                                "spec.ingress[0].from[0].ipBlock.excpet: ",
                                0),
            0u)
      << e.to_string();
}

TEST(DecodeK8s, MisspeltIngressIsAnUnknownField) {
  Error e = decode_error(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db
  namespace: data
spec:
  podSelector: {}
  ingres: [{}]
)");
  EXPECT_EQ(e.code, ErrorCode::UnknownField);
  EXPECT_EQ(e.field, "spec.ingres");
  EXPECT_EQ(e.source, "test.yaml:8");
  EXPECT_EQ(e.object, "NetworkPolicy data/db");
}

TEST(DecodeK8s, UnknownFieldsInRulesPeersAndPortsAreRejected) {
  EXPECT_EQ(ingress_error("[{form: [{podSelector: {}}]}]").field, "spec.ingress[0].form");
  EXPECT_EQ(ingress_error("[{from: [{podSelector: {}, nsSelector: {}}]}]").field,
            "spec.ingress[0].from[0].nsSelector");
  EXPECT_EQ(ingress_error("[{ports: [{port: 80, protocl: UDP}]}]").field,
            "spec.ingress[0].ports[0].protocl");
  EXPECT_EQ(ingress_error("[{from: [{podSelector: {matchLabel: {a: b}}}]}]").field,
            "spec.ingress[0].from[0].podSelector.matchLabel");
  // `to` belongs to egress rules only.
  Error e = ingress_error("[{to: [{podSelector: {}}]}]");
  EXPECT_EQ(e.code, ErrorCode::UnknownField);
  EXPECT_EQ(e.field, "spec.ingress[0].to");
}

TEST(DecodeK8s, ErrorsInEgressRulesNameTheEgressPath) {
  Error e =
      decode_error(knp("{podSelector: {}, egress: [{}, {to: [{ipBlock: {cidr: nonsense}}]}]}"));
  EXPECT_EQ(e.field, "spec.egress[1].to[0].ipBlock.cidr");
  EXPECT_EQ(e.source, "test.yaml:1");
}

}  // namespace
}  // namespace palisade::policy
