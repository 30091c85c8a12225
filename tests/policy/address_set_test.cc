#include "policy/address_set.h"

#include <gtest/gtest.h>

#include <random>

namespace palisade::policy {
namespace {

std::vector<std::string> strings(const std::vector<Cidr>& cidrs) {
  std::vector<std::string> out;
  for (const Cidr& c : cidrs) {
    out.push_back(c.to_string());
  }
  return out;
}

Cidr cidr(const char* text) { return *Cidr::parse(text); }
IpAddr ip(const char* text) { return *IpAddr::parse(text); }

TEST(IntervalSet, UnionMergesOverlapsAndNeighbours) {
  IntervalSet<uint32_t> s(100);
  s.add(10, 20);
  s.add(21, 30);
  s.add(5, 12);
  s.add(50, 60);
  ASSERT_EQ(s.intervals().size(), 2u);
  EXPECT_EQ(s.intervals()[0].first, 5u);
  EXPECT_EQ(s.intervals()[0].last, 30u);
}

TEST(IntervalSet, ComplementCoversTheRestOfTheRange) {
  IntervalSet<uint32_t> s(65535);
  s.add(0, 79);
  s.add(81, 65535);
  IntervalSet<uint32_t> c = s.complement();
  ASSERT_EQ(c.intervals().size(), 1u);
  EXPECT_EQ(c.intervals()[0].first, 80u);
  EXPECT_EQ(c.intervals()[0].last, 80u);
  EXPECT_TRUE(c.complement() == s);
  EXPECT_TRUE(IntervalSet<uint32_t>::all(65535).complement().empty());
  EXPECT_TRUE(IntervalSet<uint32_t>(65535).complement().is_all());
}

TEST(IntervalSet, RandomOperationsAgreeWithAPlainBitmap) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<bool> a(256), b(256);
    IntervalSet<uint32_t> sa(255), sb(255);
    for (int k = 0; k < 4; ++k) {
      uint32_t x = rng() % 256, y = rng() % 256;
      if (x > y) std::swap(x, y);
      sa.add(x, y);
      for (uint32_t v = x; v <= y; ++v) a[v] = true;
      x = rng() % 256, y = rng() % 256;
      if (x > y) std::swap(x, y);
      sb.add(x, y);
      for (uint32_t v = x; v <= y; ++v) b[v] = true;
    }
    IntervalSet<uint32_t> u = sa.unite(sb), i = sa.intersect(sb), d = sa.subtract(sb);
    for (uint32_t v = 0; v < 256; ++v) {
      ASSERT_EQ(u.contains(v), a[v] || b[v]) << v;
      ASSERT_EQ(i.contains(v), a[v] && b[v]) << v;
      ASSERT_EQ(d.contains(v), a[v] && !b[v]) << v;
    }
  }
}

TEST(AddressSet, ExceptBecomesTheFewestPrefixes) {
  // 10.0.0.0/8 except 10.0.1.0/24, as ipBlock writes it.
  AddressSet s = AddressSet::of(cidr("10.0.0.0/8")).subtract(AddressSet::of(cidr("10.0.1.0/24")));
  EXPECT_EQ(
      strings(s.prefixes(4)),
      (std::vector<std::string>{"10.0.0.0/24", "10.0.2.0/23", "10.0.4.0/22", "10.0.8.0/21",
                                "10.0.16.0/20", "10.0.32.0/19", "10.0.64.0/18", "10.0.128.0/17",
                                "10.1.0.0/16", "10.2.0.0/15", "10.4.0.0/14", "10.8.0.0/13",
                                "10.16.0.0/12", "10.32.0.0/11", "10.64.0.0/10", "10.128.0.0/9"}));
  EXPECT_FALSE(s.contains(ip("10.0.1.7")));
  EXPECT_TRUE(s.contains(ip("10.0.2.7")));
}

TEST(AddressSet, AdjacentHostsAggregate) {
  AddressSet s;
  for (const char* a : {"10.1.0.4", "10.1.0.5", "10.1.0.6", "10.1.0.7", "10.1.0.9"}) {
    s.add(ip(a));
  }
  EXPECT_EQ(strings(s.prefixes(4)), (std::vector<std::string>{"10.1.0.4/30", "10.1.0.9/32"}));
}

TEST(AddressSet, FamiliesStayApart) {
  AddressSet s = AddressSet::all().subtract(AddressSet::of(cidr("0.0.0.0/0")));
  EXPECT_TRUE(s.prefixes(4).empty());
  EXPECT_EQ(strings(s.prefixes(6)), (std::vector<std::string>{"::/0"}));
  EXPECT_EQ(strings(AddressSet::all().prefixes(4)), (std::vector<std::string>{"0.0.0.0/0"}));
}

TEST(AddressSet, Ipv6ComplementOfOneHost) {
  AddressSet s = AddressSet::of(ip("fd00::1")).complement();
  std::vector<Cidr> p = s.prefixes(6);
  EXPECT_EQ(p.size(), 128u);  // one prefix per bit of the excluded address
  EXPECT_FALSE(s.contains(ip("fd00::1")));
  EXPECT_TRUE(s.contains(ip("fd00::")));
  EXPECT_TRUE(s.contains(ip("ffff::")));
}

TEST(AddressSet, PrefixesCoverExactlyTheSet) {
  std::mt19937 rng(11);
  for (int round = 0; round < 100; ++round) {
    AddressSet s;
    for (int k = 0; k < 3; ++k) {
      IpAddr a;
      a.family = 4;
      a.bytes = {10, static_cast<uint8_t>(rng() % 4), static_cast<uint8_t>(rng()), 0};
      s = s.unite(AddressSet::of(Cidr{a, static_cast<uint8_t>(16 + rng() % 17)}));
      IpAddr b = a;
      b.bytes[3] = static_cast<uint8_t>(rng());
      s = s.subtract(AddressSet::of(Cidr{b, static_cast<uint8_t>(24 + rng() % 9)}));
    }
    AddressSet rebuilt;
    for (const Cidr& c : s.prefixes(4)) {
      rebuilt.add(c);
    }
    ASSERT_TRUE(rebuilt == s);
  }
}

}  // namespace
}  // namespace palisade::policy
