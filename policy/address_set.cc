#include "policy/address_set.h"

namespace palisade::policy {

namespace {

constexpr u128 kMax4 = 0xffffffffu;
constexpr u128 kMax6 = ~u128(0);

u128 to_int(const IpAddr& ip) {
  u128 v = 0;
  for (size_t i = 0; i < ip.width_bits() / 8; ++i) {
    v = (v << 8) | ip.bytes[i];
  }
  return v;
}

IpAddr from_int(u128 v, uint8_t family) {
  IpAddr ip;
  ip.family = family;
  size_t n = family == 4 ? 4 : 16;
  for (size_t i = 0; i < n; ++i) {
    ip.bytes[n - 1 - i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return ip;
}

// [first, last] of a prefix.
std::pair<u128, u128> bounds(const Cidr& c) {
  const unsigned width = static_cast<unsigned>(c.addr.width_bits());
  const u128 base = to_int(c.addr);
  const unsigned host_bits = width - c.prefix_len;
  const u128 span = host_bits == 128 ? kMax6 : ((u128(1) << host_bits) - 1);
  return {base, base + span};
}

}  // namespace

AddressSet::AddressSet() : v4_(kMax4), v6_(kMax6) {}

AddressSet AddressSet::all() {
  AddressSet s;
  s.v4_ = IntervalSet<u128>::all(kMax4);
  s.v6_ = IntervalSet<u128>::all(kMax6);
  return s;
}

AddressSet AddressSet::of(const Cidr& cidr) {
  AddressSet s;
  s.add(cidr);
  return s;
}

AddressSet AddressSet::of(const IpAddr& ip) {
  AddressSet s;
  s.add(ip);
  return s;
}

AddressSet AddressSet::of_many(const std::vector<IpAddr>& ips, const std::vector<Cidr>& cidrs) {
  std::vector<IntervalSet<u128>::Interval> v4, v6;
  for (const IpAddr& ip : ips) {
    const u128 v = to_int(ip);
    (ip.family == 4 ? v4 : v6).push_back({v, v});
  }
  for (const Cidr& c : cidrs) {
    auto [first, last] = bounds(c);
    (c.addr.family == 4 ? v4 : v6).push_back({first, last});
  }
  AddressSet s;
  s.v4_.add_all(v4);
  s.v6_.add_all(v6);
  return s;
}

void AddressSet::add(const Cidr& cidr) {
  auto [first, last] = bounds(cidr);
  family(cidr.addr.family).add(first, last);
}

void AddressSet::add(const IpAddr& ip) {
  u128 v = to_int(ip);
  family(ip.family).add(v, v);
}

AddressSet AddressSet::unite(const AddressSet& o) const {
  AddressSet s;
  s.v4_ = v4_.unite(o.v4_);
  s.v6_ = v6_.unite(o.v6_);
  return s;
}

AddressSet AddressSet::intersect(const AddressSet& o) const {
  AddressSet s;
  s.v4_ = v4_.intersect(o.v4_);
  s.v6_ = v6_.intersect(o.v6_);
  return s;
}

AddressSet AddressSet::subtract(const AddressSet& o) const {
  AddressSet s;
  s.v4_ = v4_.subtract(o.v4_);
  s.v6_ = v6_.subtract(o.v6_);
  return s;
}

AddressSet AddressSet::complement() const {
  AddressSet s;
  s.v4_ = v4_.complement();
  s.v6_ = v6_.complement();
  return s;
}

bool AddressSet::contains(const IpAddr& ip) const { return family(ip.family).contains(to_int(ip)); }

std::vector<Cidr> AddressSet::prefixes(uint8_t f) const {
  const unsigned width = f == 4 ? 32 : 128;
  std::vector<Cidr> out;
  for (const auto& interval : family(f).intervals()) {
    u128 lo = interval.first;
    const u128 hi = interval.last;
    while (true) {
      // The largest aligned block that starts at lo and ends within hi.
      unsigned host_bits = 0;
      while (host_bits < width) {
        const unsigned next = host_bits + 1;
        const u128 mask = next == 128 ? kMax6 : ((u128(1) << next) - 1);
        if ((lo & mask) != 0 || (next < 128 && lo + mask > hi) || (next == 128 && hi != kMax6)) {
          break;
        }
        host_bits = next;
      }
      out.push_back(
          Cidr{from_int(lo, static_cast<uint8_t>(f)), static_cast<uint8_t>(width - host_bits)});
      const u128 span = host_bits == 128 ? kMax6 : ((u128(1) << host_bits) - 1);
      if (lo + span >= hi) {
        break;
      }
      lo = lo + span + 1;
    }
  }
  return out;
}

}  // namespace palisade::policy
