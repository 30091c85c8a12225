// IpAddr and Cidr: IPv4 and IPv6 addresses and prefixes, one type for both families.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace palisade::policy {

struct IpAddr {
  uint8_t family = 4;               // 4 or 6
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

  // "10.0.0.1", "fd00::1". No brackets, no zone, no surrounding space.
  static std::optional<IpAddr> parse(std::string_view text);
  std::string to_string() const;
  size_t width_bits() const { return family == 4 ? 32 : 128; }
  auto operator<=>(const IpAddr&) const = default;
};

struct Cidr {
  IpAddr addr;  // host bits are zero
  uint8_t prefix_len = 0;

  // "10.0.0.0/8", "fd00::/64"; a bare address is a host prefix (/32, /128). Host bits set
  // in the address are cleared, as Kubernetes and Calico accept "10.0.0.1/8".
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const IpAddr& ip) const;
  std::string to_string() const;
  auto operator<=>(const Cidr&) const = default;
};

}  // namespace palisade::policy
