// cilium.io/v2 CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy decoding
// (docs/semantics.md, "Cilium").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/decode.h"
#include "tests/policy/builders.h"

namespace palisade::policy {

namespace {

using testing::decode_error;
using testing::object;
using testing::policies;

// A CiliumNetworkPolicy `web` in `prod`, and a CiliumClusterwideNetworkPolicy `wide`.
std::string cnp(const std::string& spec,
                const std::string& metadata = "{name: web, namespace: prod}") {
  return "{apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: " + metadata +
         ", spec: " + spec + "}";
}
std::string ccnp(const std::string& spec) {
  return "{apiVersion: cilium.io/v2, kind: CiliumClusterwideNetworkPolicy, metadata: {name: "
         "wide}, spec: " +
         spec + "}";
}

Policy one(const std::string& yaml) {
  std::vector<Policy> ps = policies(yaml);
  EXPECT_EQ(ps.size(), 1u);
  return ps.empty() ? Policy{} : ps[0];
}

// The rules of a CNP selecting every pod, with these ingress (egress) rules.
std::vector<Rule> ingress(const std::string& rules) {
  return one(cnp("{endpointSelector: {}, ingress: " + rules + "}")).ingress;
}
std::vector<Rule> egress(const std::string& rules) {
  return one(cnp("{endpointSelector: {}, egress: " + rules + "}")).egress;
}
std::vector<Rule> ccnp_ingress(const std::string& rules) {
  return one(ccnp("{endpointSelector: {}, ingress: " + rules + "}")).ingress;
}
Error ingress_error(const std::string& rules) {
  return decode_error(cnp("{endpointSelector: {}, ingress: " + rules + "}"));
}
Error egress_error(const std::string& rules) {
  return decode_error(cnp("{endpointSelector: {}, egress: " + rules + "}"));
}

std::string canon(const std::string& selector) {
  Result<Selector> s = Selector::parse(selector);
  EXPECT_TRUE(s.has_value()) << selector;
  return s ? s->to_string() : "";
}

Cidr net(const std::string& text) { return Cidr::parse(text).value(); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool unconstrained(const PeerMatch& p) {
  return p.nets.empty() && p.not_nets.empty() && !p.selector && !p.not_selector && !p.entities &&
         !p.fqdns && !p.matches_nothing && p.ports.empty() && p.not_ports.empty();
}

const std::vector<uint8_t> kTcpUdpSctp{ipproto::kTcp, ipproto::kUdp, ipproto::kSctp};

// --- The policy as a whole -----------------------------------------------------------------

TEST(DecodeCilium, NamespacedPolicyIsDefaultTierOrder1000NamedCnp) {
  Object o = object(cnp("{endpointSelector: {matchLabels: {app: web}}, ingress: [{}]}"));
  EXPECT_EQ(o.key.kind, "CiliumNetworkPolicy");
  EXPECT_EQ(o.key.ns, "prod");
  const auto& ps = std::get<std::vector<Policy>>(o.body);
  ASSERT_EQ(ps.size(), 1u);
  const Policy& p = ps[0];
  EXPECT_EQ(p.kind, PolicyKind::CiliumNetworkPolicy);
  EXPECT_EQ(p.ns, "prod");
  EXPECT_EQ(p.name, "web");
  EXPECT_EQ(p.display_name, "cnp.web");
  EXPECT_EQ(p.qualified_name(), "prod/cnp.web");
  EXPECT_EQ(p.tier, "default");
  EXPECT_EQ(p.order, 1000);
  EXPECT_EQ(p.band, 1);
  EXPECT_EQ(p.source, "test.yaml:1");
}

TEST(DecodeCilium, ClusterwidePolicyIsNamedCcnpWithoutNamespace) {
  Object o = object(ccnp("{endpointSelector: {}, ingress: [{}]}"));
  EXPECT_EQ(o.key.kind, "CiliumClusterwideNetworkPolicy");
  EXPECT_EQ(o.key.ns, "");
  const Policy& p = std::get<std::vector<Policy>>(o.body).at(0);
  EXPECT_EQ(p.kind, PolicyKind::CiliumClusterwideNetworkPolicy);
  EXPECT_EQ(p.ns, "");
  EXPECT_EQ(p.display_name, "ccnp.wide");
  EXPECT_EQ(p.qualified_name(), "ccnp.wide");
  EXPECT_EQ(p.order, 1000);
}

TEST(DecodeCilium, MissingSpecAndSpecsIsMissingField) {
  Error e = decode_error(
      "{apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: {name: "
      "web, namespace: prod}}");
  EXPECT_EQ(e.code, ErrorCode::MissingField);
  EXPECT_EQ(e.object, "CiliumNetworkPolicy prod/web");
}

TEST(DecodeCilium, MissingEndpointSelectorIsMissingField) {
  Error e = decode_error(cnp("{ingress: [{}]}"));
  EXPECT_EQ(e.code, ErrorCode::MissingField);
  EXPECT_EQ(e.field, "spec.endpointSelector");
}

TEST(DecodeCilium, SpecsListLowersEverySpec) {
  std::vector<Policy> ps = policies(
      "{apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: {name: multi, namespace: "
      "prod}, specs: [{endpointSelector: {matchLabels: {app: a}}, ingress: [{}]},"
      " {endpointSelector: {matchLabels: {app: b}}, egress: [{}, {}]}]}");
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].applies_to.selector.to_string(), canon("app == 'a'"));
  EXPECT_EQ(ps[0].ingress.size(), 1u);
  EXPECT_TRUE(ps[0].types_ingress);
  EXPECT_FALSE(ps[0].types_egress);
  EXPECT_EQ(ps[1].applies_to.selector.to_string(), canon("app == 'b'"));
  EXPECT_EQ(ps[1].egress.size(), 2u);
  EXPECT_EQ(ps[1].egress[1].origin, "specs[1].egress[1]");
  EXPECT_FALSE(ps[1].types_ingress);
  EXPECT_TRUE(ps[1].types_egress);
  for (const Policy& p : ps) {
    EXPECT_EQ(p.display_name, "cnp.multi");
  }
}

TEST(DecodeCilium, NodeSelectorIsUnsupported) {
  Error e = decode_error(ccnp("{nodeSelector: {matchLabels: {role: worker}}, ingress: [{}]}"));
  EXPECT_EQ(e.code, ErrorCode::Unsupported);
  EXPECT_EQ(e.field, "spec.nodeSelector");
  EXPECT_EQ(e.object, "CiliumClusterwideNetworkPolicy wide");
}

// --- endpointSelector ----------------------------------------------------------------------

TEST(DecodeCilium, EndpointSelectorOfANamespacedPolicyStaysInItsNamespace) {
  Policy p = one(cnp("{endpointSelector: {matchLabels: {app: web}}}"));
  EXPECT_EQ(p.applies_to.dialect, Dialect::Cilium);
  EXPECT_EQ(p.applies_to.selector.to_string(), canon("app == 'web'"));
  EXPECT_EQ(p.applies_to.scope.kind, Scope::Kind::Namespace);
  EXPECT_EQ(p.applies_to.scope.ns, "prod");
  EXPECT_FALSE(p.applies_to.scope.network_sets);
  EXPECT_FALSE(p.applies_to.scope.host_endpoints);
}

TEST(DecodeCilium, EndpointSelectorOfANamespacedPolicyStaysInItsNamespaceEvenNamingAnother) {
  Policy p =
      one(cnp("{endpointSelector: {matchLabels: {'k8s:io.kubernetes.pod.namespace': "
              "other}}}"));
  EXPECT_EQ(p.applies_to.scope.kind, Scope::Kind::Namespace);
  EXPECT_EQ(p.applies_to.scope.ns, "prod");
}

TEST(DecodeCilium, EndpointSelectorOfAClusterwidePolicySpansAllNamespaces) {
  Policy p = one(ccnp("{endpointSelector: {matchLabels: {app: web}}}"));
  EXPECT_EQ(p.applies_to.dialect, Dialect::Cilium);
  EXPECT_EQ(p.applies_to.scope.kind, Scope::Kind::AnyNamespace);
  EXPECT_FALSE(p.applies_to.scope.host_endpoints);
  EXPECT_FALSE(p.applies_to.scope.network_sets);
}

TEST(DecodeCilium, LabelSourcePrefixesAreStripped) {
  Policy p =
      one(cnp("{endpointSelector: {matchLabels: {'k8s:app': web, 'any:tier': fe}, "
              "matchExpressions: [{key: 'k8s:env', operator: In, values: [prod]}]}}"));
  const Selector& s = p.applies_to.selector;
  EXPECT_TRUE(s.matches({{"app", "web"}, {"tier", "fe"}, {"env", "prod"}}));
  EXPECT_FALSE(s.matches({{"k8s:app", "web"}, {"any:tier", "fe"}, {"k8s:env", "prod"}}));
  EXPECT_FALSE(s.mentions_key("k8s:app"));
}

TEST(DecodeCilium, ReservedIdentityAsEndpointSelectorIsUnsupported) {
  Error e = decode_error(cnp("{endpointSelector: {matchLabels: {'reserved:host': ''}}}"));
  EXPECT_EQ(e.code, ErrorCode::Unsupported);
  EXPECT_EQ(e.field, "spec.endpointSelector");
}

// --- fromEndpoints / toEndpoints -----------------------------------------------------------

TEST(DecodeCilium, FromEndpointsOfANamespacedPolicyAreLimitedToItsNamespace) {
  std::vector<Rule> rules = ingress("[{fromEndpoints: [{matchLabels: {'k8s:app': client}}]}]");
  ASSERT_EQ(rules.size(), 1u);
  ASSERT_TRUE(rules[0].source.selector.has_value());
  const EndpointSelector& s = *rules[0].source.selector;
  EXPECT_EQ(s.dialect, Dialect::Cilium);
  EXPECT_EQ(s.selector.to_string(), canon("app == 'client'"));
  EXPECT_EQ(s.scope.kind, Scope::Kind::Namespace);
  EXPECT_EQ(s.scope.ns, "prod");
  EXPECT_FALSE(s.scope.network_sets);
  EXPECT_FALSE(s.scope.host_endpoints);
  EXPECT_EQ(rules[0].action, Action::Allow);
  EXPECT_EQ(rules[0].origin, "spec.ingress[0]");
}

TEST(DecodeCilium, FromEndpointsNamingTheNamespaceLabelSpanNamespaces) {
  std::vector<Rule> rules = ingress(
      "[{fromEndpoints: [{matchLabels: {'k8s:io.kubernetes.pod.namespace': monitoring, app: "
      "prom}}, {matchExpressions: [{key: 'any:io.kubernetes.pod.namespace', operator: In, "
      "values: [a, b]}]}]}]");
  ASSERT_EQ(rules.size(), 2u);
  for (const Rule& r : rules) {
    ASSERT_TRUE(r.source.selector.has_value());
    EXPECT_EQ(r.source.selector->scope.kind, Scope::Kind::AnyNamespace);
  }
  EXPECT_EQ(rules[0].source.selector->selector.to_string(),
            canon("app == 'prom' && io.kubernetes.pod.namespace == 'monitoring'"));
  EXPECT_TRUE(rules[1].source.selector->selector.matches({{"io.kubernetes.pod.namespace", "b"}}));
}

TEST(DecodeCilium, EmptyEndpointSelectorMeansEveryPodOfThePolicyNamespace) {
  std::vector<Rule> rules = ingress("[{fromEndpoints: [{}]}]");
  ASSERT_EQ(rules.size(), 1u);
  ASSERT_TRUE(rules[0].source.selector.has_value());
  EXPECT_TRUE(rules[0].source.selector->selector.is_all());
  EXPECT_EQ(rules[0].source.selector->scope.kind, Scope::Kind::Namespace);
  EXPECT_EQ(rules[0].source.selector->scope.ns, "prod");
}

TEST(DecodeCilium, EndpointSelectorsOfAClusterwidePolicySpanAllNamespaces) {
  std::vector<Rule> rules = ccnp_ingress("[{fromEndpoints: [{}, {matchLabels: {app: x}}]}]");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].source.selector->scope.kind, Scope::Kind::AnyNamespace);
  EXPECT_TRUE(rules[0].source.selector->selector.is_all());
  EXPECT_EQ(rules[1].source.selector->scope.kind, Scope::Kind::AnyNamespace);
}

