#include "policy/ip.h"

#include <gtest/gtest.h>

namespace palisade::policy {
namespace {

TEST(IpAddr, ParsesBothFamiliesAndPrintsThemBack) {
  EXPECT_EQ(IpAddr::parse("10.1.2.3")->to_string(), "10.1.2.3");
  EXPECT_EQ(IpAddr::parse("10.1.2.3")->family, 4);
  EXPECT_EQ(IpAddr::parse("fd00:0::10")->to_string(), "fd00::10");
  EXPECT_EQ(IpAddr::parse("fd00::10")->family, 6);
}

TEST(IpAddr, RejectsWhatIsNotAnAddress) {
  for (const char* bad :
       {"", "10.1.2", "10.1.2.256", "1.2.3.4/32", " 1.2.3.4", "fd00:::1", "host", "[fd00::1]"}) {
    EXPECT_FALSE(IpAddr::parse(bad).has_value()) << bad;
  }
}

TEST(Cidr, ContainsItsAddressesOnly) {
  Cidr c = *Cidr::parse("10.0.0.0/8");
  EXPECT_TRUE(c.contains(*IpAddr::parse("10.255.1.1")));
  EXPECT_FALSE(c.contains(*IpAddr::parse("11.0.0.1")));
  EXPECT_FALSE(c.contains(*IpAddr::parse("::a00:1")));  // other family never matches
}

TEST(Cidr, ZeroLengthPrefixHoldsTheWholeFamily) {
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(*IpAddr::parse("203.0.113.9")));
  EXPECT_FALSE(Cidr::parse("0.0.0.0/0")->contains(*IpAddr::parse("2001:db8::1")));
  EXPECT_TRUE(Cidr::parse("::/0")->contains(*IpAddr::parse("2001:db8::1")));
}

TEST(Cidr, OddPrefixLengthsSplitInsideAByte) {
  Cidr c = *Cidr::parse("192.168.0.0/23");
  EXPECT_TRUE(c.contains(*IpAddr::parse("192.168.1.255")));
  EXPECT_FALSE(c.contains(*IpAddr::parse("192.168.2.0")));
  Cidr v6 = *Cidr::parse("fd00::/63");
  EXPECT_TRUE(v6.contains(*IpAddr::parse("fd00:0:0:1::5")));
  EXPECT_FALSE(v6.contains(*IpAddr::parse("fd00:0:0:2::5")));
}

TEST(Cidr, BareAddressIsAHostPrefix) {
  EXPECT_EQ(Cidr::parse("169.254.169.254")->to_string(), "169.254.169.254/32");
  EXPECT_EQ(Cidr::parse("fd00::1")->to_string(), "fd00::1/128");
}

TEST(Cidr, HostBitsAreCleared) {
  EXPECT_EQ(Cidr::parse("10.1.2.3/8")->to_string(), "10.0.0.0/8");
  EXPECT_EQ(Cidr::parse("fd00::ffff/112")->to_string(), "fd00::/112");
}

TEST(Cidr, RejectsBadPrefixes) {
  for (const char* bad :
       {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x", "fd00::/129", "10.0.0/8", "/8"}) {
    EXPECT_FALSE(Cidr::parse(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace palisade::policy
