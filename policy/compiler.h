// The compiler: a snapshot into ACL rules and a verdict table (CompiledPolicy), exact with
// respect to the reference evaluator (tests/control/verify/differential_test.cc holds it to that).
//
// Endpoints whose applied policies are the same share one policy set, and so one rule list:
// the cost grows with distinct policy sets, not with pods. A set is keyed by its direction,
// its kind, its node and its applied policies tier by tier; the rules of one set are made
// once, from any member (policy/set_compiler.h). The daemon compiles through a
// CompileSession (policy/compile_session.h), which gives the same policy from a patch of the
// last one when only pods or a policy in place changed.
//
// Thread: any; compile() reads the snapshot and builds a new value.
// Limits: at most kMaxTiers tiers with policies (rte_acl categories); at most
//         options.max_rules rules per family. Crossing one is LimitExceeded, naming it.
// Order:  the output does not depend on the order the objects arrived in.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/compiled_policy.h"
#include "policy/error.h"
#include "policy/snapshot.h"

namespace palisade::policy {

struct CompileOptions {
  std::optional<std::string> node;  // compile only this node's endpoints; all when unset
  // Addresses DNS answers gave, with the name asked: the members of toFQDNs peers.
  std::vector<std::pair<IpAddr, std::string>> dns;
  // A bound on the rules of one family, so that policies that explode into prefixes and
  // port ranges are an error before they are minutes of rte_acl build: (50k pods, 5k
  // policies) needs ~100k; 250k IPv6 rules take ~20 s to build on a small machine.
  size_t max_rules = 250'000;
  // A bound on what one rule of one policy may expand into. A rule with notSelector or
  // notNets on both sides is the product of two complements (three dual-stack pods can make
  // 30k IPv6 rules): the error names the policy and the rule.
  size_t max_rules_per_policy_rule = 50'000;
};

Result<CompiledPolicy> compile(const Snapshot& snap, const CompileOptions& options = {});

// LimitExceeded when either family has more than options.max_rules rules; `where` says how far
// the compile had got.
std::optional<Error> check_rule_limit(const CompiledPolicy& p, const CompileOptions& options,
                                      const std::string& where);

}  // namespace palisade::policy
