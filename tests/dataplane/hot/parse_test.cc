#include "dataplane/hot/parse.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

namespace palisade::dataplane {
namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}
Bytes eth(uint16_t ethertype, int vlan = -1) {
  Bytes b(12, 0xaa);
  if (vlan >= 0) {
    put16(b, 0x8100);
    put16(b, uint16_t(vlan));
  }
  put16(b, ethertype);
  return b;
}
// An IPv4 header with a correct checksum; `frag` is the flags/offset word.
Bytes ipv4(uint8_t proto, size_t payload, uint16_t frag = 0, Bytes options = {}) {
  const size_t header = 20 + options.size();
  Bytes h = {uint8_t(0x40 | (header / 4)), 0};
  put16(h, uint16_t(header + payload));
  put16(h, 0x1234);
  put16(h, frag);
  h.push_back(64);
  h.push_back(proto);
  put16(h, 0);
  for (uint8_t a : {10, 1, 0, 1, 10, 1, 0, 2}) {
    h.push_back(a);
  }
  h.insert(h.end(), options.begin(), options.end());
  uint32_t sum = 0;
  for (size_t i = 0; i < h.size(); i += 2) {
    sum += (h[i] << 8) | h[i + 1];
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  h[10] = uint8_t(~sum >> 8);
  h[11] = uint8_t(~sum);
  return h;
}
Bytes ipv6(uint8_t next, size_t payload) {
  Bytes h = {0x60, 0, 0, 0};
  put16(h, uint16_t(payload));
  h.push_back(next);
  h.push_back(64);
  for (int i = 0; i < 32; ++i) {
    h.push_back(i < 16 ? 0xfd : 0xfe);
  }
  return h;
}
Bytes tcp(uint16_t sport, uint16_t dport, uint8_t flags = 0x02, uint8_t offset_words = 5) {
  Bytes t;
  put16(t, sport);
  put16(t, dport);
  t.resize(12, 0);
  t.push_back(uint8_t(offset_words << 4));
  t.push_back(flags);
  t.resize(20, 0);
  return t;
}
Bytes udp(uint16_t sport, uint16_t dport, uint16_t length = 8) {
  Bytes u;
  put16(u, sport);
  put16(u, dport);
  put16(u, length);
  put16(u, 0);
  return u;
}
// An IPv6 extension header of 8 bytes (fragment headers carry offset/M in bytes 2-3).
Bytes ext(uint8_t next, uint8_t len_units = 0, uint16_t frag_word = 0) {
  Bytes x = {next, len_units};
  put16(x, frag_word);
  for (int i = 0; i < 4; ++i) x.push_back(0x11);
  x.resize(8 + 8 * len_units, 0);
  return x;
}

std::optional<Drop> parse(const Bytes& b, ParsedPacket& p) {
  return parse_packet(b.data(), uint32_t(b.size()), p);
}

TEST(Parse, Ipv4TcpGivesAddressesAndPorts) {
  ParsedPacket p;
  Bytes t = tcp(40000, 8080);
  ASSERT_EQ(parse(cat({eth(0x0800), ipv4(6, t.size()), t}), p), std::nullopt);
  EXPECT_EQ(p.kind, L3Kind::Ipv4);
  EXPECT_EQ(p.proto, 6);
  EXPECT_EQ(p.sport, 40000);
  EXPECT_EQ(p.dport, 8080);
  EXPECT_EQ(p.src[3], 1);
  EXPECT_EQ(p.dst[3], 2);
  EXPECT_EQ(p.l4_offset, 34);
  EXPECT_FALSE(p.fragment);
}

TEST(Parse, VlanTagIsReadAndStackedTagsAreUnsupported) {
  ParsedPacket p;
  Bytes u = udp(1, 53);
  ASSERT_EQ(parse(cat({eth(0x0800, 42), ipv4(17, 8), u}), p), std::nullopt);
  EXPECT_EQ(p.vlan, 42);
  EXPECT_EQ(p.l3_offset, 18);
  EXPECT_EQ(parse(cat({eth(0x8100, 42), ipv4(17, 8), u}), p), Drop::UnsupportedL2);
}

TEST(Parse, Ipv4OptionsMoveTheL4Header) {
  ParsedPacket p;
  Bytes t = tcp(1, 22);
  ASSERT_EQ(parse(cat({eth(0x0800), ipv4(6, t.size(), 0, Bytes(8, 1)), t}), p), std::nullopt);
  EXPECT_EQ(p.l4_offset, 14 + 28);
  EXPECT_EQ(p.dport, 22);
}

TEST(Parse, BadLengthsAndChecksumsAreDropped) {
  ParsedPacket p;
  Bytes t = tcp(1, 2);
  Bytes good = cat({eth(0x0800), ipv4(6, t.size()), t});
  EXPECT_EQ(parse(Bytes(good.begin(), good.begin() + 13), p), Drop::TruncatedL2);
  EXPECT_EQ(parse(Bytes(good.begin(), good.begin() + 30), p), Drop::BadIpHeader);
  Bytes longer = good;
  longer[14 + 3] += 1;  // total length one past the frame (checksum is checked after)
  EXPECT_EQ(parse(longer, p), Drop::BadIpHeader);
  Bytes ihl = good;
  ihl[14] = 0x44;  // IHL 4: shorter than the fixed header
  EXPECT_EQ(parse(ihl, p), Drop::BadIpHeader);
  Bytes sum = good;
  sum[14 + 10] ^= 1;
  EXPECT_EQ(parse(sum, p), Drop::BadIpChecksum);
  Bytes padded = good;
  padded.resize(good.size() + 6, 0);  // Ethernet padding after the datagram is fine
  EXPECT_EQ(parse(padded, p), std::nullopt);
}

TEST(Parse, TcpHeaderAndFlagsAreChecked) {
  ParsedPacket p;
  auto with = [&](Bytes t) { return parse(cat({eth(0x0800), ipv4(6, t.size()), t}), p); };
  EXPECT_EQ(with(tcp(1, 2, 0x02, 4)), Drop::BadTcpHeader);   // data offset below 5
  EXPECT_EQ(with(tcp(1, 2, 0x02, 6)), Drop::BadTcpHeader);   // options past the payload
  EXPECT_EQ(with(tcp(1, 2, 0x03)), Drop::ImpossibleTcpFlags);  // SYN+FIN
  EXPECT_EQ(with(tcp(1, 2, 0x06)), Drop::ImpossibleTcpFlags);  // SYN+RST
  EXPECT_EQ(with(tcp(1, 2, 0x05)), Drop::ImpossibleTcpFlags);  // FIN+RST
  EXPECT_EQ(with(tcp(1, 2, 0x00)), Drop::ImpossibleTcpFlags);  // null scan
  EXPECT_EQ(with(tcp(1, 2, 0x12)), std::nullopt);              // SYN+ACK
  EXPECT_EQ(with(Bytes(19, 0)), Drop::TruncatedL4);
}

TEST(Parse, UdpLengthMustFitTheDatagram) {
  ParsedPacket p;
  EXPECT_EQ(parse(cat({eth(0x0800), ipv4(17, 8), udp(1, 2, 9)}), p), Drop::TruncatedL4);
  EXPECT_EQ(parse(cat({eth(0x0800), ipv4(17, 8), udp(1, 2, 7)}), p), Drop::TruncatedL4);
}

TEST(Parse, IcmpTypeAndCodeTakeThePortFields) {
  ParsedPacket p;
  Bytes icmp = {8, 0, 0, 0, 0, 1, 0, 1};
  ASSERT_EQ(parse(cat({eth(0x0800), ipv4(1, 8), icmp}), p), std::nullopt);
  EXPECT_EQ(p.sport, 8);
  EXPECT_EQ(p.dport, 0);
  EXPECT_EQ(parse(cat({eth(0x0800), ipv4(1, 4), Bytes(4, 0)}), p), Drop::TruncatedL4);
}

TEST(Fragments, FirstFragmentMustHoldTheTcpHeader) {
  // RFC 1858 tiny fragment attack: the flags would sit in the second fragment.
  ParsedPacket p;
  Bytes part(16, 0);
  EXPECT_EQ(parse(cat({eth(0x0800), ipv4(6, part.size(), 0x2000), part}), p), Drop::TinyFragment);
  Bytes t = tcp(1, 80);
  ASSERT_EQ(parse(cat({eth(0x0800), ipv4(6, t.size(), 0x2000), t}), p), std::nullopt);
  EXPECT_TRUE(p.first_fragment);
  EXPECT_EQ(p.dport, 80);
}

TEST(Fragments, TcpFragmentAtOffsetEightIsAnOverlapAttack) {
  ParsedPacket p;
  Bytes rest(16, 0);
  EXPECT_EQ(parse(cat({eth(0x0800), ipv4(6, rest.size(), 1), rest}), p),
            Drop::OverlappingFragment);
  ASSERT_EQ(parse(cat({eth(0x0800), ipv4(6, rest.size(), 3), rest}), p), std::nullopt);
  EXPECT_TRUE(p.fragment);
  EXPECT_FALSE(p.first_fragment);
  EXPECT_EQ(p.fragment_offset, 24);
  EXPECT_EQ(p.fragment_bytes, 16);
  EXPECT_EQ(p.l4_offset, 0);  // later fragments have no ports
}

TEST(Fragments, DatagramsPastTheLimitAreDropped) {
  ParsedPacket p;
  Bytes rest(100, 0);
  EXPECT_EQ(parse(cat({eth(0x0800), ipv4(17, rest.size(), 8180), rest}), p),
            Drop::OversizedFragment);  // offset 65440 + 100 bytes
}

TEST(Ipv6, ExtensionChainIsWalkedToTheUpperLayer) {
  ParsedPacket p;
  Bytes u = udp(5353, 53);
  Bytes chain = cat({ext(60), ext(43, 1), ext(17)});  // HbH -> DestOpts -> Routing -> UDP
  ASSERT_EQ(parse(cat({eth(0x86DD), ipv6(0, chain.size() + u.size()), chain, u}), p),
            std::nullopt);
  EXPECT_EQ(p.kind, L3Kind::Ipv6);
  EXPECT_EQ(p.proto, 17);
  EXPECT_EQ(p.dport, 53);
  EXPECT_EQ(p.l4_offset, 14 + 40 + 32);
}

TEST(Ipv6, BrokenChainsAreDropped) {
  ParsedPacket p;
  Bytes u = udp(1, 2);
  // Hop-by-Hop anywhere but first.
  Bytes late = cat({ext(0), ext(17)});
  EXPECT_EQ(parse(cat({eth(0x86DD), ipv6(60, late.size() + u.size()), late, u}), p),
            Drop::BadExtensionChain);
  // A header whose length runs past the payload.
  Bytes past = ext(17, 4);
  past.resize(8);
  EXPECT_EQ(parse(cat({eth(0x86DD), ipv6(60, past.size()), past}), p), Drop::BadExtensionChain);
  // More headers than the bound.
  Bytes many;
  for (int i = 0; i < kMaxIpv6ExtensionHeaders + 1; ++i) {
    many = cat({many, ext(60)});
  }
  EXPECT_EQ(parse(cat({eth(0x86DD), ipv6(60, many.size()), many}), p), Drop::BadExtensionChain);
  // Payload length past the frame.
  EXPECT_EQ(parse(cat({eth(0x86DD), ipv6(17, 100), u}), p), Drop::BadIpHeader);
}

TEST(Ipv6, FirstFragmentMustHoldTheWholeChain) {
  // RFC 7112: the upper-layer header must be in the first fragment.
  ParsedPacket p;
  Bytes frag = ext(60, 0, 0x0001);  // offset 0, M=1
  Bytes dest = ext(17, 2);
  dest.resize(12);  // cut: the chain runs past this fragment
  EXPECT_EQ(parse(cat({eth(0x86DD), ipv6(44, frag.size() + dest.size()), frag, dest}), p),
            Drop::TinyFragment);
  Bytes u = udp(1, 53, 100);  // UDP length covers the datagram, not this fragment
  Bytes whole = cat({ext(17, 0, 0x0001)});
  ASSERT_EQ(parse(cat({eth(0x86DD), ipv6(44, whole.size() + u.size()), whole, u}), p),
            std::nullopt);
  EXPECT_TRUE(p.first_fragment);
  EXPECT_EQ(p.dport, 53);
  Bytes later = ext(17, 0, 0x0008);  // offset 8
  ASSERT_EQ(parse(cat({eth(0x86DD), ipv6(44, later.size() + 8), later, Bytes(8, 0)}), p),
            std::nullopt);
  EXPECT_TRUE(p.fragment);
  EXPECT_EQ(p.l4_offset, 0);
  EXPECT_EQ(p.proto, 17);
  EXPECT_EQ(p.fragment_bytes, 8);  // after the fragment header
}

TEST(Ipv6, AtomicFragmentIsNoFragment) {
  ParsedPacket p;
  Bytes u = udp(1, 53);
  Bytes atomic = ext(17, 0, 0x0000);
  ASSERT_EQ(parse(cat({eth(0x86DD), ipv6(44, atomic.size() + u.size()), atomic, u}), p),
            std::nullopt);
  EXPECT_FALSE(p.fragment);
  EXPECT_EQ(p.dport, 53);
}

TEST(Parse, ArpIsItsOwnKindAndOtherEthertypesAreUnsupported) {
  ParsedPacket p;
  ASSERT_EQ(parse(cat({eth(0x0806), Bytes(28, 0)}), p), std::nullopt);
  EXPECT_EQ(p.kind, L3Kind::Arp);
  EXPECT_EQ(parse(cat({eth(0x0806), Bytes(20, 0)}), p), Drop::TruncatedL2);
  EXPECT_EQ(parse(cat({eth(0x88cc), Bytes(40, 0)}), p), Drop::UnsupportedL2);  // LLDP
}

}  // namespace
}  // namespace palisade::dataplane