TEST(DecodeCilium, ToEndpointsAreTheDestination) {
  std::vector<Rule> rules = egress("[{toEndpoints: [{matchLabels: {app: db}}]}]");
  ASSERT_EQ(rules.size(), 1u);
  ASSERT_TRUE(rules[0].destination.selector.has_value());
  EXPECT_EQ(rules[0].destination.selector->selector.to_string(), canon("app == 'db'"));
  EXPECT_EQ(rules[0].destination.selector->scope.ns, "prod");
  EXPECT_TRUE(unconstrained(rules[0].source));
  EXPECT_EQ(rules[0].origin, "spec.egress[0]");
}

TEST(DecodeCilium, ReservedHostLabelIsTheHostEntity) {
  std::vector<Rule> rules = ingress("[{fromEndpoints: [{matchLabels: {'reserved:host': ''}}]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_FALSE(rules[0].source.selector.has_value());
  ASSERT_TRUE(rules[0].source.entities.has_value());
  EXPECT_EQ(*rules[0].source.entities, std::vector<Entity>{Entity::Host});
}

TEST(DecodeCilium, ReservedLabelWithOtherLabelsIsUnsupported) {
  Error e = ingress_error("[{fromEndpoints: [{matchLabels: {'reserved:host': '', app: x}}]}]");
  EXPECT_EQ(e.code, ErrorCode::Unsupported);
  EXPECT_EQ(e.field, "spec.ingress[0].fromEndpoints[0]");
  Error unknown =
      ingress_error("[{fromEndpoints: [{matchLabels: {'reserved:kube-apiserver': ''}}]}]");
  EXPECT_EQ(unknown.code, ErrorCode::Unsupported);
  EXPECT_TRUE(contains(unknown.message, "reserved:kube-apiserver")) << unknown.message;
}

// --- CIDR peers ----------------------------------------------------------------------------

TEST(DecodeCilium, FromCidrAndFromCidrSetAreAlternativePeers) {
  std::vector<Rule> rules = ingress(
      "[{fromCIDR: [10.0.0.0/8, 192.168.1.1/32], fromCIDRSet: [{cidr: 172.16.0.0/12, except: "
      "[172.16.1.0/24, 172.16.2.0/24]}]}]");
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].source.nets, std::vector<Cidr>{net("10.0.0.0/8")});
  EXPECT_EQ(rules[1].source.nets, std::vector<Cidr>{net("192.168.1.1/32")});
  EXPECT_TRUE(rules[1].source.not_nets.empty());
  EXPECT_EQ(rules[2].source.nets, std::vector<Cidr>{net("172.16.0.0/12")});
  EXPECT_EQ(rules[2].source.not_nets,
            (std::vector<Cidr>{net("172.16.1.0/24"), net("172.16.2.0/24")}));
  for (const Rule& r : rules) {
    EXPECT_EQ(r.origin, "spec.ingress[0]");
  }
}

