// Holdbacks: the places where a snapshot enforces less than its objects say, never more, and
// why. Two kinds today:
//   - a rule whose port carries L7 conditions (Cilium rules.http, rules.dns), which admits
//     no connection because no stage judges L7 yet (Rule::has_l7);
//   - a rejected policy object held in place as isolation (ObjectStore, policy/store.h),
//     with the endpoints it holds.
// The daemon logs them when they change, and reports them in /readyz, its metrics and
// `palisadectl policies`, so that nothing is narrowed without a word.
#pragma once

#include <string>
#include <vector>

#include "policy/snapshot.h"

namespace palisade::policy {

struct Holdback {
  enum class Kind : uint8_t { L7NotEnforced, RejectedHeld };
  Kind kind = Kind::L7NotEnforced;
  std::string policy;  // the object, as `by` names it: "prod/cnp.l7-api", "default.deny-all"
  std::string source;  // file:line, or "api"
  // L7NotEnforced: the rules' fields ("spec.ingress[0] rules.http"); RejectedHeld: the
  // directions held ("ingress and egress").
  std::string where;
  std::string why;                     // RejectedHeld: the object's error
  std::vector<std::string> endpoints;  // RejectedHeld: "ns/pod" or a host endpoint's name

  // One line: what is held back, where, and why.
  std::string to_string() const;
};

// Every holdback of `snap`, L7 rules first, each kind in the snapshot's policy order.
std::vector<Holdback> holdbacks(const Snapshot& snap);

// The number of distinct endpoints that rejected objects hold isolated.
size_t endpoints_held(const std::vector<Holdback>& holdbacks);

}  // namespace palisade::policy
