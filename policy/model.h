// The internal policy model: Calico's, into which Kubernetes, Calico and Cilium objects are
// lowered (docs/semantics.md says how, and why). Plain values, no behaviour beyond lookups:
// the resolver and the evaluator give them meaning.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policy/ip.h"
#include "policy/ipproto.h"
#include "policy/labels.h"
#include "policy/selector.h"

namespace palisade::policy {

// Which dialect a selector was written in decides which implicit labels it sees.
enum class Dialect : uint8_t { Kubernetes, Calico, Cilium };

enum class Direction : uint8_t { Ingress, Egress };
inline const char* direction_name(Direction d) {
  return d == Direction::Ingress ? "ingress" : "egress";
}

enum class Action : uint8_t { Allow, Deny, Pass, Log };
const char* action_name(Action a);

// "TCP" → 6, "icmpv6" → 58, "47" → 47; nullopt if neither a known name nor 0..255.
std::optional<uint8_t> parse_protocol(std::string_view text);
std::string protocol_name(uint8_t proto);

struct PortRange {
  uint16_t first = 0, last = 65535;
  bool contains(uint16_t p) const { return first <= p && p <= last; }
  auto operator<=>(const PortRange&) const = default;
};

// A list of ports: numbers, ranges, and names that resolve on an endpoint's named ports.
struct PortList {
  std::vector<PortRange> ranges;
  std::vector<std::string> names;
  bool empty() const { return ranges.empty() && names.empty(); }
};

struct NamedPort {
  std::string name;
  uint8_t protocol = ipproto::kTcp;
  uint16_t port = 0;
};

struct IcmpMatch {
  std::optional<uint8_t> type, code;  // code only with type
};

// Cilium entities: peers known by their role rather than their labels.
enum class Entity : uint8_t { World, Cluster, Host, RemoteNode, All };

// Which labelled things a selector is allowed to see, before its labels are checked.
struct Scope {
  enum class Kind : uint8_t {
    AnyNamespace,   // namespaced and non-namespaced things alike (global policies)
    Namespace,      // only things in `ns` (namespaced policies)
    Namespaces,     // only namespaced things whose namespace matches `namespace_selector`
    NonNamespaced,  // only host endpoints and global network sets (`global()`)
  };
  Kind kind = Kind::AnyNamespace;
  std::string ns;
  Selector namespace_selector;
  bool network_sets = true;    // Calico selectors also select NetworkSets; k8s/Cilium don't
  bool host_endpoints = true;  // Calico global selectors select host endpoints
};

// Selects endpoints (and, for Calico, network sets) by labels, namespace and service account.
struct EndpointSelector {
  Dialect dialect = Dialect::Calico;
  Selector selector;
  Scope scope;
  // Calico serviceAccounts: names (any of) and a selector over the account's labels.
  std::vector<std::string> service_account_names;
  std::optional<Selector> service_account_selector;
};

// One L7 HTTP rule (Cilium): all given fields must match; method and path are regexes.
struct HttpRule {
  std::string method, path, host;
  std::vector<std::string> headers;  // "Name: value" or "Name"
};
struct DnsRule {
  std::string match_name, match_pattern;
};

// The source or destination side of a rule. Every field that is set must hold.
struct PeerMatch {
  std::vector<Cidr> nets;      // any of (empty: no constraint)
  std::vector<Cidr> not_nets;  // none of
  std::optional<EndpointSelector> selector;
  std::optional<EndpointSelector> not_selector;
  std::optional<std::vector<Entity>> entities;  // Cilium: any of; an empty list matches none
  std::optional<std::vector<DnsRule>> fqdns;    // Cilium toFQDNs: any of
  bool matches_nothing = false;                 // an L3 list that was present but empty (Cilium)
  PortList ports, not_ports;                    // ports of this side
};

struct Rule {
  Action action = Action::Allow;
  std::vector<uint8_t> protocols;      // any of; empty: any protocol
  std::vector<uint8_t> not_protocols;  // none of
  std::optional<IcmpMatch> icmp, not_icmp;
  std::optional<uint8_t> ip_version;  // 4 or 6
  PeerMatch source, destination;
  std::vector<HttpRule> http;  // L7, judged per request (empty: no L7 rule)
  std::vector<DnsRule> dns;
  std::string origin;  // the rule it came from: spec.ingress[0]

