// Random flows drawn from what a random cluster and its rules name, and their descriptions.
#include <algorithm>

#include "tests/random/random_cluster.h"

namespace palisade::testing {

using policy::Cidr;
using policy::IpAddr;

namespace {

IpAddr last_in(const Cidr& c) {
  IpAddr a = c.addr;
  for (size_t bit = c.prefix_len; bit < a.width_bits(); ++bit) {
    a.bytes[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
  }
  return a;
}

// The address after (or before) this one, wrapping around.
IpAddr step(IpAddr a, int delta) {
  const size_t n = a.family == 4 ? 4 : 16;
  for (size_t i = n; i-- > 0;) {
    const int v = a.bytes[i] + delta;
    a.bytes[i] = static_cast<uint8_t>(v & 0xff);
    if (v >= 0 && v <= 0xff) {
      break;
    }
  }
  return a;
}

}  // namespace

policy::Flow ClusterGenerator::flow(const RandomCluster& c) {
  using namespace policy::ipproto;
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); };
  auto chance = [&](double p) { return std::bernoulli_distribution(p)(rng_); };
  auto pick = [&](const auto& v) -> const auto& {
    return v[static_cast<size_t>(uni(0, static_cast<int>(v.size()) - 1))];
  };
  const bool v6 = !c.v6.empty() && chance(0.25);
  const uint8_t family = v6 ? 6 : 4;
  std::vector<Cidr> nets;
  for (const Cidr& n : c.nets) {
    if (n.addr.family == family) {
      nets.push_back(n);
    }
  }
  const std::vector<IpAddr>& endpoints = v6 ? c.endpoints_v6 : c.endpoints_v4;
  const std::vector<IpAddr>& node_addresses = v6 ? c.nodes_v6 : c.nodes_v4;
  enum class From { Endpoint, Node, Anywhere };
  auto address = [&](From from) -> IpAddr {
    if (from == From::Endpoint && !endpoints.empty()) {
      return pick(endpoints);
    }
    if (from == From::Node && !node_addresses.empty()) {
      return pick(node_addresses);
    }
    const int r = uni(0, 99);
    if (r < 65 || nets.empty()) {
      return pick(v6 ? c.v6 : c.v4);
    }
    if (r < 95) {  // inside a net, at its ends, or just outside it
      const Cidr& n = pick(nets);
      switch (uni(0, 4)) {
        case 0:
          return n.addr;
        case 1:
          return last_in(n);
        case 2:
          return step(last_in(n), 1);
        case 3:
          return step(n.addr, -1);
        default: {
          IpAddr a = n.addr;
          for (size_t bit = n.prefix_len; bit < a.width_bits(); ++bit) {
            if (chance(0.5)) {
              a.bytes[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
            }
          }
          return a;
        }
      }
    }
    IpAddr a = v6 ? *IpAddr::parse("2001:db8::") : IpAddr{};
    for (size_t i = v6 ? 8 : 0; i < (v6 ? 16u : 4u); ++i) {
      a.bytes[i] = static_cast<uint8_t>(uni(0, 255));
    }
    return a;
  };
  auto near = [&](int port) -> uint16_t {  // the port, or one of its neighbours
    return static_cast<uint16_t>(
        std::clamp(port + pick(std::vector<int>{-1, 0, 0, 0, 1}), 0, 65535));
  };
  auto any_port = [&]() -> uint16_t {
    const int r = uni(0, 99);
    if (r < 60 && !c.ports.empty()) {
      return near(pick(c.ports).port);
    }
    if (r < 70) {
      return pick(std::vector<uint16_t>{0, 1, 65535});
    }
    return static_cast<uint16_t>(uni(1, 65535));
  };
  auto ported = [](uint8_t p) { return p == kTcp || p == kUdp || p == kSctp || p == kUdpLite; };

  policy::Flow f;
  // Mostly flows with an endpoint on one side at least, some between endpoints and nodes
  // (node exceptions, host and remote-node entities); the rest from anywhere.
  // With toFQDNs policies, mostly pods' egress to anywhere: where DNS names matter.
  const int from = uni(0, 99);
  const From src = from < (shape_.fqdn ? 80 : 45)   ? From::Endpoint
                   : from < (shape_.fqdn ? 85 : 55) ? From::Node
                                                    : From::Anywhere;
  const int to = uni(0, 99) + (shape_.fqdn ? 25 : 0);
  const From dst = src != From::Endpoint ? (to < 85 ? From::Endpoint : From::Anywhere)
                   : to < 45             ? From::Endpoint
                   : to < 60             ? From::Node
                                         : From::Anywhere;
  f.src = address(src);
  f.dst = address(dst);
  // Protocol and ports: aimed at what the rules and the destination's named ports say, or
  // anything.
  const auto named = c.named_ports.find(f.dst);
  const int r = uni(0, 99);
  if (r < 20 && named != c.named_ports.end()) {
    const RandomCluster::PortHint& h = pick(named->second);
    // Sometimes the number under another protocol: a name resolves per protocol.
    f.protocol = chance(0.7) ? h.protocol : pick(std::vector<uint8_t>{kTcp, kUdp, kSctp});
    f.dst_port = chance(0.8) ? h.port : near(h.port);
  } else if (r < 50 && !c.ports.empty()) {
    const RandomCluster::PortHint& h = pick(c.ports);
    f.protocol = h.protocol != 0 ? h.protocol : pick(std::vector<uint8_t>{kTcp, kUdp, kSctp});
    f.dst_port = near(h.port);
  } else if (r < 65 && !c.icmp.empty()) {
    const RandomCluster::IcmpHint& h = pick(c.icmp);
    f.protocol = chance(0.8) ? h.protocol : (v6 ? kIcmpV6 : kIcmp);
    f.icmp_type = chance(0.85) ? h.type : static_cast<uint8_t>(h.type + 1);
    f.icmp_code = chance(0.6) ? h.code : static_cast<uint8_t>(uni(0, 4));
  } else {
    const int p = uni(0, 99);
    if (p < 35) {
      f.protocol = kTcp;
    } else if (p < 57) {
      f.protocol = kUdp;
    } else if (p < 65) {
      f.protocol = kSctp;
    } else if (p < 80) {
      f.protocol = v6 ? kIcmpV6 : kIcmp;
    } else if (p < 83) {
      f.protocol = v6 ? kIcmp : kIcmpV6;  // the other family's
    } else if (p < 87) {
      f.protocol = kUdpLite;
    } else if (p < 95) {
      f.protocol = 47;  // GRE: no ports
    } else {
      f.protocol = static_cast<uint8_t>(uni(0, 255));
    }
    if (f.protocol == kIcmp || f.protocol == kIcmpV6) {
      f.icmp_type = static_cast<uint8_t>(uni(0, 255));
      f.icmp_code = static_cast<uint8_t>(uni(0, 255));
    } else if (ported(f.protocol)) {
      f.dst_port = any_port();
    } else if (chance(0.5)) {
      // A protocol without ports: whatever the key's port fields hold must not matter.
      f.src_port = static_cast<uint16_t>(uni(0, 65535));
      f.dst_port = static_cast<uint16_t>(uni(0, 65535));
    }
  }
  if (ported(f.protocol)) {
    // Source ports: Calico rules name them too, by number or by the source's port names.
    const auto src_named = c.named_ports.find(f.src);
    const int s = uni(0, 99);
    if (s < 10 && src_named != c.named_ports.end()) {
      f.src_port = pick(src_named->second).port;
    } else if (s < 35) {
      f.src_port = any_port();
    } else {
      f.src_port = static_cast<uint16_t>(uni(1024, 65535));
    }
  }
  if (shape_.fqdn && !c.dns_names.empty() && chance(0.7)) {
    f.fqdn = pick(c.dns_names);
  }
  return f;
}

std::string describe(const policy::Flow& f) {
  const bool icmp = f.protocol == policy::ipproto::kIcmp || f.protocol == policy::ipproto::kIcmpV6;
  std::string out = policy::protocol_name(f.protocol) + " " + f.src.to_string();
  if (!icmp) {
    out += " sport " + std::to_string(f.src_port);
  }
  out += " -> " + f.dst.to_string();
  if (icmp) {
    out += " type " + (f.icmp_type ? std::to_string(*f.icmp_type) : std::string("-")) + " code " +
           (f.icmp_code ? std::to_string(*f.icmp_code) : std::string("-"));
  } else {
    out += " dport " + std::to_string(f.dst_port);
  }
  if (f.fqdn) {
    out += " fqdn " + *f.fqdn;
  }
  return out;
}

}  // namespace palisade::testing
