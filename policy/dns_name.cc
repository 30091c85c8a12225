#include "policy/dns_name.h"

#include <algorithm>
#include <cctype>
#include <regex>

namespace palisade::policy {

namespace {
std::string lower(std::string s) {
  std::ranges::transform(s, s.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}
}  // namespace

// Cilium's matchPattern: `*` stands for any run of DNS name characters within one label.
bool dns_rule_matches(const DnsRule& rule, const std::string& text) {
  std::string name = text;
  name = lower(name);
  if (name.ends_with('.')) {
    name.pop_back();
  }
  if (!rule.match_name.empty()) {
    std::string want = lower(rule.match_name);
    if (want.ends_with('.')) {
      want.pop_back();
    }
    return name == want;
  }
  std::string pattern = lower(rule.match_pattern);
  if (pattern.ends_with('.')) {
    pattern.pop_back();
  }
  if (pattern == "*") {
    return true;
  }
  std::string re;
  for (char c : pattern) {
    if (c == '*') {
      re += "[-a-z0-9_]*";
    } else if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_') {
      re += c;
    } else {
      re += std::string("\\") + c;
    }
  }
  return std::regex_match(name, std::regex(re));
}

}  // namespace palisade::policy
