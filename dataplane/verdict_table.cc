#include "dataplane/verdict_table.h"

namespace palisade::dataplane {

namespace {

TierAction action_of(policy::VerdictEntry::Kind kind) {
  using Kind = policy::VerdictEntry::Kind;
  switch (kind) {
    case Kind::Allow:
    case Kind::Node:
    case Kind::Failsafe:
      return TierAction::Allow;
    case Kind::Deny:
    case Kind::EndOfTierDeny:
      return TierAction::Deny;
    case Kind::Pass:
    case Kind::EndOfTierPass:
      return TierAction::Pass;
  }
  return TierAction::Deny;  // not reached: every kind is named above
}

}  // namespace

VerdictTable::VerdictTable(const policy::CompiledPolicy& policy)
    : categories_(policy.num_categories) {
  actions_.reserve(policy.verdicts.size());
  for (const policy::VerdictEntry& v : policy.verdicts) {
    actions_.push_back(action_of(v.kind));
  }
  profile_allows_.reserve(policy.sets.size());
  for (const policy::PolicySet& s : policy.sets) {
    profile_allows_.push_back(s.profile_allows ? 1 : 0);
  }
}

}  // namespace palisade::dataplane