// Cilium's CIDR rules select only addresses outside the cluster ("CIDR rules do not apply to
// traffic where both sides of the connection are either managed by Cilium or use an IP
// belonging to a node in the cluster"): every CIDR peer is its prefixes within world.
TEST(DecodeCilium, CidrPeersSelectOnlyTheWorld) {
  std::vector<Rule> in = ingress("[{fromCIDR: [10.0.0.0/8], fromCIDRSet: [{cidr: 10.0.0.0/8}]}]");
  std::vector<Rule> out = egress("[{toCIDR: [10.0.0.0/8], toCIDRSet: [{cidr: 10.0.0.0/8}]}]");
  ASSERT_EQ(in.size(), 2u);
  ASSERT_EQ(out.size(), 2u);
  for (const Rule& r : in) {
    EXPECT_EQ(r.source.entities, std::vector<Entity>{Entity::World});
  }
  for (const Rule& r : out) {
    EXPECT_EQ(r.destination.entities, std::vector<Entity>{Entity::World});
  }
}

// The agent's policy-cidr-match-mode `nodes` (the node file's policy.cilium_cidr_match_mode):
// CIDR peers select node addresses too, the host and remote-node entities.
TEST(DecodeCilium, CidrPeersSelectNodesInTheNodesMatchMode) {
  DecodeOptions options{"test.yaml", true};
  options.cilium_cidr_matches_nodes = true;
  Decoded d = decode_document(
      YAML::Load(cnp("{endpointSelector: {}, egress: [{toCIDR: [10.0.0.0/8]}, {toCIDRSet: "
                     "[{cidr: 10.0.0.0/8}]}]}")),
      options);
  ASSERT_TRUE(d.object) << d.object.error().to_string();
  const auto& rules = std::get<std::vector<Policy>>(d.object.value().body).at(0).egress;
  ASSERT_EQ(rules.size(), 2u);
  for (const Rule& r : rules) {
    EXPECT_EQ(r.destination.entities,
              (std::vector<Entity>{Entity::World, Entity::Host, Entity::RemoteNode}));
  }
}

