// The per-dialect decoders behind decode_document. Internal to policy/: each reads the spec
// of one family of kinds and throws DecodeFailure (yaml_reader.h) on the first error.
#pragma once

#include <string>
#include <vector>

#include "policy/object.h"
#include "policy/yaml_reader.h"

namespace palisade::policy::detail {

struct Meta {
  std::string api_version, kind, ns, name;
  Labels labels;
  Labels annotations;
  std::string source;                      // file:line
  bool cilium_cidr_matches_nodes = false;  // DecodeOptions::cilium_cidr_matches_nodes
};

// Core kinds: Namespace, Pod, ServiceAccount, Node.
ObjectBody decode_core(const Meta& meta, const YamlReader& doc);
// networking.k8s.io/v1 NetworkPolicy.
std::vector<Policy> decode_k8s_network_policy(const Meta& meta, const YamlReader& spec);
// Calico (projectcalico.org/v3, crd.projectcalico.org/v1).
std::vector<Policy> decode_calico_policy(const Meta& meta, const YamlReader& spec);
Tier decode_calico_tier(const Meta& meta, const YamlReader& spec);
NetworkSet decode_calico_network_set(const Meta& meta, const YamlReader& spec);
Endpoint decode_calico_host_endpoint(const Meta& meta, const YamlReader& spec);
// cilium.io/v2 CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy.
std::vector<Policy> decode_cilium_policy(const Meta& meta, const YamlReader& doc);

// The isolation held in place of a policy object that failed to decode (policy/store.h):
// only its identity, selector and directions are read, leniently; each throws DecodeFailure
// when the selector itself cannot be read.
std::vector<Policy> hold_k8s_network_policy(const Meta& meta, const YamlReader& spec);
std::vector<Policy> hold_calico_policy(const Meta& meta, const YamlReader& spec);
std::vector<Policy> hold_cilium_policy(const Meta& meta, const YamlReader& doc);

// Shared pieces.
// A Kubernetes LabelSelector (matchLabels, matchExpressions). Null reads as nullopt.
std::optional<Selector> read_label_selector(const YamlReader& r);
// A Calico selector string (syntax errors name the column).
Selector read_calico_selector(const YamlReader& r);
std::vector<Cidr> read_cidrs(const YamlReader& r);
Cidr read_cidr(const YamlReader& r);
uint8_t read_protocol(const YamlReader& r);
// A `types` / `policyTypes` list into the policy's ingress and egress flags. False when the
// list is missing or empty (each dialect then infers the types its own way).
bool read_policy_types(const std::optional<YamlReader>& list, Policy& p);

}  // namespace palisade::policy::detail