  // Whether the rule's port carries L7 conditions (rules.http, rules.dns). No stage judges
  // them yet, so such a rule admits no connection: the port stays closed rather than open
  // wider than written (docs/semantics.md, "L7 rules").
  bool has_l7() const { return !http.empty() || !dns.empty(); }
};

enum class PolicyKind : uint8_t {
  KubernetesNetworkPolicy,
  CalicoNetworkPolicy,
  CalicoGlobalNetworkPolicy,
  CiliumNetworkPolicy,
  CiliumClusterwideNetworkPolicy,
};

struct Policy {
  PolicyKind kind = PolicyKind::CalicoNetworkPolicy;
  std::string ns;            // empty for global kinds
  std::string name;          // metadata.name as written
  std::string display_name;  // how `by` names it: knp.default.NAME, cnp.NAME, or NAME
  std::string tier = "default";
  std::optional<double> order;  // missing: after every ordered policy of the tier
  // Bands sort before order: Cilium deny rules form band 0, ahead of everything in their
  // tier, because Cilium denies override every allow (docs/semantics.md).
  uint8_t band = 1;
  // Which endpoints it applies to: its selector, in its dialect, within its scope (its
  // namespace; or, for global kinds, every namespace, host endpoints included for Calico).
  EndpointSelector applies_to;
  bool types_ingress = false, types_egress = false;
  // Whether applying puts the endpoint in default deny (false for Cilium rules with
  // enableDefaultDeny off): only isolating policies make the end-of-tier action count.
  bool isolates_ingress = true, isolates_egress = true;
  std::vector<Rule> ingress, egress;
  std::string source;  // file:line or "api"
  // Non-empty when this policy stands for an object that was rejected with no earlier good
  // version: it holds the endpoints the object selects isolated, in the directions the
  // object names, and says why (the object's error).
  std::string held;

  const std::vector<Rule>& rules(Direction d) const {
    return d == Direction::Ingress ? ingress : egress;
  }
  bool has_type(Direction d) const {
    return d == Direction::Ingress ? types_ingress : types_egress;
  }
  bool isolates(Direction d) const {
    return d == Direction::Ingress ? isolates_ingress : isolates_egress;
  }
  // "NAMESPACE/DISPLAY" or "DISPLAY"
  std::string qualified_name() const { return ns.empty() ? display_name : ns + "/" + display_name; }
};

struct Tier {
  std::string name;
  std::optional<double> order;
  Action default_action = Action::Deny;  // Deny or Pass
  std::string source;
};
inline constexpr double kDefaultTierOrder = 1'000'000;

struct Namespace {
  std::string name;
  Labels labels;  // includes kubernetes.io/metadata.name
};

struct ServiceAccount {
  std::string ns, name;
  Labels labels;
};

enum class EndpointKind : uint8_t { Workload, Host };

struct Endpoint {
  EndpointKind kind = EndpointKind::Workload;
  std::string ns;    // empty for host endpoints
  std::string name;  // pod name, or host endpoint name
  std::string node;
  Labels labels;  // as written on the object
  std::string service_account;
  std::vector<IpAddr> ips;
  std::vector<NamedPort> named_ports;
  std::vector<std::string> profiles;  // host endpoints
  std::string source;
  std::string port_annotation;  // a pod's palisade.io/port: the node port it is attached to
};

struct Node {
  std::string name;
  Labels labels;
  std::vector<IpAddr> addresses;
};

// A Calico NetworkSet (namespaced) or GlobalNetworkSet (ns empty).
struct NetworkSet {
  std::string ns, name;
  Labels labels;
  std::vector<Cidr> nets;
};

// A Pod as decoded, before it becomes an endpoint (hostNetwork pods never do).
struct Pod {
  std::string ns, name, node, service_account;
  Labels labels;
  bool host_network = false;
  // Succeeded or Failed: the pod has ended, and its address may already be another pod's.
  bool finished = false;
  std::vector<IpAddr> ips;
  std::vector<NamedPort> named_ports;
  // The annotation palisade.io/port: which port of its node (a node file's port name) the
  // pod is attached through, for ports whose pod is discovered rather than named.
  std::string port_annotation;
};

}  // namespace palisade::policy