TEST(DecodeCilium, ToCidrAndToCidrSetAreTheDestination) {
  std::vector<Rule> rules = egress(
      "[{toCIDR: ['2001:db8::/32']}, {toCIDRSet: [{cidr: 0.0.0.0/0, except: [10.0.0.0/8]}]}]");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].destination.nets, std::vector<Cidr>{net("2001:db8::/32")});
  EXPECT_EQ(rules[1].destination.nets, std::vector<Cidr>{net("0.0.0.0/0")});
  EXPECT_EQ(rules[1].destination.not_nets, std::vector<Cidr>{net("10.0.0.0/8")});
  EXPECT_EQ(rules[1].origin, "spec.egress[1]");
}

TEST(DecodeCilium, BadCidrIsRejectedAtItsIndex) {
  EXPECT_EQ(ingress_error("[{fromCIDR: [10.0.0.0/8, 10.0.0.0/40]}]").field,
            "spec.ingress[0].fromCIDR[1]");
  EXPECT_EQ(egress_error("[{toCIDRSet: [{cidr: 10.0.0.0/8, except: [x]}]}]").field,
            "spec.egress[0].toCIDRSet[0].except[0]");
  EXPECT_EQ(egress_error("[{toCIDRSet: [{cidrGroupRef: partners}]}]").code, ErrorCode::Unsupported);
}

// Cilium's CIDRRule.sanitize: "allow CIDR prefix ... does not contain exclude CIDR prefix".
TEST(DecodeCilium, CidrSetExceptOutsideTheCidrIsRejected) {
  Error e = ingress_error("[{fromCIDRSet: [{cidr: 10.0.0.0/8, except: [192.168.0.0/16]}]}]");
  EXPECT_EQ(e.field, "spec.ingress[0].fromCIDRSet[0].except[0]");
}

// --- Entities ------------------------------------------------------------------------------

TEST(DecodeCilium, EntitiesAreOnePeerOfAnyOfThem) {
  std::vector<Rule> rules =
      ingress("[{fromEntities: [world, cluster, host, remote-node, all, world-ipv4]}]");
  ASSERT_EQ(rules.size(), 1u);
  ASSERT_TRUE(rules[0].source.entities.has_value());
  EXPECT_EQ(*rules[0].source.entities,
            (std::vector<Entity>{Entity::World, Entity::Cluster, Entity::Host, Entity::RemoteNode,
                                 Entity::All, Entity::World}));
  std::vector<Rule> out = egress("[{toEntities: [world]}]");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].destination.entities, std::vector<Entity>{Entity::World});
}

