// Matching of DNS names against Cilium's matchName / matchPattern.
#pragma once

#include <string>

#include "policy/model.h"

namespace palisade::policy {

// matchName compares whole names, case-insensitively, ignoring a trailing dot; in
// matchPattern, `*` stands for the characters of one label, and `*` alone for any name.
bool dns_rule_matches(const DnsRule& rule, const std::string& name);

}  // namespace palisade::policy
