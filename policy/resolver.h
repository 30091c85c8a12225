// The resolver: which policies apply to an endpoint, per direction, tier by tier, in the
// order they are evaluated. Peer selectors inside the rules stay symbolic; the compiler turns
// them into address sets, the evaluator checks them address by address.
//
// It does not decide anything: the evaluator walks what it returns.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "policy/snapshot.h"

namespace palisade::policy {

struct AppliedTier {
  const Tier* tier = nullptr;
  std::vector<const Policy*> policies;  // in evaluation order
};

// Tiers in which at least one policy applies to `ep` for `dir`, in evaluation order.
std::vector<AppliedTier> resolve(const Snapshot& snap, const Endpoint& ep, Direction dir);

// The same answers as resolve(), for many endpoints: policies confined to a namespace are
// grouped by it, so an endpoint is checked only against its namespace's policies and those
// that are not confined. The compiler uses it; the reference evaluator keeps the plain walk.
class PolicyIndex {
 public:
  explicit PolicyIndex(const Snapshot& snap);
  std::vector<AppliedTier> resolve(const Endpoint& ep, Direction dir) const;

 private:
  const Snapshot& snap_;
  std::map<std::string, std::vector<const Policy*>, std::less<>> by_namespace_;
  std::vector<const Policy*> unconfined_;
};

// Whether `sel` selects `s` (scope, labels in the selector's dialect, service account).
bool selects(const Snapshot& snap, const EndpointSelector& sel, const Selectable& s);

// The selectable that stands for an endpoint of the snapshot.
const Selectable& selectable_of(const Snapshot& snap, const Endpoint& ep);

}  // namespace palisade::policy
