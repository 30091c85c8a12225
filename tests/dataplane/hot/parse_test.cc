#include "dataplane/hot/parse.h"

#include <gtest/gtest.h>

#include <cstring>
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

// What window tracking reads: sequence and acknowledgement numbers, the window, the sequence
// space the segment takes, and a SYN's window scale option among others.
TEST(Parse, TcpSequenceWindowAndWindowScaleAreRead) {
  ParsedPacket p;
  Bytes t = tcp(40000, 443, 0x02, 8);                  // SYN with 12 bytes of options
  t[4] = 0xff, t[5] = 0xff, t[6] = 0xff, t[7] = 0xf0;  // seq 0xfffffff0
  t[8] = 0, t[9] = 0, t[10] = 0x01, t[11] = 0x00;      // ack 256
  t[14] = 0x72, t[15] = 0x10;                          // window 29200
  t.resize(20);
  const Bytes options = {2, 4, 0x05, 0xb4,  // MSS 1460
                         1,                 // NOP
                         3, 3, 7,           // window scale 7
                         4, 2,              // SACK permitted
                         0, 0};             // end of options
  t.insert(t.end(), options.begin(), options.end());
  ASSERT_EQ(parse(cat({eth(0x0800), ipv4(6, t.size()), t}), p), std::nullopt);
  EXPECT_EQ(p.tcp_seq, 0xfffffff0u);
  EXPECT_EQ(p.tcp_ack, 256u);
  EXPECT_EQ(p.tcp_window, 29200);
  EXPECT_EQ(p.tcp_seq_len, 1);  // the SYN
  EXPECT_EQ(p.tcp_wscale, 7);
  // Data and FIN: 100 bytes and one more; options of a segment that is not a SYN are not read.
  Bytes d = tcp(40000, 443, 0x19, 8);  // FIN|PSH|ACK
  d.resize(20);
  d.insert(d.end(), options.begin(), options.end());
  d.resize(d.size() + 100, 0xaa);
  ASSERT_EQ(parse(cat({eth(0x0800), ipv4(6, d.size()), d}), p), std::nullopt);
  EXPECT_EQ(p.tcp_seq_len, 101);
  EXPECT_EQ(p.tcp_wscale, kNoWindowScale);
  // A malformed option list (a length running past the header) offers no scaling.
  Bytes bad = tcp(40000, 443, 0x02, 6);
  bad.resize(20);
  const Bytes broken = {3, 9, 7, 0};
  bad.insert(bad.end(), broken.begin(), broken.end());
  ASSERT_EQ(parse(cat({eth(0x0800), ipv4(6, bad.size()), bad}), p), std::nullopt);
  EXPECT_EQ(p.tcp_wscale, kNoWindowScale);
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
  EXPECT_EQ(with(tcp(1, 2, 0x02, 4)), Drop::BadTcpHeader);     // data offset below 5
  EXPECT_EQ(with(tcp(1, 2, 0x02, 6)), Drop::BadTcpHeader);     // options past the payload
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
  EXPECT_EQ(parse(cat({eth(0x0800), ipv4(6, rest.size(), 1), rest}), p), Drop::OverlappingFragment);
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
  ASSERT_EQ(parse(cat({eth(0x86DD), ipv6(0, chain.size() + u.size()), chain, u}), p), std::nullopt);
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

// ---- ICMP errors ---------------------------------------------------------------------------

// The 8-byte ICMP header of an error (the unused/MTU/pointer word left 0).
Bytes icmp_header(uint8_t type, uint8_t code) { return {type, code, 0, 0, 0, 0, 0, 0}; }
// An IPv4 header as an error quotes it: from 10.1.0.2 (the pod) to 192.0.2.9; the checksum
// is left wrong on purpose (quoted checksums are not checked). `frag`: flags/offset word.
Bytes quoted_ipv4(uint8_t proto, size_t option_bytes = 0, uint16_t frag = 0) {
  const size_t header = 20 + option_bytes;
  Bytes h = {uint8_t(0x40 | (header / 4)), 0};
  put16(h, 1500);  // the original length: more than the quote holds, as it always is
  put16(h, 0x4242);
  put16(h, frag);
  h.push_back(3);
  h.push_back(proto);
  put16(h, 0xdead);
  for (uint8_t a : {10, 1, 0, 2, 192, 0, 2, 9}) {
    h.push_back(a);
  }
  h.resize(header, 1);
  return h;
}
// An IPv6 header as an error quotes it: from fd00::2 to 2001:db8::9.
Bytes quoted_ipv6(uint8_t next) {
  Bytes h = {0x60, 0, 0, 0};
  put16(h, 1400);
  h.push_back(next);
  h.push_back(1);
  Bytes src(16, 0), dst(16, 0);
  src[0] = 0xfd;
  src[15] = 2;
  dst[0] = 0x20;
  dst[1] = 0x01;
  dst[2] = 0x0d;
  dst[3] = 0xb8;
  dst[15] = 9;
  return cat({h, src, dst});
}
Bytes v4_error(Bytes icmp) { return cat({eth(0x0800), ipv4(1, icmp.size()), icmp}); }
Bytes v6_error(Bytes icmp) { return cat({eth(0x86DD), ipv6(58, icmp.size()), icmp}); }
Bytes first(const Bytes& b, size_t n) { return Bytes(b.begin(), b.begin() + n); }

TEST(IcmpErrors, PortUnreachableGivesTheQuotedUdpTuple) {
  ParsedPacket p;
  ASSERT_EQ(parse(v4_error(cat({icmp_header(3, 3), quoted_ipv4(17), udp(40000, 53)})), p),
            std::nullopt);
  EXPECT_TRUE(p.icmp_error);
  EXPECT_EQ(p.proto, 1);
  EXPECT_EQ(p.sport, 3);  // type and code, as for any ICMP
  EXPECT_EQ(p.dport, 3);
  EXPECT_EQ(p.inner_proto, 17);
  EXPECT_EQ(Bytes(p.inner_src, p.inner_src + 4), (Bytes{10, 1, 0, 2}));
  EXPECT_EQ(Bytes(p.inner_dst, p.inner_dst + 4), (Bytes{192, 0, 2, 9}));
  EXPECT_EQ(p.inner_sport, 40000);
  EXPECT_EQ(p.inner_dport, 53);
}

TEST(IcmpErrors, TimeExceededQuotingEightBytesOfTcpBehindOptions) {
  // RFC 792 promises only 8 bytes of the original's payload: TCP's ports, not its flags.
  ParsedPacket p;
  Bytes eight = first(tcp(443, 51000), 8);
  ASSERT_EQ(parse(v4_error(cat({icmp_header(11, 0), quoted_ipv4(6, 8), eight})), p), std::nullopt);
  EXPECT_TRUE(p.icmp_error);
  EXPECT_EQ(p.inner_proto, 6);
  EXPECT_EQ(p.inner_sport, 443);
  EXPECT_EQ(p.inner_dport, 51000);
  EXPECT_EQ(p.tcp_flags, 0);  // the quoted TCP header is not judged as a TCP header
}

TEST(IcmpErrors, QuotedEchoGivesItsIdentifierAndSctpItsPorts) {
  ParsedPacket p;
  Bytes echo = {8, 0, 0xff, 0xff, 0x12, 0x34, 0, 9};
  ASSERT_EQ(parse(v4_error(cat({icmp_header(12, 0), quoted_ipv4(1), echo})), p), std::nullopt);
  EXPECT_TRUE(p.icmp_error);
  EXPECT_EQ(p.inner_proto, 1);
  EXPECT_EQ(p.inner_sport, 0x1234);
  EXPECT_EQ(p.inner_dport, 0x1234);
  Bytes sctp = {0x0b, 0x59, 0x0e, 0x80, 1, 2, 3, 4};  // 2905 -> 3712, verification tag
  ASSERT_EQ(parse(v4_error(cat({icmp_header(3, 1), quoted_ipv4(132), sctp})), p), std::nullopt);
  EXPECT_EQ(p.inner_sport, 2905);
  EXPECT_EQ(p.inner_dport, 3712);
}

TEST(IcmpErrors, OtherIcmpIsNoError) {
  ParsedPacket p;
  for (uint8_t type : {0, 4, 5, 8, 13}) {  // echo reply, source quench, redirect, echo, ts
    ASSERT_EQ(parse(v4_error(cat({icmp_header(type, 0), quoted_ipv4(17), udp(1, 2)})), p),
              std::nullopt);
    EXPECT_FALSE(p.icmp_error) << int(type);
    EXPECT_EQ(p.inner_proto, 0);
  }
  // ICMPv6 numbers mean nothing in IPv4's ICMP, and the reverse.
  Bytes v6_in_v4 = cat({icmp_header(1, 0), quoted_ipv6(17), udp(1, 2)});
  ASSERT_EQ(parse(cat({eth(0x0800), ipv4(58, v6_in_v4.size()), v6_in_v4}), p), std::nullopt);
  EXPECT_FALSE(p.icmp_error);
  Bytes v4_in_v6 = cat({icmp_header(3, 0), quoted_ipv4(17), udp(1, 2)});
  ASSERT_EQ(parse(cat({eth(0x86DD), ipv6(1, v4_in_v6.size()), v4_in_v6}), p), std::nullopt);
  EXPECT_FALSE(p.icmp_error);
}

TEST(IcmpErrors, QuotesWithoutPortsNeedNoL4Bytes) {
  ParsedPacket p;
  ASSERT_EQ(parse(v4_error(cat({icmp_header(3, 2), quoted_ipv4(47)})), p), std::nullopt);  // GRE
  EXPECT_TRUE(p.icmp_error);
  EXPECT_EQ(p.inner_proto, 47);
  EXPECT_EQ(p.inner_sport, 0);
  // A later fragment holds no L4 header: ports 0, so it matches no connection with ports.
  ASSERT_EQ(parse(v4_error(cat({icmp_header(3, 3), quoted_ipv4(17, 0, 0x00b9)})), p), std::nullopt);
  EXPECT_EQ(p.inner_proto, 17);
  EXPECT_EQ(p.inner_sport, 0);
  EXPECT_EQ(p.inner_dport, 0);
  // A first fragment has its ports.
  ASSERT_EQ(parse(v4_error(cat({icmp_header(11, 1), quoted_ipv4(17, 0, 0x2000), udp(5, 6)})), p),
            std::nullopt);
  EXPECT_EQ(p.inner_dport, 6);
}

TEST(IcmpErrors, MalformedIpv4QuotesAreDropped) {
  // Bytes missing: truncated_l4. A header wrong whatever its length: bad_ip_header.
  ParsedPacket p;
  const Bytes u = udp(40000, 53);
  EXPECT_EQ(parse(v4_error(cat({icmp_header(3, 3), first(quoted_ipv4(17), 19)})), p),
            Drop::TruncatedL4);
  EXPECT_EQ(parse(v4_error(icmp_header(3, 3)), p), Drop::TruncatedL4);  // nothing quoted
  EXPECT_EQ(parse(v4_error(cat({icmp_header(3, 3), first(quoted_ipv4(17, 12), 28)})), p),
            Drop::TruncatedL4);  // IHL 8 words, 28 bytes quoted
  EXPECT_EQ(parse(v4_error(cat({icmp_header(3, 3), quoted_ipv4(17), first(u, 7)})), p),
            Drop::TruncatedL4);
  EXPECT_EQ(parse(v4_error(cat({icmp_header(11, 0), quoted_ipv4(6), first(tcp(1, 2), 4)})), p),
            Drop::TruncatedL4);
  EXPECT_EQ(parse(v4_error(cat({icmp_header(3, 3), quoted_ipv4(1), Bytes{8, 0, 0, 0}})), p),
            Drop::TruncatedL4);  // a quoted echo without its identifier
  Bytes ihl = quoted_ipv4(17);
  ihl[0] = 0x44;
  EXPECT_EQ(parse(v4_error(cat({icmp_header(3, 3), ihl, u})), p), Drop::BadIpHeader);
  Bytes version = quoted_ipv4(17);
  version[0] = 0x65;
  EXPECT_EQ(parse(v4_error(cat({icmp_header(3, 3), version, u})), p), Drop::BadIpHeader);
  // The outer header still comes first: a short ICMP header is truncated_l4 as before.
  EXPECT_EQ(parse(v4_error(Bytes{3, 3, 0, 0}), p), Drop::TruncatedL4);
}

TEST(IcmpErrors, Ipv6PacketTooBigGivesTheQuotedTcpTuple) {
  ParsedPacket p;
  Bytes ptb = {2, 0, 0, 0, 0, 0, 0x05, 0x00};  // MTU 1280
  ASSERT_EQ(parse(v6_error(cat({ptb, quoted_ipv6(6), tcp(8443, 50000, 0x10)})), p), std::nullopt);
  EXPECT_TRUE(p.icmp_error);
  EXPECT_EQ(p.kind, L3Kind::Ipv6);
  EXPECT_EQ(p.proto, 58);
  EXPECT_EQ(p.sport, 2);
  EXPECT_EQ(p.inner_proto, 6);
  EXPECT_EQ(p.inner_src[0], 0xfd);
  EXPECT_EQ(p.inner_src[15], 2);
  EXPECT_EQ(p.inner_dst[0], 0x20);
  EXPECT_EQ(p.inner_dst[15], 9);
  EXPECT_EQ(p.inner_sport, 8443);
  EXPECT_EQ(p.inner_dport, 50000);
  for (uint8_t type : {1, 3, 4}) {
    ASSERT_EQ(parse(v6_error(cat({icmp_header(type, 0), quoted_ipv6(17), udp(7, 8)})), p),
              std::nullopt);
    EXPECT_TRUE(p.icmp_error) << int(type);
    EXPECT_EQ(p.inner_dport, 8);
  }
  for (uint8_t type : {128, 129, 135, 136}) {  // echo, neighbor discovery: no errors
    ASSERT_EQ(parse(v6_error(cat({icmp_header(type, 0), Bytes(16, 0)})), p), std::nullopt);
    EXPECT_FALSE(p.icmp_error) << int(type);
  }
  Bytes echo = {128, 0, 0, 0, 0xbe, 0xef, 0, 1};
  ASSERT_EQ(parse(v6_error(cat({icmp_header(1, 4), quoted_ipv6(58), echo})), p), std::nullopt);
  EXPECT_EQ(p.inner_proto, 58);
  EXPECT_EQ(p.inner_sport, 0xbeef);
  EXPECT_EQ(p.inner_dport, 0xbeef);
}

TEST(IcmpErrors, QuotedIpv6ExtensionHeadersAreWalkedWithinTheQuote) {
  ParsedPacket p;
  Bytes chain = cat({ext(60), ext(43, 1), ext(17)});  // HbH -> DestOpts -> Routing -> UDP
  ASSERT_EQ(parse(v6_error(cat({icmp_header(1, 3), quoted_ipv6(0), chain, udp(9, 10)})), p),
            std::nullopt);
  EXPECT_EQ(p.inner_proto, 17);
  EXPECT_EQ(p.inner_dport, 10);
  // Reassembly time exceeded quotes the first fragment, fragment header and all.
  ASSERT_EQ(
      parse(v6_error(cat({icmp_header(3, 1), quoted_ipv6(44), ext(17, 0, 0x0001), udp(11, 12)})),
            p),
      std::nullopt);
  EXPECT_EQ(p.inner_dport, 12);
  // A later fragment: no ports.
  ASSERT_EQ(
      parse(v6_error(cat({icmp_header(1, 3), quoted_ipv6(44), ext(17, 0, 0x0008), Bytes(8, 0x77)})),
            p),
      std::nullopt);
  EXPECT_EQ(p.inner_proto, 17);
  EXPECT_EQ(p.inner_sport, 0);
  EXPECT_EQ(p.inner_dport, 0);
}

TEST(IcmpErrors, MalformedIpv6QuotesAreDropped) {
  ParsedPacket p;
  const Bytes u = udp(1, 2);
  const Bytes err = icmp_header(1, 3);
  EXPECT_EQ(parse(v6_error(cat({err, first(quoted_ipv6(17), 39)})), p), Drop::TruncatedL4);
  EXPECT_EQ(parse(v6_error(cat({err, quoted_ipv6(17), first(u, 7)})), p), Drop::TruncatedL4);
  Bytes version = quoted_ipv6(17);
  version[0] = 0x45;
  EXPECT_EQ(parse(v6_error(cat({err, version, u})), p), Drop::BadIpHeader);
  // An extension header past the quote, or a quote cut inside one.
  EXPECT_EQ(parse(v6_error(cat({err, quoted_ipv6(60), first(ext(17, 2), 16)})), p),
            Drop::TruncatedL4);
  EXPECT_EQ(parse(v6_error(cat({err, quoted_ipv6(60), first(ext(17), 4)})), p), Drop::TruncatedL4);
  // Headers not walked, too many, or Hop-by-Hop not first: bad_ip_header.
  Bytes ah = {17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1};  // AH: 12 bytes, 4-byte units
  EXPECT_EQ(parse(v6_error(cat({err, quoted_ipv6(51), ah, u})), p), Drop::BadIpHeader);
  Bytes many;
  for (int i = 0; i < kMaxQuotedIpv6ExtensionHeaders; ++i) {
    many = cat({many, ext(60)});
  }
  EXPECT_EQ(parse(v6_error(cat({err, quoted_ipv6(60), many, u})), p), Drop::BadIpHeader);
  Bytes just_enough;
  for (int i = 0; i + 1 < kMaxQuotedIpv6ExtensionHeaders; ++i) {
    just_enough = cat({just_enough, ext(60)});
  }
  just_enough = cat({just_enough, ext(17)});
  EXPECT_EQ(parse(v6_error(cat({err, quoted_ipv6(60), just_enough, u})), p), std::nullopt);
  Bytes late_hbh = cat({ext(0), ext(17)});
  EXPECT_EQ(parse(v6_error(cat({err, quoted_ipv6(60), late_hbh, u})), p), Drop::BadIpHeader);
}

TEST(IcmpErrors, QuotedChecksumsAreNotChecked) {
  // quoted_ipv4's checksum is wrong, and the quoted UDP checksum cannot be checked on 8
  // bytes: routers cut the quote, and NATs rewrite quoted addresses.
  ParsedPacket p;
  Bytes q = quoted_ipv4(17);
  EXPECT_EQ(parse(v4_error(cat({icmp_header(3, 3), q, udp(1, 2)})), p), std::nullopt);
  q[10] = q[11] = 0;
  EXPECT_EQ(parse(v4_error(cat({icmp_header(3, 3), q, udp(1, 2)})), p), std::nullopt);
}

// ---- Chains of mbufs: the headers are read from the first segment, lengths from the frame --

// Parses `frame` as a chain whose first segment holds its first `first` bytes, from a copy of
// exactly those bytes (so that a read past them is caught by AddressSanitizer).
std::optional<Drop> parse_segmented(const Bytes& frame, size_t first, ParsedPacket& p) {
  const Bytes segment(frame.begin(), frame.begin() + first);
  return parse_packet(segment.data(), uint32_t(first), uint32_t(frame.size()), p);
}

TEST(Segments, LengthsAreCheckedAgainstTheWholeFrame) {
  // A 3,000-byte UDP datagram whose first segment holds its headers and 100 bytes: the IPv4
  // total length and the UDP length exceed the segment, not the frame.
  Bytes payload(3000 - 8, 0x5a);
  const Bytes u = udp(5353, 53, 3000);
  const Bytes frame = cat({eth(0x0800), ipv4(17, 3000), u, payload});
  ParsedPacket whole, chained;
  ASSERT_EQ(parse(frame, whole), std::nullopt);
  ASSERT_EQ(parse_segmented(frame, 14 + 20 + 8 + 100, chained), std::nullopt);
  EXPECT_EQ(chained.sport, 5353);
  EXPECT_EQ(chained.dport, 53);
  EXPECT_EQ(std::memcmp(&whole, &chained, sizeof(whole)), 0);
  // The frame still has to hold what its headers claim.
  const Bytes short_frame(frame.begin(), frame.end() - 1);
  EXPECT_EQ(parse_segmented(short_frame, 200, chained), Drop::BadIpHeader);
}

TEST(Segments, HeadersPastTheFirstSegmentAreSplitNeverReadAndNeverAnotherAnswer) {
  Bytes payload(1500, 0x33);
  const Bytes t = tcp(40000, 443, 0x10);
  const Bytes options = {0x94, 0x04, 0, 0};       // Router Alert
  const Bytes chain = cat({ext(60), ext(6, 1)});  // Hop-by-Hop, Destination Options (16)
  const std::vector<Bytes> frames = {
      cat({eth(0x0800), ipv4(6, t.size() + payload.size()), t, payload}),
      cat({eth(0x0800, 7), ipv4(6, t.size() + payload.size(), 0, options), t, payload}),
      cat({eth(0x86DD), ipv6(0, chain.size() + t.size() + payload.size()), chain, t, payload}),
      v4_error(cat({icmp_header(11, 0), quoted_ipv4(6, 4), tcp(40000, 443, 0x10), payload})),
      cat({eth(0x0806), Bytes(28, 0x01), payload}),
  };
  for (size_t f = 0; f < frames.size(); ++f) {
    const Bytes& frame = frames[f];
    ParsedPacket whole;
    const std::optional<Drop> expected = parse(frame, whole);
    bool parsed_before = false;
    for (size_t first = 0; first <= 160; ++first) {
      ParsedPacket chained;
      const std::optional<Drop> got = parse_segmented(frame, first, chained);
      if (got == Drop::SplitHeaders) {
        EXPECT_FALSE(parsed_before)
            << "frame " << f << ": split at " << first << " after a shorter segment parsed";
        continue;
      }
      parsed_before = true;
      EXPECT_EQ(got, expected) << "frame " << f << ", first segment " << first;
      EXPECT_EQ(std::memcmp(&whole, &chained, sizeof(whole)), 0)
          << "frame " << f << ", first segment " << first;
    }
    EXPECT_TRUE(parsed_before) << "frame " << f << " never parsed from 160 bytes";
  }
}

}  // namespace
}  // namespace palisade::dataplane