TEST(DecodeCilium, UnknownEntityIsUnsupported) {
  Error e = ingress_error("[{fromEntities: [cluster, kube-apiserver]}]");
  EXPECT_EQ(e.code, ErrorCode::Unsupported);
  EXPECT_EQ(e.field, "spec.ingress[0].fromEntities[1]");
  EXPECT_TRUE(contains(e.message, "kube-apiserver")) << e.message;
  EXPECT_EQ(egress_error("[{toEntities: [everything]}]").field, "spec.egress[0].toEntities[0]");
}

// --- Empty and missing L3 parts ------------------------------------------------------------

TEST(DecodeCilium, EmptyL3ListAloneProducesNoRule) {
  Policy p =
      one(cnp("{endpointSelector: {}, ingress: [{fromEntities: []}, {fromEndpoints: []},"
              " {fromCIDR: [], toPorts: [{ports: [{port: '80'}]}]}]}"));
  EXPECT_TRUE(p.ingress.empty());
  EXPECT_TRUE(p.types_ingress);  // the ingress list itself is not empty: it isolates
  EXPECT_TRUE(p.isolates_ingress);
}

TEST(DecodeCilium, EmptyL3ListBesideAnotherKeepsTheOther) {
  std::vector<Rule> rules = ingress("[{fromEntities: [], fromCIDR: [10.0.0.0/8]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].source.nets, std::vector<Cidr>{net("10.0.0.0/8")});
  // The CIDR's own scope (world), not the empty entity list, which would match nothing.
  EXPECT_EQ(rules[0].source.entities, std::vector<Entity>{Entity::World});
}

TEST(DecodeCilium, RuleWithOnlyToPortsHasAnUnconstrainedPeer) {
  std::vector<Rule> rules = ingress("[{toPorts: [{ports: [{port: '443', protocol: TCP}]}]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_TRUE(unconstrained(rules[0].source));
  EXPECT_EQ(rules[0].protocols, std::vector<uint8_t>{ipproto::kTcp});
  EXPECT_EQ(rules[0].destination.ports.ranges, (std::vector<PortRange>{{443, 443}}));
}

TEST(DecodeCilium, EmptyRuleMatchesEverything) {
  std::vector<Rule> rules = ingress("[{}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].action, Action::Allow);
  EXPECT_TRUE(rules[0].protocols.empty());
  EXPECT_TRUE(unconstrained(rules[0].source));
  EXPECT_TRUE(unconstrained(rules[0].destination));
}

// --- toPorts -------------------------------------------------------------------------------

TEST(DecodeCilium, ToPortsPortAndProtocol) {
  std::vector<Rule> rules = ingress(
      "[{toPorts: [{ports: [{port: '80', protocol: TCP}, {port: '53', protocol: UDP}, "
      "{port: '9999', protocol: SCTP}]}]}]");
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].protocols, std::vector<uint8_t>{ipproto::kTcp});
  EXPECT_EQ(rules[0].destination.ports.ranges, (std::vector<PortRange>{{80, 80}}));
  EXPECT_EQ(rules[1].protocols, std::vector<uint8_t>{ipproto::kUdp});
  EXPECT_EQ(rules[1].destination.ports.ranges, (std::vector<PortRange>{{53, 53}}));
  EXPECT_EQ(rules[2].protocols, std::vector<uint8_t>{ipproto::kSctp});
}

TEST(DecodeCilium, ProtocolAnyOrMissingMeansTcpUdpAndSctp) {
  std::vector<Rule> rules =
      ingress("[{toPorts: [{ports: [{port: '8080', protocol: ANY}, {port: '8081'}]}]}]");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].protocols, kTcpUdpSctp);
  EXPECT_EQ(rules[1].protocols, kTcpUdpSctp);
  EXPECT_EQ(rules[1].destination.ports.ranges, (std::vector<PortRange>{{8081, 8081}}));
}

