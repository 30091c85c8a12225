#include "dataplane/hot/l3_rewrite.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "dataplane/hot/parse.h"

namespace palisade::dataplane {
namespace {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

constexpr Mac kGatewayMac = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
constexpr Mac kNextHopMac = {0x02, 0x00, 0x0a, 0x01, 0x00, 0x08};

void put16(Bytes& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}
uint16_t get16(const Bytes& b, size_t at) { return uint16_t((b[at] << 8) | b[at + 1]); }

// The IPv4 header checksum computed from scratch over `header` bytes at `at`, with the
// checksum field taken as 0.
uint16_t full_checksum(const Bytes& f, size_t at, size_t header) {
  uint32_t sum = 0;
  for (size_t i = 0; i < header; i += 2) {
    if (i != 10) sum += get16(f, at + i);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

Bytes eth(uint16_t ethertype, int vlan = -1) {
  Bytes b(6, 0xee);
  for (int i = 0; i < 6; ++i) b.push_back(uint8_t(0x10 + i));
  if (vlan >= 0) {
    put16(b, 0x8100);
    put16(b, uint16_t(vlan));
  }
  put16(b, ethertype);
  return b;
}
// An IPv4/UDP frame whose header fields come from `fill` (addresses, id, options, TOS), with
// the given TTL and a correct checksum.
Bytes ipv4_frame(uint8_t ttl, uint32_t fill, int vlan = -1, size_t option_words = 0) {
  Bytes f = eth(0x0800, vlan);
  const size_t at = f.size();
  const size_t header = 20 + 4 * option_words;
  f.push_back(uint8_t(0x40 | (header / 4)));
  f.push_back(uint8_t(fill));  // TOS
  put16(f, uint16_t(header + 8));
  put16(f, uint16_t(fill >> 8));  // id
  put16(f, 0x4000);               // DF
  f.push_back(ttl);
  f.push_back(17);
  put16(f, 0);
  for (int i = 0; i < 8; ++i) f.push_back(uint8_t(fill >> (i * 4)) ^ uint8_t(i * 37));
  for (size_t i = 0; i < 4 * option_words; ++i) f.push_back(1);  // NOPs
  const uint16_t c = full_checksum(f, at, header);
  f[at + 10] = uint8_t(c >> 8);
  f[at + 11] = uint8_t(c);
  f.insert(f.end(), {0x9c, 0x40, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00});  // UDP 40000 -> 53
  return f;
}
Bytes ipv6_frame(uint8_t hop_limit, int vlan = -1) {
  Bytes f = eth(0x86DD, vlan);
  f.insert(f.end(), {0x60, 0, 0, 0});
  put16(f, 8);
  f.push_back(17);
  f.push_back(hop_limit);
  for (int i = 0; i < 32; ++i) f.push_back(i < 16 ? 0xfd : 0xfe);
  f.insert(f.end(), {0x9c, 0x40, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00});
  return f;
}
ParsedPacket parsed(const Bytes& f) {
  ParsedPacket p;
  EXPECT_EQ(parse_packet(f.data(), uint32_t(f.size()), p), std::nullopt);
  return p;
}
bool rewrite(Bytes& f, const ParsedPacket& p) {
  return route_rewrite(f.data(), uint32_t(f.size()), p, kGatewayMac.data(), kNextHopMac.data());
}

uint32_t test_seed() {
  if (const char* s = std::getenv("PALISADE_TEST_SEED")) return uint32_t(std::stoul(s));
  return std::random_device{}();
}

TEST(RouteRewrite, Ipv4SetsMacsDecrementsTtlAndKeepsTheChecksumRight) {
  Bytes f = ipv4_frame(64, 0x12345678);
  const Bytes before = f;
  ASSERT_TRUE(rewrite(f, parsed(f)));
  EXPECT_EQ(Bytes(f.begin(), f.begin() + 6), Bytes(kNextHopMac.begin(), kNextHopMac.end()));
  EXPECT_EQ(Bytes(f.begin() + 6, f.begin() + 12), Bytes(kGatewayMac.begin(), kGatewayMac.end()));
  EXPECT_EQ(f[14 + 8], 63);
  EXPECT_EQ(get16(f, 14 + 10), full_checksum(f, 14, 20));
  for (size_t i = 12; i < f.size(); ++i) {
    if (i != 14 + 8 && i != 14 + 10 && i != 14 + 11) {
      EXPECT_EQ(f[i], before[i]) << "byte " << i;  // nothing else moves
    }
  }
  ParsedPacket again;  // and the parser, which verifies the checksum, accepts it
  EXPECT_EQ(parse_packet(f.data(), uint32_t(f.size()), again), std::nullopt);
}

TEST(RouteRewrite, IncrementalChecksumEqualsFullRecomputationForEveryTtl) {
  // Random headers at every TTL from 255 down to 2, options included: the incremental
  // update (RFC 1624) must give exactly the checksum computed from scratch, including the
  // headers whose checksum is 0x0000 or becomes it.
  const uint32_t seed = test_seed();
  SCOPED_TRACE("PALISADE_TEST_SEED=" + std::to_string(seed));
  std::mt19937 rng(seed);
  int zero_checksums = 0;
  for (int round = 0; round < 2000; ++round) {
    const uint32_t fill = rng();
    const size_t options = rng() % 3;
    for (int ttl = 255; ttl >= 2; --ttl) {
      Bytes f = ipv4_frame(uint8_t(ttl), fill, -1, options);
      const size_t header = 20 + 4 * options;
      ASSERT_TRUE(rewrite(f, parsed(f)));
      ASSERT_EQ(f[22], ttl - 1);
      ASSERT_EQ(get16(f, 24), full_checksum(f, 14, header)) << "ttl " << ttl << " fill " << fill;
      zero_checksums += get16(f, 24) == 0;
    }
  }
  // Constructed so the result is 0x0000: the checksum of a header whose other words sum to
  // 0xffff after the decrement.
  Bytes f = ipv4_frame(2, 0);
  for (uint32_t fill = 0; fill < 0x100000 && zero_checksums == 0; ++fill) {
    f = ipv4_frame(2, fill);
    ASSERT_TRUE(rewrite(f, parsed(f)));
    ASSERT_EQ(get16(f, 24), full_checksum(f, 14, 20)) << "fill " << fill;
    zero_checksums += get16(f, 24) == 0;
  }
  EXPECT_GT(zero_checksums, 0) << "no header reached checksum 0x0000; the edge went untested";
}

TEST(RouteRewrite, TtlOfOneOrZeroIsNotForwardedAndTheFrameIsLeftAlone) {
  for (uint8_t ttl : {uint8_t{1}, uint8_t{0}}) {
    Bytes f = ipv4_frame(ttl, 7);
    const ParsedPacket p = parsed(f);
    const Bytes before = f;
    EXPECT_FALSE(rewrite(f, p)) << int(ttl);
    EXPECT_EQ(f, before);
  }
  Bytes two = ipv4_frame(2, 7);
  ASSERT_TRUE(rewrite(two, parsed(two)));
  EXPECT_EQ(two[22], 1);  // leaves with 1: the next hop may still deliver it
}

TEST(RouteRewrite, Ipv6DecrementsTheHopLimit) {
  Bytes f = ipv6_frame(64);
  const Bytes before = f;
  ASSERT_TRUE(rewrite(f, parsed(f)));
  EXPECT_EQ(Bytes(f.begin(), f.begin() + 6), Bytes(kNextHopMac.begin(), kNextHopMac.end()));
  EXPECT_EQ(Bytes(f.begin() + 6, f.begin() + 12), Bytes(kGatewayMac.begin(), kGatewayMac.end()));
  EXPECT_EQ(f[14 + 7], 63);
  EXPECT_EQ(Bytes(f.begin() + 12, f.begin() + 21), Bytes(before.begin() + 12, before.begin() + 21));
  EXPECT_EQ(Bytes(f.begin() + 22, f.end()), Bytes(before.begin() + 22, before.end()));
  for (uint8_t hops : {uint8_t{1}, uint8_t{0}}) {
    Bytes g = ipv6_frame(hops);
    const Bytes unchanged = g;
    EXPECT_FALSE(rewrite(g, parsed(g)));
    EXPECT_EQ(g, unchanged);
  }
}

TEST(RouteRewrite, TaggedUplinkFrameKeepsItsTag) {
  Bytes f = ipv4_frame(64, 99, 42);
  const ParsedPacket p = parsed(f);
  ASSERT_EQ(p.l3_offset, 18);
  ASSERT_TRUE(rewrite(f, p));
  EXPECT_EQ(get16(f, 12), 0x8100);
  EXPECT_EQ(get16(f, 14), 42);
  EXPECT_EQ(get16(f, 16), 0x0800);
  EXPECT_EQ(f[18 + 8], 63);
  EXPECT_EQ(get16(f, 18 + 10), full_checksum(f, 18, 20));

  Bytes g = ipv6_frame(9, 7);
  ASSERT_TRUE(rewrite(g, parsed(g)));
  EXPECT_EQ(get16(g, 14), 7);
  EXPECT_EQ(g[18 + 7], 8);
}

TEST(RouteRewrite, ArpIsNotRouted) {
  Bytes f = eth(0x0806);
  f.resize(14 + 28, 0);
  const ParsedPacket p = parsed(f);
  ASSERT_EQ(p.kind, L3Kind::Arp);
  const Bytes before = f;
  EXPECT_FALSE(rewrite(f, p));
  EXPECT_EQ(f, before);
}

}  // namespace
}  // namespace palisade::dataplane
