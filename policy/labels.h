// Labels: the key/value pairs that selectors match.
#pragma once

#include <map>
#include <string>

namespace palisade::policy {

// Ordered, so that printing and hashing a label set is deterministic.
using Labels = std::map<std::string, std::string, std::less<>>;

}  // namespace palisade::policy