TEST(DecodeCilium, ToPortsEntryWithoutPortsMeansEveryPortOfEveryProtocol) {
  std::vector<Rule> rules = ingress("[{toPorts: [{}]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].protocols, kTcpUdpSctp);
  EXPECT_TRUE(rules[0].destination.ports.empty());
}

TEST(DecodeCilium, BadToPortsProtocolIsRejected) {
  Error e = ingress_error("[{toPorts: [{ports: [{port: '80', protocol: ICMP}]}]}]");
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.ingress[0].toPorts[0].ports[0].protocol");
  EXPECT_EQ(ingress_error("[{toPorts: [{ports: [{port: '80', protocol: tcp}]}]}]").field,
            "spec.ingress[0].toPorts[0].ports[0].protocol");
}

TEST(DecodeCilium, EndPortMakesARange) {
  std::vector<Rule> rules =
      ingress("[{toPorts: [{ports: [{port: '8000', endPort: 8100, protocol: TCP}]}]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].destination.ports.ranges, (std::vector<PortRange>{{8000, 8100}}));
}

TEST(DecodeCilium, EndPortBelowPortIsRejected) {
  Error e = ingress_error("[{toPorts: [{ports: [{port: '8000', endPort: 7000}]}]}]");
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.ingress[0].toPorts[0].ports[0].endPort");
}

TEST(DecodeCilium, PortZeroMeansAllPorts) {
  std::vector<Rule> rules = ingress("[{toPorts: [{ports: [{port: '0', protocol: UDP}]}]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].protocols, std::vector<uint8_t>{ipproto::kUdp});
  EXPECT_TRUE(rules[0].destination.ports.empty());
}

TEST(DecodeCilium, PortMayBeNamed) {
  std::vector<Rule> rules = ingress("[{toPorts: [{ports: [{port: http-alt, protocol: TCP}]}]}]");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_TRUE(rules[0].destination.ports.ranges.empty());
  EXPECT_EQ(rules[0].destination.ports.names, std::vector<std::string>{"http-alt"});
}

TEST(DecodeCilium, PortOutOfRangeIsRejected) {
  EXPECT_EQ(ingress_error("[{toPorts: [{ports: [{port: '65536'}]}]}]").field,
            "spec.ingress[0].toPorts[0].ports[0].port");
}

TEST(DecodeCilium, RuleIsCrossProductOfL3PeersAndL4Alternatives) {
  std::vector<Rule> rules = ingress(
      "[{fromEndpoints: [{matchLabels: {app: a}}, {matchLabels: {app: b}}],"
      "  toPorts: [{ports: [{port: '80', protocol: TCP}, {port: '53', protocol: UDP}]}]}]");
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules[0].source.selector->selector.to_string(), canon("app == 'a'"));
  EXPECT_EQ(rules[0].protocols, std::vector<uint8_t>{ipproto::kTcp});
  EXPECT_EQ(rules[1].source.selector->selector.to_string(), canon("app == 'a'"));
  EXPECT_EQ(rules[1].protocols, std::vector<uint8_t>{ipproto::kUdp});
  EXPECT_EQ(rules[2].source.selector->selector.to_string(), canon("app == 'b'"));
  EXPECT_EQ(rules[3].destination.ports.ranges, (std::vector<PortRange>{{53, 53}}));
  for (const Rule& r : rules) {
    EXPECT_EQ(r.origin, "spec.ingress[0]");
  }
}

// --- ICMP ----------------------------------------------------------------------------------

TEST(DecodeCilium, IcmpFieldsBecomeIcmpRulesOfTheirFamily) {
  std::vector<Rule> rules =
      ingress("[{icmps: [{fields: [{type: 8}, {type: 128, family: IPv6}]}]}]");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].protocols, std::vector<uint8_t>{ipproto::kIcmp});
  ASSERT_TRUE(rules[0].icmp.has_value());
  EXPECT_EQ(rules[0].icmp->type, 8);
  EXPECT_FALSE(rules[0].icmp->code.has_value());
  EXPECT_EQ(rules[1].protocols, std::vector<uint8_t>{ipproto::kIcmpV6});
  EXPECT_EQ(rules[1].icmp->type, 128);
}

TEST(DecodeCilium, BadIcmpFamilyIsRejected) {
  Error e = ingress_error("[{icmps: [{fields: [{type: 8, family: IPv5}]}]}]");
  EXPECT_EQ(e.field, "spec.ingress[0].icmps[0].fields[0].family");
}

// --- L7 ------------------------------------------------------------------------------------

TEST(DecodeCilium, HttpRulesAreKeptOnTheRule) {
  std::vector<Rule> rules = ingress(
      "[{toPorts: [{ports: [{port: '80', protocol: TCP}], rules: {http: [{method: GET, path: "
      "'/api/.*', headers: ['X-Token: abc']}, {method: POST}]}}]}]");
  ASSERT_EQ(rules.size(), 1u);
  ASSERT_EQ(rules[0].http.size(), 2u);
  EXPECT_EQ(rules[0].http[0].method, "GET");
  EXPECT_EQ(rules[0].http[0].path, "/api/.*");
  EXPECT_EQ(rules[0].http[0].headers, std::vector<std::string>{"X-Token: abc"});
  EXPECT_EQ(rules[0].http[1].method, "POST");
  EXPECT_TRUE(rules[0].http[1].path.empty());
  EXPECT_EQ(rules[0].destination.ports.ranges, (std::vector<PortRange>{{80, 80}}));
}

TEST(DecodeCilium, DnsRulesAreKeptOnTheRule) {
  std::vector<Rule> rules = egress(
      "[{toEndpoints: [{matchLabels: {'k8s:io.kubernetes.pod.namespace': kube-system}}],"
      "  toPorts: [{ports: [{port: '53', protocol: ANY}], rules: {dns: [{matchName: "
      "example.com}, {matchPattern: '*.example.org'}]}}]}]");
  ASSERT_EQ(rules.size(), 1u);
  ASSERT_EQ(rules[0].dns.size(), 2u);
  EXPECT_EQ(rules[0].dns[0].match_name, "example.com");
  EXPECT_EQ(rules[0].dns[1].match_pattern, "*.example.org");
  EXPECT_EQ(rules[0].protocols, kTcpUdpSctp);
}

