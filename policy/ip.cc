#include "policy/ip.h"

#include <arpa/inet.h>

#include <charconv>

namespace palisade::policy {

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) {
    return std::nullopt;
  }
  std::string s(text);
  IpAddr ip;
  if (s.find(':') == std::string::npos) {
    ip.family = 4;
    if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) != 1) {
      return std::nullopt;
    }
  } else {
    ip.family = 6;
    if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1) {
      return std::nullopt;
    }
  }
  return ip;
}

std::string IpAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf));
  return buf;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  size_t slash = text.find('/');
  std::optional<IpAddr> ip = IpAddr::parse(text.substr(0, slash));
  if (!ip) {
    return std::nullopt;
  }
  Cidr c{*ip, static_cast<uint8_t>(ip->width_bits())};
  if (slash != std::string_view::npos) {
    std::string_view len = text.substr(slash + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), value);
    if (len.empty() || ec != std::errc() || end != len.data() + len.size() ||
        value > ip->width_bits()) {
      return std::nullopt;
    }
    c.prefix_len = static_cast<uint8_t>(value);
  }
  for (size_t bit = c.prefix_len; bit < c.addr.width_bits(); ++bit) {
    c.addr.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  return c;
}

bool Cidr::contains(const IpAddr& ip) const {
  if (ip.family != addr.family) {
    return false;
  }
  for (size_t bit = 0; bit < prefix_len; ++bit) {
    uint8_t mask = static_cast<uint8_t>(0x80u >> (bit % 8));
    if ((ip.bytes[bit / 8] & mask) != (addr.bytes[bit / 8] & mask)) {
      return false;
    }
  }
  return true;
}

std::string Cidr::to_string() const { return addr.to_string() + "/" + std::to_string(prefix_len); }

}  // namespace palisade::policy
