#include "control/verify/classbench_export.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

namespace palisade::control {

namespace {

uint32_t v4(const policy::IpAddr& ip) {
  return (uint32_t{ip.bytes[0]} << 24) | (uint32_t{ip.bytes[1]} << 16) |
         (uint32_t{ip.bytes[2]} << 8) | ip.bytes[3];
}

std::string v6_full(const policy::IpAddr& ip) {
  char buf[64];
  std::snprintf(buf, sizeof(buf),
                "%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x",
                ip.bytes[0], ip.bytes[1], ip.bytes[2], ip.bytes[3], ip.bytes[4], ip.bytes[5],
                ip.bytes[6], ip.bytes[7], ip.bytes[8], ip.bytes[9], ip.bytes[10], ip.bytes[11],
                ip.bytes[12], ip.bytes[13], ip.bytes[14], ip.bytes[15]);
  return buf;
}

// ClassBench's protocol field is value/mask: a range becomes its aligned blocks.
std::vector<std::pair<unsigned, unsigned>> proto_blocks(unsigned first, unsigned last) {
  std::vector<std::pair<unsigned, unsigned>> out;
  while (first <= last) {
    unsigned size = 1;
    while ((first % (size * 2)) == 0 && first + size * 2 - 1 <= last && size * 2 <= 256) {
      size *= 2;
    }
    out.emplace_back(first, 0xffu & ~(size - 1));
    first += size;
    if (first > 255) {
      break;
    }
  }
  return out;
}

}  // namespace

policy::Result<ClassBenchCounts> export_classbench(const policy::CompiledPolicy& p,
                                                   const std::string& dir, size_t traces) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  ClassBenchCounts counts;
  for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
    const std::string path = dir + "/rules" + std::to_string(family) + ".cb";
    std::ofstream out(path);
    if (!out) {
      return policy::Error{policy::ErrorCode::Io, path, {}, {}, "cannot write the file"};
    }
    // rte_acl gives the highest priority to the first line: keep each category's order.
    std::vector<policy::AclRule> rules = p.rules(family);
    std::stable_sort(rules.begin(), rules.end(),
                     [](const auto& a, const auto& b) { return a.priority > b.priority; });
    for (const policy::AclRule& r : rules) {
      for (auto [value, mask] : proto_blocks(r.proto_first, r.proto_last)) {
        char proto[32];
        std::snprintf(proto, sizeof(proto), "0x%02x/0x%02x", value, mask);
        const std::string src = family == 4 ? r.src.addr.to_string() : v6_full(r.src.addr);
        const std::string dst = family == 4 ? r.dst.addr.to_string() : v6_full(r.dst.addr);
        out << '@' << src << '/' << int{r.src.prefix_len} << '\t' << dst << '/'
            << int{r.dst.prefix_len} << '\t' << r.sport.first << " : " << r.sport.last << '\t'
            << r.dport.first << " : " << r.dport.last << '\t' << proto << '\n';
        (family == 4 ? counts.rules4 : counts.rules6) += 1;
      }
    }
  }
  std::vector<const policy::EndpointBinding*> v4_endpoints;
  for (const policy::EndpointBinding& b : p.endpoints) {
    if (b.ip.family == 4) {
      v4_endpoints.push_back(&b);
    }
  }
  std::set<uint16_t> ports_named;
  for (const policy::AclRule& r : p.rules_v4) {
    if (r.dport.first == r.dport.last) {
      ports_named.insert(r.dport.first);
    }
  }
  std::vector<uint16_t> ports(ports_named.begin(), ports_named.end());
  if (ports.empty()) {
    ports.push_back(80);
  }
  const std::string path = dir + "/trace4.cb";
  std::ofstream out(path);
  if (!out) {
    return policy::Error{policy::ErrorCode::Io, path, {}, {}, "cannot write the file"};
  }
  std::mt19937 rng(1);
  for (size_t i = 0; i < traces && !v4_endpoints.empty(); ++i) {
    const auto* a = v4_endpoints[rng() % v4_endpoints.size()];
    const auto* b = v4_endpoints[rng() % v4_endpoints.size()];
    out << v4(a->ip) << '\t' << v4(b->ip) << '\t' << 40000 << '\t' << ports[rng() % ports.size()]
        << '\t' << 6 << '\n';
    ++counts.traces4;
  }
  return counts;
}

}  // namespace palisade::control
