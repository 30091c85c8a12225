#include "policy/model.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

namespace palisade::policy {

namespace {
constexpr std::array<std::pair<std::string_view, uint8_t>, 6> kProtocolNames{{
    {"tcp", ipproto::kTcp},
    {"udp", ipproto::kUdp},
    {"sctp", ipproto::kSctp},
    {"icmp", ipproto::kIcmp},
    {"icmpv6", ipproto::kIcmpV6},
    {"udplite", ipproto::kUdpLite},
}};
}  // namespace

const char* action_name(Action a) {
  switch (a) {
    case Action::Allow:
      return "Allow";
    case Action::Deny:
      return "Deny";
    case Action::Pass:
      return "Pass";
    case Action::Log:
      return "Log";
  }
  return "?";
}

std::optional<uint8_t> parse_protocol(std::string_view text) {
  std::string lower(text);
  std::ranges::transform(lower, lower.begin(),
                         [](char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& [name, number] : kProtocolNames) {
    if (lower == name) {
      return number;
    }
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size() && value <= 255) {
    return static_cast<uint8_t>(value);
  }
  return std::nullopt;
}

std::string protocol_name(uint8_t proto) {
  switch (proto) {
    case ipproto::kTcp:
      return "TCP";
    case ipproto::kUdp:
      return "UDP";
    case ipproto::kSctp:
      return "SCTP";
    case ipproto::kIcmp:
      return "ICMP";
    case ipproto::kIcmpV6:
      return "ICMPv6";
    case ipproto::kUdpLite:
      return "UDPLite";
    default:
      return std::to_string(proto);
  }
}

}  // namespace palisade::policy
