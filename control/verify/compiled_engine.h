// The compiled engine of `palisadectl verify`: each scenario's snapshot compiled into rte_acl
// tables and every flow classified on them (CompiledEvaluator). A flow that
// carries an HTTP request is reported as skipped: requests are judged by the L7 stage, which
// the tables do not hold.
#pragma once

#include <memory>

#include "control/verify/verify.h"

namespace palisade::control {

// Starts the EAL (no hugepages) on first use.
std::unique_ptr<VerdictEngine> make_compiled_engine();

}  // namespace palisade::control