TEST(DecodeCilium, ToFqdnsAreKeptAsTheDestination) {
  std::vector<Rule> rules = egress(
      "[{toFQDNs: [{matchName: api.example.com}, {matchPattern: '*.cdn.example.com'}],"
      "  toPorts: [{ports: [{port: '443', protocol: TCP}]}]}]");
  ASSERT_EQ(rules.size(), 1u);
  ASSERT_TRUE(rules[0].destination.fqdns.has_value());
  ASSERT_EQ(rules[0].destination.fqdns->size(), 2u);
  EXPECT_EQ((*rules[0].destination.fqdns)[0].match_name, "api.example.com");
  EXPECT_EQ((*rules[0].destination.fqdns)[1].match_pattern, "*.cdn.example.com");
  EXPECT_EQ(rules[0].destination.ports.ranges, (std::vector<PortRange>{{443, 443}}));
}

TEST(DecodeCilium, UnsupportedL7AndPeerKindsAreRejectedAsUnsupported) {
  EXPECT_EQ(
      ingress_error("[{toPorts: [{ports: [{port: '9092'}], rules: {kafka: [{topic: t}]}}]}]").code,
      ErrorCode::Unsupported);
  EXPECT_EQ(ingress_error("[{fromRequires: [{matchLabels: {env: prod}}]}]").code,
            ErrorCode::Unsupported);
  Error svc = egress_error("[{toServices: [{k8sService: {serviceName: db, namespace: prod}}]}]");
  EXPECT_EQ(svc.code, ErrorCode::Unsupported);
  EXPECT_EQ(svc.field, "spec.egress[0].toServices");
  EXPECT_EQ(ingress_error("[{authentication: {mode: required}}]").code, ErrorCode::Unsupported);
}

// Cilium: "DNS rules are not allowed on ingress".
TEST(DecodeCilium, DnsRulesOnIngressAreRejected) {
  Error e = ingress_error(
      "[{toPorts: [{ports: [{port: '53', protocol: UDP}], rules: {dns: [{matchName: x.com}]}}]}]");
  EXPECT_THAT(e.field, ::testing::StartsWith("spec.ingress[0].toPorts[0]"));
}

// Cilium: "L7 rules can only apply to TCP (not UDP) except for DNS rules".
TEST(DecodeCilium, HttpRulesOnANonTcpPortAreRejected) {
  Error e = ingress_error(
      "[{toPorts: [{ports: [{port: '80', protocol: UDP}], rules: {http: [{method: GET}]}}]}]");
  EXPECT_THAT(e.field, ::testing::StartsWith("spec.ingress[0].toPorts[0]"));
}

// --- Deny rules ----------------------------------------------------------------------------

TEST(DecodeCilium, IngressDenyBecomesABandZeroPolicyBeforeTheAllowPolicy) {
  std::vector<Policy> ps = policies(
      cnp("{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEntities: [cluster]}],"
          " ingressDeny: [{fromCIDR: [203.0.113.0/24]}, {fromEntities: [world]}]}"));
  ASSERT_EQ(ps.size(), 2u);
  const Policy& deny = ps[0];
  const Policy& allow = ps[1];
  EXPECT_EQ(deny.band, 0);
  EXPECT_EQ(allow.band, 1);
  ASSERT_EQ(deny.ingress.size(), 2u);
  for (const Rule& r : deny.ingress) {
    EXPECT_EQ(r.action, Action::Deny);
  }
  EXPECT_EQ(deny.ingress[0].source.nets, std::vector<Cidr>{net("203.0.113.0/24")});
  EXPECT_EQ(deny.ingress[1].origin, "spec.ingressDeny[1]");
  ASSERT_EQ(allow.ingress.size(), 1u);
  EXPECT_EQ(allow.ingress[0].action, Action::Allow);
  EXPECT_EQ(allow.ingress[0].origin, "spec.ingress[0]");
  // Both halves are the same policy: same name, selector, tier and order.
  EXPECT_EQ(deny.display_name, "cnp.web");
  EXPECT_EQ(deny.tier, "default");
  EXPECT_EQ(deny.order, allow.order);
  EXPECT_EQ(deny.applies_to.selector.to_string(), allow.applies_to.selector.to_string());
  EXPECT_TRUE(deny.types_ingress);
  EXPECT_TRUE(allow.types_ingress);
}

