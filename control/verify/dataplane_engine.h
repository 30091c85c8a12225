// The dataplane engine of `palisadectl verify`: every flow goes through the real packet path
// (dataplane::Dataplane and its Worker: parse, guard, conntrack, classify, route) as real
// frames on ring-backed ports, and the answer is what came out of which port.
//
// One dataplane serves a whole run: each scenario is published as a new policy generation,
// its pods bound to pod ports (up to kPodPorts; the others, and every address outside the
// scenario's node, sit behind the uplink). For each flow, conntrack is emptied, the first
// packet is sent in at the source's port and looked for at the destination's; then the reply
// is sent back the other way. The worker is stepped from this thread, so the run is
// deterministic. `by` comes from the flow event the worker recorded.
//
// A reply is reported for TCP and ICMP echo (a reply to nothing is dropped as no_connection,
// whatever policy says); for UDP and other protocols a reply to a denied flow would be judged
// as a new flow, so no reply is reported there. HTTP flows are skipped (the L7 stage).
#pragma once

#include <memory>

#include "control/verify/verify.h"

namespace palisade::control {

inline constexpr size_t kPodPorts = 24;

std::unique_ptr<VerdictEngine> make_dataplane_engine();

}  // namespace palisade::control
