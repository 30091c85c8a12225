// The resolver: which policies apply to an endpoint, per direction, tier by tier, in the
// order they are evaluated. Peer selectors inside the rules stay symbolic; the compiler turns
// them into address sets, the evaluator checks them address by address.
//
// It does not decide anything: the evaluator walks what it returns.
#pragma once

#include <vector>

#include "policy/snapshot.h"

namespace palisade::policy {

struct AppliedTier {
  const Tier* tier = nullptr;
  std::vector<const Policy*> policies;  // in evaluation order
};

// Tiers in which at least one policy applies to `ep` for `dir`, in evaluation order.
std::vector<AppliedTier> resolve(const Snapshot& snap, const Endpoint& ep, Direction dir);

// Whether `sel` selects `s` (scope, labels in the selector's dialect, service account).
bool selects(const Snapshot& snap, const EndpointSelector& sel, const Selectable& s);

// The selectable that stands for an endpoint of the snapshot.
const Selectable& selectable_of(const Snapshot& snap, const Endpoint& ep);

}  // namespace palisade::policy
