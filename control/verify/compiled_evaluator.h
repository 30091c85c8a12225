// CompiledEvaluator: the verdict for a flow's first packet from the compiled tables — the
// same question the reference evaluator answers, asked of rte_acl: the source's egress set,
// then the destination's ingress set, each one classify call and the workers' tier walk.
// For palisadectl's compiled engine and the differential tests; workers do the same per burst.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "dataplane/acl_tables.h"
#include "dataplane/verdict_table.h"
#include "policy/compiled_policy.h"
#include "policy/evaluator.h"

namespace palisade::control {

struct CompiledVerdict {
  bool allow = true;
  std::optional<dataplane::Outcome> egress, ingress;
  std::string by;  // as the reference's Decision::by_name() names the deciding side
};

class CompiledEvaluator {
 public:
  CompiledEvaluator(const policy::CompiledPolicy& policy, const dataplane::AclTables& tables)
      : policy_(policy), tables_(tables), verdicts_(policy) {}
  CompiledVerdict evaluate(const policy::Flow& flow) const;

 private:
  dataplane::Outcome judge(uint32_t set, const policy::Flow& flow) const;
  const policy::CompiledPolicy& policy_;
  const dataplane::AclTables& tables_;
  dataplane::VerdictTable verdicts_;  // the walk the workers run
};

}  // namespace palisade::control
