// How a flow event reads in logs, in the main job's report and in `palisadectl flows`:
//   ALLOW gen 3 TCP 10.0.1.1:40000 (dev/frontend) -> 10.0.2.1:8080 (dev/backend) by
//   default/allow-fe
#pragma once

#include <string>

#include "dataplane/hot/flow_event.h"
#include "dataplane/ruleset.h"

namespace palisade::dataplane {

// `rs` is the generation that judged the event, or nullptr when it is gone (names of
// endpoints and policies are then left out).
std::string describe_flow_event(const dataplane::FlowEvent& e, const dataplane::Ruleset* rs);

// What decided, as `by` names it in scenarios: the side that denied, else the destination's
// ingress, else the source's egress; "" when neither side is judged here.
std::string decided_by(const dataplane::FlowEvent& e, const dataplane::Ruleset& rs);

}  // namespace palisade::dataplane
