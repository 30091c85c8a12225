// AddressSet: a set of IPv4 and IPv6 addresses, exact under union, intersection and
// difference, that turns into the fewest prefixes covering exactly its addresses.
#pragma once

#include <vector>

#include "policy/interval_set.h"
#include "policy/ip.h"

namespace palisade::policy {

using u128 = unsigned __int128;

class AddressSet {
 public:
  AddressSet();  // empty
  static AddressSet all();
  static AddressSet of(const Cidr& cidr);
  static AddressSet of(const IpAddr& ip);
  // Many addresses and prefixes at once, in O(n log n).
  static AddressSet of_many(const std::vector<IpAddr>& ips, const std::vector<Cidr>& cidrs = {});

  void add(const Cidr& cidr);
  void add(const IpAddr& ip);
  AddressSet unite(const AddressSet& o) const;
  AddressSet intersect(const AddressSet& o) const;
  AddressSet subtract(const AddressSet& o) const;
  AddressSet complement() const;
  bool contains(const IpAddr& ip) const;
  bool empty() const { return v4_.empty() && v6_.empty(); }

  // The fewest prefixes of one family whose union is exactly this set's addresses of it.
  std::vector<Cidr> prefixes(uint8_t family) const;

  friend bool operator==(const AddressSet&, const AddressSet&) = default;

 private:
  IntervalSet<u128>& family(uint8_t f) { return f == 4 ? v4_ : v6_; }
  const IntervalSet<u128>& family(uint8_t f) const { return f == 4 ? v4_ : v6_; }
  IntervalSet<u128> v4_, v6_;
};

}  // namespace palisade::policy
