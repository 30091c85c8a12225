// Calico decoding: NetworkPolicy, GlobalNetworkPolicy, Tier, NetworkSet, GlobalNetworkSet,
// HostEndpoint, under projectcalico.org/v3 and crd.projectcalico.org/v1
// (docs/semantics.md, "Calico").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/decode.h"
#include "tests/policy/builders.h"

namespace palisade::policy {

namespace {

using testing::decode_error;
using testing::object;
using testing::policies;

constexpr const char* kV3 = "projectcalico.org/v3";
constexpr const char* kCrdV1 = "crd.projectcalico.org/v1";

// A namespaced NetworkPolicy `np` in `prod`, and a GlobalNetworkPolicy `gnp`.
std::string np(const std::string& spec, const std::string& api = kV3,
               const std::string& metadata = "{name: np, namespace: prod}") {
  return "{apiVersion: " + api + ", kind: NetworkPolicy, metadata: " + metadata +
         ", spec: " + spec + "}";
}
std::string gnp(const std::string& spec, const std::string& api = kV3,
                const std::string& metadata = "{name: gnp}") {
  return "{apiVersion: " + api + ", kind: GlobalNetworkPolicy, metadata: " + metadata +
         ", spec: " + spec + "}";
}

Policy one(const std::string& yaml) {
  std::vector<Policy> ps = policies(yaml);
  EXPECT_EQ(ps.size(), 1u);
  return ps.empty() ? Policy{} : ps[0];
}

// The first ingress rule of a namespaced (or global) policy with this one rule.
Rule rule(const std::string& r) {
  Policy p = one(np("{ingress: [" + r + "]}"));
  return p.ingress.empty() ? Rule{} : p.ingress[0];
}
Rule global_rule(const std::string& r) {
  Policy p = one(gnp("{ingress: [" + r + "]}"));
  return p.ingress.empty() ? Rule{} : p.ingress[0];
}
Error rule_error(const std::string& r) { return decode_error(np("{ingress: [" + r + "]}")); }

std::string canon(const std::string& selector) {
  Result<Selector> s = Selector::parse(selector);
  EXPECT_TRUE(s.has_value()) << selector;
  return s ? s->to_string() : "";
}

Cidr net(const std::string& text) { return Cidr::parse(text).value(); }
IpAddr ip(const std::string& text) { return IpAddr::parse(text).value(); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// --- Policies under both API groups --------------------------------------------------------

TEST(DecodeCalico, NamespacedPolicyAppliesInItsNamespaceUnderBothApiGroups) {
  for (const char* api : {kV3, kCrdV1}) {
    SCOPED_TRACE(api);
    Object o = object(np("{order: 100, selector: \"app == 'db'\"}", api));
    EXPECT_EQ(o.key.kind, "NetworkPolicy");
    EXPECT_EQ(o.key.ns, "prod");
    EXPECT_EQ(o.api_version, api);
    const auto& ps = std::get<std::vector<Policy>>(o.body);
    ASSERT_EQ(ps.size(), 1u);
    const Policy& p = ps[0];
    EXPECT_EQ(p.kind, PolicyKind::CalicoNetworkPolicy);
    EXPECT_EQ(p.ns, "prod");
    EXPECT_EQ(p.name, "np");
    EXPECT_EQ(p.display_name, "np");
    EXPECT_EQ(p.qualified_name(), "prod/np");
    EXPECT_EQ(p.order, 100);
    EXPECT_EQ(p.band, 1);
    EXPECT_EQ(p.applies_to.dialect, Dialect::Calico);
    EXPECT_EQ(p.applies_to.selector.to_string(), canon("app == 'db'"));
    EXPECT_EQ(p.applies_to.scope.kind, Scope::Kind::Namespace);
    EXPECT_EQ(p.applies_to.scope.ns, "prod");
    EXPECT_FALSE(p.applies_to.scope.host_endpoints);
    EXPECT_FALSE(p.applies_to.scope.network_sets);
  }
}

TEST(DecodeCalico, GlobalPolicyAppliesToEveryNamespaceAndHostEndpointsUnderBothApiGroups) {
  for (const char* api : {kV3, kCrdV1}) {
    SCOPED_TRACE(api);
    Object o = object(gnp("{order: 5}", api, "{name: gnp, namespace: ignored}"));
    EXPECT_EQ(o.key.kind, "GlobalNetworkPolicy");
    EXPECT_EQ(o.key.ns, "");  // cluster-scoped: a namespace in metadata is not kept
    const auto& ps = std::get<std::vector<Policy>>(o.body);
    ASSERT_EQ(ps.size(), 1u);
    const Policy& p = ps[0];
    EXPECT_EQ(p.kind, PolicyKind::CalicoGlobalNetworkPolicy);
    EXPECT_EQ(p.ns, "");
    EXPECT_EQ(p.qualified_name(), "gnp");
    EXPECT_EQ(p.order, 5);
    EXPECT_EQ(p.applies_to.scope.kind, Scope::Kind::AnyNamespace);
    EXPECT_TRUE(p.applies_to.scope.host_endpoints);
    EXPECT_FALSE(p.applies_to.scope.network_sets);
  }
}

TEST(DecodeCalico, CrdV1DefaultTierNameIsKeptAsWritten) {
  Policy p = one(np("{}", kCrdV1, "{name: default.allow-web, namespace: prod}"));
  EXPECT_EQ(p.name, "default.allow-web");
  EXPECT_EQ(p.display_name, "default.allow-web");
  EXPECT_EQ(p.tier, "default");
}

TEST(DecodeCalico, OrderIsKeptAndMissingOrderIsNone) {
  EXPECT_EQ(one(np("{order: 12.5}")).order, 12.5);
  EXPECT_FALSE(one(np("{}")).order.has_value());
  EXPECT_EQ(decode_error(np("{order: first}")).field, "spec.order");
}

TEST(DecodeCalico, TierDefaultsToDefault) {
  EXPECT_EQ(one(np("{}")).tier, "default");
  EXPECT_EQ(one(gnp("{tier: security}")).tier, "security");
  EXPECT_EQ(one(np("{tier: platform}")).tier, "platform");
}

TEST(DecodeCalico, SelectorDefaultsToAll) {
  EXPECT_TRUE(one(np("{}")).applies_to.selector.is_all());
  EXPECT_TRUE(one(gnp("{}")).applies_to.selector.is_all());
  EXPECT_EQ(one(gnp("{selector: \"has(role)\"}")).applies_to.selector.to_string(),
            canon("has(role)"));
}

TEST(DecodeCalico, GlobalNamespaceSelectorRestrictsToWorkloadsOfSelectedNamespaces) {
  Policy p = one(gnp("{namespaceSelector: \"team == 'a'\", selector: \"app == 'web'\"}"));
  EXPECT_EQ(p.applies_to.scope.kind, Scope::Kind::Namespaces);
  EXPECT_EQ(p.applies_to.scope.namespace_selector.to_string(), canon("team == 'a'"));
  EXPECT_FALSE(p.applies_to.scope.host_endpoints);
  EXPECT_EQ(p.applies_to.selector.to_string(), canon("app == 'web'"));
}

// Calico's validator rejects global() in a GlobalNetworkPolicy's spec.namespaceSelector: it
// is only valid as the namespaceSelector of a rule's source or destination.
TEST(DecodeCalico, GlobalInPolicyNamespaceSelectorIsRejected) {
  Error e = decode_error(gnp("{namespaceSelector: global()}"));
  EXPECT_EQ(e.field, "spec.namespaceSelector");
}

TEST(DecodeCalico, NamespacedPolicyHasNoNamespaceSelector) {
  Error e = decode_error(np("{namespaceSelector: all()}"));
  EXPECT_EQ(e.code, ErrorCode::UnknownField);
  EXPECT_EQ(e.field, "spec.namespaceSelector");
}

TEST(DecodeCalico, ServiceAccountSelectorIsKept) {
  Policy p = one(np("{serviceAccountSelector: \"role == 'admin'\"}"));
  ASSERT_TRUE(p.applies_to.service_account_selector.has_value());
  EXPECT_EQ(p.applies_to.service_account_selector->to_string(), canon("role == 'admin'"));
  EXPECT_FALSE(one(np("{}")).applies_to.service_account_selector.has_value());
  Policy g = one(gnp("{serviceAccountSelector: \"has(team)\"}"));
  ASSERT_TRUE(g.applies_to.service_account_selector.has_value());
  EXPECT_EQ(g.applies_to.service_account_selector->to_string(), canon("has(team)"));
}

// --- types ---------------------------------------------------------------------------------

TEST(DecodeCalico, TypesInferredAsIngressWhenOnlyIngressRulesExist) {
  Policy p = one(np("{ingress: [{action: Allow}]}"));
  EXPECT_TRUE(p.types_ingress);
  EXPECT_FALSE(p.types_egress);
}

TEST(DecodeCalico, TypesInferredAsEgressWhenOnlyEgressRulesExist) {
  Policy p = one(np("{egress: [{action: Allow}]}"));
  EXPECT_FALSE(p.types_ingress);
  EXPECT_TRUE(p.types_egress);
}

TEST(DecodeCalico, TypesInferredAsBothWhenBothHaveRules) {
  Policy p = one(gnp("{ingress: [{action: Deny}], egress: [{action: Allow}]}"));
  EXPECT_TRUE(p.types_ingress);
  EXPECT_TRUE(p.types_egress);
}

TEST(DecodeCalico, TypesInferredAsIngressWhenThereAreNoRules) {
  for (const char* spec : {"{}", "{ingress: [], egress: []}"}) {
    SCOPED_TRACE(spec);
    Policy p = one(np(spec));
    EXPECT_TRUE(p.types_ingress);
    EXPECT_FALSE(p.types_egress);
  }
}

TEST(DecodeCalico, ExplicitTypesAreKeptAsWritten) {
  Policy p = one(np("{types: [Egress], ingress: [{action: Allow}]}"));
  EXPECT_FALSE(p.types_ingress);
  EXPECT_TRUE(p.types_egress);
  EXPECT_EQ(p.ingress.size(), 1u);
  Policy both = one(np("{types: [Ingress, Egress]}"));
  EXPECT_TRUE(both.types_ingress);
  EXPECT_TRUE(both.types_egress);
}

TEST(DecodeCalico, UnknownTypeIsRejected) {
  Error e = decode_error(np("{types: [Ingress, Forward]}"));
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.types[1]");
}

// --- Rule actions, protocols, ICMP, ipVersion ----------------------------------------------

TEST(DecodeCalico, RuleActionsAreAllowDenyPassAndLog) {
  Policy p =
      one(np("{ingress: [{action: Allow}, {action: Deny}, {action: Pass}, {action: Log}],"
             " egress: [{action: Deny}]}"));
  ASSERT_EQ(p.ingress.size(), 4u);
  EXPECT_EQ(p.ingress[0].action, Action::Allow);
  EXPECT_EQ(p.ingress[1].action, Action::Deny);
  EXPECT_EQ(p.ingress[2].action, Action::Pass);
  EXPECT_EQ(p.ingress[3].action, Action::Log);
  EXPECT_EQ(p.ingress[3].origin, "spec.ingress[3]");
  ASSERT_EQ(p.egress.size(), 1u);
  EXPECT_EQ(p.egress[0].action, Action::Deny);
  EXPECT_EQ(p.egress[0].origin, "spec.egress[0]");
}

TEST(DecodeCalico, BadActionIsRejected) {
  Error e = rule_error("{action: Allow}, {action: Reject}");
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.ingress[1].action");
  EXPECT_TRUE(contains(e.message, "Reject")) << e.message;
  EXPECT_EQ(rule_error("{action: allow}").field, "spec.ingress[0].action");  // case matters
}

TEST(DecodeCalico, MissingActionIsMissingField) {
  Error e = rule_error("{protocol: TCP}");
  EXPECT_EQ(e.code, ErrorCode::MissingField);
  EXPECT_EQ(e.field, "spec.ingress[0].action");
}

TEST(DecodeCalico, ProtocolsAreNamesOrNumbers) {
  EXPECT_EQ(rule("{action: Allow, protocol: TCP}").protocols, std::vector<uint8_t>{6});
  EXPECT_EQ(rule("{action: Allow, protocol: UDP}").protocols, std::vector<uint8_t>{17});
  EXPECT_EQ(rule("{action: Allow, protocol: SCTP}").protocols, std::vector<uint8_t>{132});
  EXPECT_EQ(rule("{action: Allow, protocol: ICMP}").protocols, std::vector<uint8_t>{1});
  EXPECT_EQ(rule("{action: Allow, protocol: ICMPv6}").protocols, std::vector<uint8_t>{58});
  EXPECT_EQ(rule("{action: Allow, protocol: UDPLite}").protocols, std::vector<uint8_t>{136});
  EXPECT_EQ(rule("{action: Allow, protocol: 47}").protocols, std::vector<uint8_t>{47});
  EXPECT_TRUE(rule("{action: Allow}").protocols.empty());
}

TEST(DecodeCalico, NotProtocolIsKept) {
  Rule r = rule("{action: Deny, notProtocol: UDP}");
  EXPECT_TRUE(r.protocols.empty());
  EXPECT_EQ(r.not_protocols, std::vector<uint8_t>{ipproto::kUdp});
  EXPECT_EQ(rule("{action: Deny, notProtocol: 50}").not_protocols, std::vector<uint8_t>{50});
}

TEST(DecodeCalico, BadProtocolIsRejected) {
  Error e = rule_error("{action: Allow, protocol: XTP}");
  EXPECT_EQ(e.field, "spec.ingress[0].protocol");
  EXPECT_TRUE(contains(e.message, "XTP")) << e.message;
  EXPECT_EQ(rule_error("{action: Allow, notProtocol: 256}").field, "spec.ingress[0].notProtocol");
}

TEST(DecodeCalico, IcmpTypeAndCodeAreKept) {
  Rule r = rule("{action: Allow, protocol: ICMP, icmp: {type: 8, code: 0}}");
  ASSERT_TRUE(r.icmp.has_value());
  EXPECT_EQ(r.icmp->type, 8);
  EXPECT_EQ(r.icmp->code, 0);
  EXPECT_FALSE(r.not_icmp.has_value());
  Rule type_only = rule("{action: Allow, protocol: ICMPv6, icmp: {type: 128}}");
  ASSERT_TRUE(type_only.icmp.has_value());
  EXPECT_EQ(type_only.icmp->type, 128);
  EXPECT_FALSE(type_only.icmp->code.has_value());
}

TEST(DecodeCalico, NotIcmpIsKept) {
  Rule r = rule("{action: Deny, protocol: ICMP, notICMP: {type: 3, code: 4}}");
  EXPECT_FALSE(r.icmp.has_value());
  ASSERT_TRUE(r.not_icmp.has_value());
  EXPECT_EQ(r.not_icmp->type, 3);
  EXPECT_EQ(r.not_icmp->code, 4);
}

TEST(DecodeCalico, IcmpCodeWithoutTypeIsRejected) {
  Error e = rule_error("{action: Allow, protocol: ICMP, icmp: {code: 0}}");
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.ingress[0].icmp.code");
  EXPECT_TRUE(contains(e.message, "type")) << e.message;
}

TEST(DecodeCalico, IcmpWithoutAnIcmpProtocolIsRejected) {
  Error e = rule_error("{action: Allow, icmp: {type: 8}}");
  EXPECT_EQ(e.field, "spec.ingress[0].icmp");
  EXPECT_TRUE(contains(e.message, "ICMP")) << e.message;
  EXPECT_EQ(rule_error("{action: Allow, protocol: TCP, icmp: {type: 8}}").field,
            "spec.ingress[0].icmp");
  EXPECT_EQ(rule_error("{action: Allow, protocol: UDP, notICMP: {type: 8}}").field,
            "spec.ingress[0].notICMP");
}

TEST(DecodeCalico, IcmpTypeAndCodeRangesAreChecked) {
  EXPECT_EQ(rule_error("{action: Allow, protocol: ICMP, icmp: {type: 255}}").field,
            "spec.ingress[0].icmp.type");
  EXPECT_EQ(rule_error("{action: Allow, protocol: ICMP, icmp: {type: 3, code: 256}}").field,
            "spec.ingress[0].icmp.code");
  EXPECT_EQ(rule_error("{action: Allow, protocol: ICMP, icmp: {type: 3, kode: 1}}").field,
            "spec.ingress[0].icmp.kode");
}

TEST(DecodeCalico, IpVersionIsFourOrSix) {
  EXPECT_EQ(rule("{action: Allow, ipVersion: 4}").ip_version, 4);
  EXPECT_EQ(rule("{action: Allow, ipVersion: 6}").ip_version, 6);
  EXPECT_FALSE(rule("{action: Allow}").ip_version.has_value());
  Error five = rule_error("{action: Allow, ipVersion: 5}");
  EXPECT_EQ(five.code, ErrorCode::InvalidField);
  EXPECT_EQ(five.field, "spec.ingress[0].ipVersion");
  EXPECT_EQ(rule_error("{action: Allow, ipVersion: 7}").field, "spec.ingress[0].ipVersion");
}

TEST(DecodeCalico, NetsOfTheOtherIpVersionAreRejected) {
  Error e =
      rule_error("{action: Allow, ipVersion: 4, destination: {nets: [10.0.0.0/8, 'fd00::/8']}}");
  EXPECT_EQ(e.field, "spec.ingress[0].destination.nets");
  EXPECT_TRUE(contains(e.message, "fd00::/8")) << e.message;
  EXPECT_EQ(rule_error("{action: Allow, ipVersion: 6, source: {nets: [10.0.0.0/8]}}").field,
            "spec.ingress[0].source.nets");
}

// Calico's validator checks notNets against ipVersion as it checks nets.
TEST(DecodeCalico, NotNetsOfTheOtherIpVersionAreRejected) {
  Error e = rule_error("{action: Allow, ipVersion: 4, source: {notNets: ['fd00::/8']}}");
  EXPECT_EQ(e.field, "spec.ingress[0].source.notNets");
}

// Calico: "must set ipversion to '6' with protocol icmpv6" (and '4' with icmp).
TEST(DecodeCalico, IcmpProtocolOfTheOtherIpVersionIsRejected) {
  EXPECT_THAT(rule_error("{action: Allow, protocol: ICMPv6, ipVersion: 4}").field,
              ::testing::StartsWith("spec.ingress[0]"));
  EXPECT_THAT(rule_error("{action: Allow, protocol: ICMP, ipVersion: 6}").field,
              ::testing::StartsWith("spec.ingress[0]"));
}

// --- Rule peers ----------------------------------------------------------------------------

TEST(DecodeCalico, SourceAndDestinationNetsAndNotNetsAreKept) {
  Rule r = rule(
      "{action: Allow, source: {nets: [10.0.0.0/8, 192.168.1.1], notNets: [10.9.0.0/16]},"
      " destination: {nets: ['fd00::/64'], notNets: ['fd00::1/128']}}");
  EXPECT_EQ(r.source.nets, (std::vector<Cidr>{net("10.0.0.0/8"), net("192.168.1.1/32")}));
  EXPECT_EQ(r.source.not_nets, std::vector<Cidr>{net("10.9.0.0/16")});
  EXPECT_EQ(r.destination.nets, std::vector<Cidr>{net("fd00::/64")});
  EXPECT_EQ(r.destination.not_nets, std::vector<Cidr>{net("fd00::1/128")});
  EXPECT_FALSE(r.source.selector.has_value());
}

TEST(DecodeCalico, BadNetIsRejectedAtItsIndex) {
  Error e = rule_error("{action: Allow, source: {nets: [10.0.0.0/8, 10.0.0.300/32]}}");
  EXPECT_EQ(e.field, "spec.ingress[0].source.nets[1]");
  EXPECT_TRUE(contains(e.message, "10.0.0.300/32")) << e.message;
}

TEST(DecodeCalico, SelectorsOfANamespacedPolicyStayInItsNamespaceAndSeeNetworkSets) {
  Rule r = rule("{action: Allow, source: {selector: \"app == 'web'\", notSelector: \"has(bad)\"}}");
  ASSERT_TRUE(r.source.selector.has_value());
  const EndpointSelector& s = *r.source.selector;
  EXPECT_EQ(s.dialect, Dialect::Calico);
  EXPECT_EQ(s.selector.to_string(), canon("app == 'web'"));
  EXPECT_EQ(s.scope.kind, Scope::Kind::Namespace);
  EXPECT_EQ(s.scope.ns, "prod");
  EXPECT_TRUE(s.scope.network_sets);
  ASSERT_TRUE(r.source.not_selector.has_value());
  EXPECT_EQ(r.source.not_selector->selector.to_string(), canon("has(bad)"));
  EXPECT_EQ(r.source.not_selector->scope.kind, Scope::Kind::Namespace);
  EXPECT_EQ(r.source.not_selector->scope.ns, "prod");
}

// libcalico-go's getEndpointSelector scopes the rule to the namespace as soon as any selector
// field is used, notSelector included: with notSelector alone, the rule's selector becomes
// the namespace itself, so nothing outside it matches.
TEST(DecodeCalico, NotSelectorAloneInANamespacedPolicyIsScopedToItsNamespace) {
  Rule r = rule("{action: Allow, source: {notSelector: \"role == 'frontend'\"}}");
  ASSERT_TRUE(r.source.selector.has_value());
  EXPECT_EQ(r.source.selector->selector.to_string(), Selector().to_string());  // all()
  EXPECT_EQ(r.source.selector->scope.kind, Scope::Kind::Namespace);
  EXPECT_EQ(r.source.selector->scope.ns, "prod");
  ASSERT_TRUE(r.source.not_selector.has_value());
  EXPECT_EQ(r.source.not_selector->selector.to_string(), canon("role == 'frontend'"));
}

TEST(DecodeCalico, NotSelectorAloneInAGlobalPolicyHasNoSelector) {
  Rule r = global_rule("{action: Allow, source: {notSelector: \"role == 'frontend'\"}}");
  EXPECT_FALSE(r.source.selector.has_value());  // every address the notSelector does not select
  ASSERT_TRUE(r.source.not_selector.has_value());
  EXPECT_EQ(r.source.not_selector->scope.kind, Scope::Kind::AnyNamespace);
}

TEST(DecodeCalico, SelectorsOfAGlobalPolicySpanNamespacesAndHostEndpoints) {
  Rule r = global_rule("{action: Allow, destination: {selector: \"role == 'db'\"}}");
  ASSERT_TRUE(r.destination.selector.has_value());
  const EndpointSelector& s = *r.destination.selector;
  EXPECT_EQ(s.scope.kind, Scope::Kind::AnyNamespace);
  EXPECT_TRUE(s.scope.host_endpoints);
  EXPECT_TRUE(s.scope.network_sets);
}

TEST(DecodeCalico, RuleNamespaceSelectorScopesSelectorAndNotSelectorToThoseNamespaces) {
  Rule r = rule(
      "{action: Allow, source: {namespaceSelector: \"team == 'a'\", "
      "selector: \"app == 'web'\", notSelector: \"app == 'legacy'\"}}");
  ASSERT_TRUE(r.source.selector.has_value());
  EXPECT_EQ(r.source.selector->scope.kind, Scope::Kind::Namespaces);
  EXPECT_EQ(r.source.selector->scope.namespace_selector.to_string(), canon("team == 'a'"));
  EXPECT_EQ(r.source.selector->selector.to_string(), canon("app == 'web'"));
  ASSERT_TRUE(r.source.not_selector.has_value());
  EXPECT_EQ(r.source.not_selector->scope.kind, Scope::Kind::Namespaces);
  EXPECT_EQ(r.source.not_selector->scope.namespace_selector.to_string(), canon("team == 'a'"));
}

TEST(DecodeCalico, RuleNamespaceSelectorAloneSelectsEverythingInThoseNamespaces) {
  Rule r = global_rule("{action: Allow, source: {namespaceSelector: \"has(monitoring)\"}}");
  ASSERT_TRUE(r.source.selector.has_value());
  EXPECT_TRUE(r.source.selector->selector.is_all());
  EXPECT_EQ(r.source.selector->scope.kind, Scope::Kind::Namespaces);
  EXPECT_EQ(r.source.selector->scope.namespace_selector.to_string(), canon("has(monitoring)"));
}

TEST(DecodeCalico, RuleNamespaceSelectorGlobalSelectsOnlyNonNamespacedThings) {
  Rule r = rule("{action: Allow, source: {namespaceSelector: global(), selector: \"has(gw)\"}}");
  ASSERT_TRUE(r.source.selector.has_value());
  EXPECT_EQ(r.source.selector->scope.kind, Scope::Kind::NonNamespaced);
  EXPECT_EQ(r.source.selector->selector.to_string(), canon("has(gw)"));
}

TEST(DecodeCalico, NamespaceSelectorWrittenAsAMapIsRejectedAtThatField) {
  Error e = rule_error("{action: Allow, source: {namespaceSelector: {matchLabels: {team: a}}}}");
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.ingress[0].source.namespaceSelector");
  EXPECT_TRUE(contains(e.message, "map")) << e.message;
}

TEST(DecodeCalico, ServiceAccountsNamesAndSelectorAreKept) {
  Rule r = rule(
      "{action: Allow, source: {serviceAccounts: {names: [api, worker], "
      "selector: \"team == 'x'\"}}}");
  ASSERT_TRUE(r.source.selector.has_value());
  const EndpointSelector& s = *r.source.selector;
  EXPECT_TRUE(s.selector.is_all());
  EXPECT_EQ(s.scope.kind, Scope::Kind::Namespace);
  EXPECT_EQ(s.service_account_names, (std::vector<std::string>{"api", "worker"}));
  ASSERT_TRUE(s.service_account_selector.has_value());
  EXPECT_EQ(s.service_account_selector->to_string(), canon("team == 'x'"));
  EXPECT_EQ(rule_error("{action: Allow, source: {serviceAccounts: {name: [api]}}}").field,
            "spec.ingress[0].source.serviceAccounts.name");
}

TEST(DecodeCalico, PortsAndNotPortsAreNumbersRangesAndNames) {
  Rule r = rule(
      "{action: Allow, protocol: TCP, destination: {ports: [80, '8000:9000', http]},"
      " source: {notPorts: ['0:1023'], ports: [metrics]}}");
  EXPECT_EQ(r.destination.ports.ranges, (std::vector<PortRange>{{80, 80}, {8000, 9000}}));
  EXPECT_EQ(r.destination.ports.names, std::vector<std::string>{"http"});
  EXPECT_EQ(r.source.not_ports.ranges, (std::vector<PortRange>{{0, 1023}}));
  EXPECT_EQ(r.source.ports.names, std::vector<std::string>{"metrics"});
  Rule udp = rule("{action: Deny, protocol: UDP, destination: {notPorts: [53]}}");
  EXPECT_EQ(udp.destination.not_ports.ranges, (std::vector<PortRange>{{53, 53}}));
}

TEST(DecodeCalico, BadPortsAndRangesAreRejected) {
  for (const char* bad : {"'9000:8000'", "'80:'", "'a:b'", "70000", "'1:70000'", "'8080x'"}) {
    SCOPED_TRACE(bad);
    Error e = rule_error("{action: Allow, protocol: TCP, destination: {ports: [22, " +
                         std::string(bad) + "]}}");
    EXPECT_EQ(e.code, ErrorCode::InvalidField);
    EXPECT_EQ(e.field, "spec.ingress[0].destination.ports[1]");
  }
}

TEST(DecodeCalico, PortsWithoutAProtocolAreRejectedAtThePorts) {
  Error e = decode_error(R"(apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: np, namespace: prod}
spec:
  ingress:
    - action: Allow
      destination:
        ports: [80]
)");
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.ingress[0].destination.ports");
  EXPECT_EQ(e.source, "test.yaml:8");
  EXPECT_EQ(e.object, "NetworkPolicy.projectcalico.org prod/np");
  EXPECT_TRUE(contains(e.message, "protocol")) << e.message;
  EXPECT_EQ(rule_error("{action: Allow, source: {notPorts: [80]}}").field,
            "spec.ingress[0].source.notPorts");
}

TEST(DecodeCalico, PortsWithAPortlessProtocolAreRejected) {
  EXPECT_EQ(rule_error("{action: Allow, protocol: ICMP, destination: {ports: [80]}}").field,
            "spec.ingress[0].destination.ports");
  EXPECT_EQ(rule_error("{action: Allow, protocol: 47, destination: {ports: [80]}}").field,
            "spec.ingress[0].destination.ports");
}

// docs/semantics.md and Calico (Protocol.SupportsPorts): ports need TCP, UDP or SCTP.
TEST(DecodeCalico, PortsWithUdpLiteAreRejected) {
  Error e = rule_error("{action: Allow, protocol: UDPLite, destination: {ports: [80]}}");
  EXPECT_EQ(e.field, "spec.ingress[0].destination.ports");
}

TEST(DecodeCalico, DoNotTrackAndPreDnatAreUnsupported) {
  Error dnt = decode_error(gnp("{doNotTrack: true, applyOnForward: true}"));
  EXPECT_EQ(dnt.code, ErrorCode::Unsupported);
  EXPECT_EQ(dnt.field, "spec.doNotTrack");
  EXPECT_EQ(dnt.object, "GlobalNetworkPolicy gnp");
  Error pre = decode_error(gnp("{preDNAT: true, applyOnForward: true}"));
  EXPECT_EQ(pre.code, ErrorCode::Unsupported);
  EXPECT_EQ(pre.field, "spec.preDNAT");
  // False is the default, and fine.
  Policy p = one(gnp("{doNotTrack: false, preDNAT: false, applyOnForward: true}"));
  EXPECT_EQ(p.kind, PolicyKind::CalicoGlobalNetworkPolicy);
}

TEST(DecodeCalico, SelectorSyntaxErrorIsSyntaxWithItsColumn) {
  Error e = decode_error(np("{selector: \"app == 'web' &&\"}"));
  EXPECT_EQ(e.code, ErrorCode::Syntax);
  EXPECT_EQ(e.field, "spec.selector");
  EXPECT_TRUE(contains(e.message, "column")) << e.message;
  Error in_rule = rule_error("{action: Allow, destination: {selector: \"app = 'db'\"}}");
  EXPECT_EQ(in_rule.code, ErrorCode::Syntax);
  EXPECT_EQ(in_rule.field, "spec.ingress[0].destination.selector");
  EXPECT_TRUE(contains(in_rule.message, "column")) << in_rule.message;
}

TEST(DecodeCalico, ApplicationLayerAndServiceMatchesAreUnsupported) {
  Error http = rule_error("{action: Allow, http: {methods: [GET]}}");
  EXPECT_EQ(http.code, ErrorCode::Unsupported);
  EXPECT_EQ(http.field, "spec.ingress[0].http");
  Error svc = rule_error("{action: Allow, destination: {services: {name: kubernetes}}}");
  EXPECT_EQ(svc.code, ErrorCode::Unsupported);
  EXPECT_EQ(svc.field, "spec.ingress[0].destination.services");
}

TEST(DecodeCalico, UnknownFieldsAreRejected) {
  EXPECT_EQ(decode_error(np("{selectr: all()}")).field, "spec.selectr");
  Error e = rule_error("{action: Allow, destinaton: {nets: [10.0.0.0/8]}}");
  EXPECT_EQ(e.code, ErrorCode::UnknownField);
  EXPECT_EQ(e.field, "spec.ingress[0].destinaton");
  EXPECT_EQ(rule_error("{action: Allow, source: {net: [10.0.0.0/8]}}").field,
            "spec.ingress[0].source.net");
}

// --- Tier ----------------------------------------------------------------------------------

std::string tier(const std::string& name, const std::string& spec, const std::string& api = kV3) {
  return "{apiVersion: " + api + ", kind: Tier, metadata: {name: " + name + "}, spec: " + spec +
         "}";
}

TEST(DecodeCalico, TierKeepsOrderAndDefaultsToDeny) {
  Object o = object(tier("security", "{order: 100}"));
  EXPECT_EQ(o.key.kind, "Tier");
  EXPECT_EQ(o.key.ns, "");
  const Tier& t = std::get<Tier>(o.body);
  EXPECT_EQ(t.name, "security");
  EXPECT_EQ(t.order, 100);
  EXPECT_EQ(t.default_action, Action::Deny);
  EXPECT_EQ(t.source, "test.yaml:1");
  EXPECT_FALSE(std::get<Tier>(object(tier("late", "{}", kCrdV1)).body).order.has_value());
}

TEST(DecodeCalico, TierDefaultActionIsDenyOrPass) {
  EXPECT_EQ(std::get<Tier>(object(tier("a", "{defaultAction: Pass}")).body).default_action,
            Action::Pass);
  EXPECT_EQ(std::get<Tier>(object(tier("a", "{defaultAction: Deny}")).body).default_action,
            Action::Deny);
  Error e = decode_error(tier("a", "{order: 1, defaultAction: Allow}"));
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.defaultAction");
  EXPECT_EQ(e.object, "Tier a");
}

TEST(DecodeCalico, DefaultTierOrderIsFixed) {
  Tier ok = std::get<Tier>(object(tier("default", "{order: 1000000}")).body);
  EXPECT_EQ(ok.order, kDefaultTierOrder);
  Error e = decode_error(tier("default", "{order: 100}"));
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "spec.order");
  EXPECT_TRUE(contains(e.message, "1000000")) << e.message;
}

// --- NetworkSet, GlobalNetworkSet ----------------------------------------------------------

TEST(DecodeCalico, NetworkSetKeepsNetsLabelsAndNamespace) {
  Object o = object(
      "{apiVersion: projectcalico.org/v3, kind: NetworkSet, metadata: {name: "
      "partners, namespace: prod, labels: {role: partner}}, spec: {nets: "
      "[198.51.100.0/24, '2001:db8::/32']}}");
  EXPECT_EQ(o.key.ns, "prod");
  const NetworkSet& s = std::get<NetworkSet>(o.body);
  EXPECT_EQ(s.ns, "prod");
  EXPECT_EQ(s.name, "partners");
  EXPECT_EQ(s.labels, (Labels{{"role", "partner"}}));
  EXPECT_EQ(s.nets, (std::vector<Cidr>{net("198.51.100.0/24"), net("2001:db8::/32")}));
}

TEST(DecodeCalico, GlobalNetworkSetHasNoNamespace) {
  Object o = object(
      "{apiVersion: crd.projectcalico.org/v1, kind: GlobalNetworkSet, metadata: "
      "{name: threats, labels: {feed: bad}}, spec: {nets: [203.0.113.0/24]}}");
  EXPECT_EQ(o.key.ns, "");
  const NetworkSet& s = std::get<NetworkSet>(o.body);
  EXPECT_EQ(s.ns, "");
  EXPECT_EQ(s.labels, (Labels{{"feed", "bad"}}));
  EXPECT_EQ(s.nets, std::vector<Cidr>{net("203.0.113.0/24")});
}

TEST(DecodeCalico, NetworkSetWithABadNetOrDomainsIsRejected) {
  Error e = decode_error(
      "{apiVersion: projectcalico.org/v3, kind: GlobalNetworkSet, metadata: "
      "{name: s}, spec: {nets: [10.0.0.0/8, bogus]}}");
  EXPECT_EQ(e.field, "spec.nets[1]");
  Error d = decode_error(
      "{apiVersion: projectcalico.org/v3, kind: NetworkSet, metadata: "
      "{name: s, namespace: a}, spec: {allowedEgressDomains: [example.com]}}");
  EXPECT_EQ(d.code, ErrorCode::Unsupported);
  EXPECT_EQ(d.field, "spec.allowedEgressDomains");
}

// --- HostEndpoint --------------------------------------------------------------------------

std::string hep(const std::string& spec, const std::string& labels = "{}") {
  return "{apiVersion: projectcalico.org/v3, kind: HostEndpoint, metadata: {name: node-a-eth0, "
         "labels: " +
         labels + "}, spec: " + spec + "}";
}

TEST(DecodeCalico, HostEndpointKeepsNodeIpsProfilesPortsAndLabels) {
  Object o = object(
      hep("{node: node-a, interfaceName: eth0, expectedIPs: [10.0.0.1, 'fd00::1'], "
          "profiles: [projectcalico-default-allow], ports: [{name: ssh, port: 22, protocol: TCP}, "
          "{name: dns, port: 53, protocol: UDP}]}",
          "{role: gateway}"));
  EXPECT_EQ(o.key.kind, "HostEndpoint");
  EXPECT_EQ(o.key.ns, "");
  const Endpoint& ep = std::get<Endpoint>(o.body);
  EXPECT_EQ(ep.kind, EndpointKind::Host);
  EXPECT_EQ(ep.ns, "");
  EXPECT_EQ(ep.name, "node-a-eth0");
  EXPECT_EQ(ep.node, "node-a");
  EXPECT_EQ(ep.labels, (Labels{{"role", "gateway"}}));
  EXPECT_EQ(ep.ips, (std::vector<IpAddr>{ip("10.0.0.1"), ip("fd00::1")}));
  EXPECT_EQ(ep.profiles, std::vector<std::string>{"projectcalico-default-allow"});
  ASSERT_EQ(ep.named_ports.size(), 2u);
  EXPECT_EQ(ep.named_ports[0].name, "ssh");
  EXPECT_EQ(ep.named_ports[0].port, 22);
  EXPECT_EQ(ep.named_ports[0].protocol, ipproto::kTcp);
  EXPECT_EQ(ep.named_ports[1].name, "dns");
  EXPECT_EQ(ep.named_ports[1].port, 53);
  EXPECT_EQ(ep.named_ports[1].protocol, ipproto::kUdp);
  EXPECT_EQ(ep.source, "test.yaml:1");
}

TEST(DecodeCalico, HostEndpointWithOnlyAnInterfaceNameHasNoIps) {
  const Endpoint ep = std::get<Endpoint>(object(hep("{node: node-b, interfaceName: '*'}")).body);
  EXPECT_EQ(ep.node, "node-b");
  EXPECT_TRUE(ep.ips.empty());
  EXPECT_TRUE(ep.profiles.empty());
}

TEST(DecodeCalico, HostEndpointNeedsANode) {
  Error e = decode_error(hep("{expectedIPs: [10.0.0.1]}"));
  EXPECT_EQ(e.code, ErrorCode::MissingField);
  EXPECT_EQ(e.field, "spec.node");
  EXPECT_EQ(e.object, "HostEndpoint node-a-eth0");
}

TEST(DecodeCalico, HostEndpointNeedsAnInterfaceNameOrExpectedIps) {
  Error e = decode_error(hep("{node: node-a, profiles: [p]}"));
  EXPECT_EQ(e.code, ErrorCode::MissingField);
  EXPECT_EQ(e.field, "spec");
  EXPECT_TRUE(contains(e.message, "interfaceName")) << e.message;
  EXPECT_EQ(decode_error(hep("{node: node-a, expectedIPs: []}")).code, ErrorCode::MissingField);
}

TEST(DecodeCalico, HostEndpointWithABadIpOrPortIsRejected) {
  EXPECT_EQ(decode_error(hep("{node: n, expectedIPs: [10.0.0.1, 10.0.0]}")).field,
            "spec.expectedIPs[1]");
  EXPECT_EQ(decode_error(hep("{node: n, interfaceName: eth0, ports: [{name: x, port: 0, "
                             "protocol: TCP}]}"))
                .field,
            "spec.ports[0].port");
  EXPECT_EQ(decode_error(hep("{node: n, interfaceName: eth0, ports: [{name: x, port: 80}]}")).field,
            "spec.ports[0].protocol");
}

}  // namespace
}  // namespace palisade::policy