TEST(DecodeCilium, EgressDenyAloneGivesTheEgressTypeAndIsolation) {
  std::vector<Policy> ps =
      policies(cnp("{endpointSelector: {}, egressDeny: [{toCIDR: [169.254.169.254/32]}]}"));
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].band, 0);
  ASSERT_EQ(ps[0].egress.size(), 1u);
  EXPECT_EQ(ps[0].egress[0].action, Action::Deny);
  EXPECT_EQ(ps[0].egress[0].destination.nets, std::vector<Cidr>{net("169.254.169.254/32")});
  EXPECT_TRUE(ps[1].egress.empty());
  for (const Policy& p : ps) {
    EXPECT_TRUE(p.types_egress);
    EXPECT_TRUE(p.isolates_egress);
    EXPECT_FALSE(p.types_ingress);
  }
}

TEST(DecodeCilium, L7RulesInsideDenyRulesAreRejected) {
  Error e = decode_error(
      cnp("{endpointSelector: {}, ingressDeny: [{toPorts: [{ports: [{port: '80', protocol: TCP}], "
          "rules: {http: [{method: GET}]}}]}]}"));
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.ingressDeny[0].toPorts[0].rules");
  Error fqdn =
      decode_error(cnp("{endpointSelector: {}, egressDeny: [{toFQDNs: [{matchName: x}]}]}"));
  EXPECT_EQ(fqdn.field, "spec.egressDeny[0].toFQDNs");
}

// --- Types and isolation -------------------------------------------------------------------

TEST(DecodeCilium, NonEmptyIngressGivesTheIngressTypeAndIsolates) {
  Policy p = one(cnp("{endpointSelector: {}, ingress: [{fromEntities: [cluster]}]}"));
  EXPECT_TRUE(p.types_ingress);
  EXPECT_TRUE(p.isolates_ingress);
  EXPECT_FALSE(p.types_egress);
  EXPECT_FALSE(p.isolates_egress);
}

TEST(DecodeCilium, EmptyIngressListGivesNoIngressType) {
  Policy p = one(cnp("{endpointSelector: {}, ingress: [], egress: [{}]}"));
  EXPECT_FALSE(p.types_ingress);
  EXPECT_FALSE(p.isolates_ingress);
  EXPECT_TRUE(p.types_egress);
  EXPECT_TRUE(p.isolates_egress);
}

TEST(DecodeCilium, EnableDefaultDenyFalseAddsAllowsWithoutIsolating) {
  Policy p =
      one(cnp("{endpointSelector: {}, enableDefaultDeny: {ingress: false}, "
              "ingress: [{fromEntities: [world]}], egress: [{}]}"));
  EXPECT_TRUE(p.types_ingress);
  EXPECT_FALSE(p.isolates_ingress);
  EXPECT_TRUE(p.types_egress);
  EXPECT_TRUE(p.isolates_egress);
  EXPECT_EQ(p.ingress.size(), 1u);
  Policy both =
      one(cnp("{endpointSelector: {}, enableDefaultDeny: {ingress: true, egress: false},"
              " ingress: [{}], egress: [{}]}"));
  EXPECT_TRUE(both.isolates_ingress);
  EXPECT_FALSE(both.isolates_egress);
}

TEST(DecodeCilium, EnableDefaultDenyTrueDoesNotIsolateADirectionWithoutRules) {
  Policy p = one(cnp("{endpointSelector: {}, enableDefaultDeny: {egress: true}, ingress: [{}]}"));
  EXPECT_FALSE(p.types_egress);
  EXPECT_FALSE(p.isolates_egress);
}

// --- Strictness ----------------------------------------------------------------------------

TEST(DecodeCilium, UnknownFieldsAreRejected) {
  Error e = ingress_error("[{fromEndpoint: [{}]}]");
  EXPECT_EQ(e.code, ErrorCode::UnknownField);
  EXPECT_EQ(e.field, "spec.ingress[0].fromEndpoint");
  EXPECT_EQ(decode_error(cnp("{endpointSelector: {}, ingres: [{}]}")).field, "spec.ingres");
  EXPECT_EQ(egress_error("[{fromCIDR: [10.0.0.0/8]}]").field, "spec.egress[0].fromCIDR");
  EXPECT_EQ(ingress_error("[{toPorts: [{ports: [{port: '80', proto: TCP}]}]}]").field,
            "spec.ingress[0].toPorts[0].ports[0].proto");
}

// An ingress rule has no toFQDNs/toServices (Cilium's IngressRule): accepting and ignoring
// them would turn the rule into "from every peer".
TEST(DecodeCilium, EgressOnlyPeerFieldsInAnIngressRuleAreRejected) {
  Error fqdns = ingress_error("[{toFQDNs: [{matchName: example.com}]}]");
  EXPECT_EQ(fqdns.code, ErrorCode::UnknownField);
  EXPECT_EQ(fqdns.field, "spec.ingress[0].toFQDNs");
  Error services = ingress_error("[{toServices: [{k8sService: {serviceName: a, namespace: b}}]}]");
  EXPECT_EQ(services.code, ErrorCode::UnknownField);
  EXPECT_EQ(services.field, "spec.ingress[0].toServices");
}

}  // namespace
}  // namespace palisade::policy
