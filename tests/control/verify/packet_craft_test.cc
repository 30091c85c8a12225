#include "control/verify/packet_craft.h"

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataplane/hot/parse.h"

namespace palisade::control {
namespace {

using namespace palisade::dataplane;  // the parser that reads the crafted frames back

using policy::IpAddr;
namespace ipproto = policy::ipproto;
using Bytes = std::vector<uint8_t>;

IpAddr ip(const char* text) { return IpAddr::parse(text).value(); }

FrameSpec spec(int family, uint8_t proto, std::optional<uint16_t> vlan = std::nullopt,
               size_t payload = 0) {
  FrameSpec s;
  s.src = ip(family == 4 ? "10.0.0.1" : "fd00::1");
  s.dst = ip(family == 4 ? "10.0.0.2" : "fd00::2");
  s.proto = proto;
  s.sport = 40000;
  s.dport = 80;
  s.vlan = vlan;
  s.payload = payload;
  s.ip_id = 0x1234;
  return s;
}

// One-line builders for the malformed cases.
using Pieces = std::vector<FragmentPiece>;
FragmentPiece piece(uint16_t offset, uint16_t length, std::optional<bool> more = std::nullopt) {
  FragmentPiece p;
  p.offset = offset;
  p.length = length;
  p.more = more;
  return p;
}
using Chain = std::vector<Ipv6Extension>;
Ipv6Extension ext(uint8_t type, size_t length = 8) {
  Ipv6Extension x;
  x.type = type;
  x.length = length;
  return x;
}
Ipv6Extension fragment_ext(uint16_t offset, bool more, uint32_t id = 0) {
  Ipv6Extension x = ext(Ipv6Extension::kFragment);
  x.fragment_offset = offset;
  x.more_fragments = more;
  x.fragment_id = id;
  return x;
}
policy::Flow flow(const char* src, const char* dst, uint8_t proto, uint16_t sport = 0,
                  uint16_t dport = 0) {
  policy::Flow f;
  f.src = ip(src);
  f.dst = ip(dst);
  f.protocol = proto;
  f.src_port = sport;
  f.dst_port = dport;
  return f;
}

std::optional<Drop> parse(const Frame& f, ParsedPacket& p) {
  return parse_packet(f.data(), static_cast<uint32_t>(f.size()), p);
}

// ---- Independent checksums: written from the RFCs, sharing nothing with packet_craft.cc ----

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// RFC 1071, folded; a correct message (checksum included) sums to 0xffff.
uint32_t fold(uint64_t sum) {
  while (sum > 0xffff) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint32_t>(sum);
}
uint64_t add_words(const uint8_t* p, size_t n, uint64_t sum = 0) {
  for (size_t i = 0; i < n; ++i) {
    sum += (i % 2 == 0) ? uint64_t{p[i]} << 8 : p[i];
  }
  return sum;
}

// Bitwise CRC32c, the definition rather than a table (RFC 3720 B.4).
uint32_t crc32c_bitwise(const uint8_t* p, size_t n) {
  uint32_t crc = 0xffffffff;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) {
      crc = (crc >> 1) ^ (0x82f63b78 & (0u - (crc & 1)));
    }
  }
  return ~crc;
}

struct Layers {
  size_t l3 = 0, l4 = 0, l4_len = 0;
};
// Offsets found without the parser: Ethernet [VLAN], then a bare IPv4 or IPv6 header.
Layers layers_of(const Frame& f, int family) {
  Layers at;
  at.l3 = be16(&f[12]) == 0x8100 ? 18 : 14;
  if (family == 4) {
    at.l4 = at.l3 + (f[at.l3] & 0x0f) * 4;
    at.l4_len = be16(&f[at.l3 + 2]) - (f[at.l3] & 0x0f) * 4;
  } else {
    at.l4 = at.l3 + 40;
    at.l4_len = be16(&f[at.l3 + 4]);
  }
  return at;
}

// Checks the frame's L4 checksum; `why` is set to what failed.
bool l4_checksum_ok(const Frame& f, int family, uint8_t proto, std::string& why) {
  const Layers at = layers_of(f, family);
  const uint8_t* l4 = &f[at.l4];
  if (proto == ipproto::kSctp) {
    Bytes copy(l4, l4 + at.l4_len);
    const uint32_t stored = copy[8] | copy[9] << 8 | copy[10] << 16 | uint32_t{copy[11]} << 24;
    std::memset(&copy[8], 0, 4);
    const uint32_t want = crc32c_bitwise(copy.data(), copy.size());
    why = "crc32c stored " + std::to_string(stored) + " want " + std::to_string(want);
    return stored == want;
  }
  uint64_t sum = 0;
  if (proto != ipproto::kIcmp) {
    const size_t alen = family == 4 ? 4 : 16;
    sum = add_words(&f[at.l3 + (family == 4 ? 12 : 8)], 2 * alen);
    sum += proto + at.l4_len;  // zero, protocol, length: the same words for both families
  }
  sum = add_words(l4, at.l4_len, sum);
  why = "sum " + std::to_string(fold(sum));
  return fold(sum) == 0xffff;
}

bool ipv4_header_checksum_ok(const Frame& f) {
  const Layers at = layers_of(f, 4);
  return fold(add_words(&f[at.l3], (f[at.l3] & 0x0f) * 4)) == 0xffff;
}

size_t l4_header_bytes(uint8_t proto) {
  switch (proto) {
    case ipproto::kTcp:
      return 20;
    case ipproto::kUdp:
    case ipproto::kUdpLite:
    case ipproto::kIcmp:
    case ipproto::kIcmpV6:
      return 8;
    case ipproto::kSctp:
      return 12;
    default:
      return 0;
  }
}

struct Case {
  int family;
  uint8_t proto;
  std::optional<uint16_t> vlan;
  size_t payload;
  std::string name() const {
    return "IPv" + std::to_string(family) + " proto " + std::to_string(proto) + " vlan " +
           std::to_string(vlan.value_or(0)) + " payload " + std::to_string(payload);
  }
};
std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (int family : {4, 6}) {
    const uint8_t icmp = family == 4 ? ipproto::kIcmp : ipproto::kIcmpV6;
    for (uint8_t proto : {ipproto::kTcp, ipproto::kUdp, ipproto::kUdpLite, ipproto::kSctp, icmp,
                          uint8_t{47}, uint8_t{253}}) {
      for (std::optional<uint16_t> vlan :
           {std::optional<uint16_t>{}, std::optional<uint16_t>{42}}) {
        for (size_t payload : {0, 1, 37, 1400}) {
          out.push_back({family, proto, vlan, payload});
        }
      }
    }
  }
  return out;
}

TEST(CraftFrame, EveryProtocolParsesToTheSpecsTuple) {
  for (const Case& c : all_cases()) {
    SCOPED_TRACE(c.name());
    FrameSpec s = spec(c.family, c.proto, c.vlan, c.payload);
    s.ttl = 63;
    s.tcp_flags = kTcpFlagPsh | kTcpFlagAck;
    const Frame f = craft_frame(s);
    ParsedPacket p;
    if (c.family == 6 && l4_header_bytes(c.proto) == 0 && c.payload == 0) {
      // Crafted as asked, but an IPv6 payload length of 0 reads as a jumbogram: dropped.
      EXPECT_EQ(parse(f, p), Drop::BadIpHeader);
      continue;
    }
    ASSERT_EQ(parse(f, p), std::nullopt) << describe_frame(f);
    EXPECT_EQ(p.kind, c.family == 4 ? L3Kind::Ipv4 : L3Kind::Ipv6);
    EXPECT_EQ(p.vlan, c.vlan.value_or(0));
    EXPECT_EQ(p.proto, c.proto);
    EXPECT_EQ(p.ttl, 63);
    const size_t alen = c.family == 4 ? 4 : 16;
    EXPECT_EQ(std::memcmp(p.src, s.src.bytes.data(), alen), 0);
    EXPECT_EQ(std::memcmp(p.dst, s.dst.bytes.data(), alen), 0);
    EXPECT_FALSE(p.fragment);
    const size_t l4_header = l4_header_bytes(c.proto);
    EXPECT_EQ(f.size(), (c.vlan ? 18u : 14u) + (c.family == 4 ? 20u : 40u) + l4_header + c.payload);
    if (c.proto == ipproto::kIcmp || c.proto == ipproto::kIcmpV6) {
      EXPECT_EQ(p.sport, c.family == 4 ? 8 : 128);  // type: echo request
      EXPECT_EQ(p.dport, 0);                        // code
    } else if (l4_header != 0) {
      EXPECT_EQ(p.sport, 40000);
      EXPECT_EQ(p.dport, 80);
    }
    if (c.proto == ipproto::kTcp) {
      EXPECT_EQ(p.tcp_flags, kTcpFlagPsh | kTcpFlagAck);
    }
    // The payload is the pattern i & 0xff, right after the L4 header.
    const size_t start = f.size() - c.payload;
    for (size_t i = 0; i < c.payload; ++i) {
      ASSERT_EQ(f[start + i], static_cast<uint8_t>(i)) << "payload byte " << i;
    }
  }
}

TEST(CraftFrame, ChecksumsVerifyByIndependentRecomputation) {
  for (const Case& c : all_cases()) {
    SCOPED_TRACE(c.name());
    const Frame f = craft_frame(spec(c.family, c.proto, c.vlan, c.payload));
    if (c.family == 4) {
      EXPECT_TRUE(ipv4_header_checksum_ok(f));
    }
    if (l4_header_bytes(c.proto) != 0) {
      std::string why;
      EXPECT_TRUE(l4_checksum_ok(f, c.family, c.proto, why)) << why;
      const Layers at = layers_of(f, c.family);
      if (c.proto == ipproto::kUdp || c.proto == ipproto::kUdpLite) {
        EXPECT_NE(be16(&f[at.l4 + 6]), 0) << "UDP checksum 0 means none";
      }
    }
  }
}

TEST(CraftFrame, UdpLengthAndUdpLiteCoverage) {
  const Frame udp = craft_frame(spec(4, ipproto::kUdp, std::nullopt, 11));
  EXPECT_EQ(be16(&udp[14 + 20 + 4]), 19);
  const Frame lite = craft_frame(spec(4, ipproto::kUdpLite, std::nullopt, 11));
  EXPECT_EQ(be16(&lite[14 + 20 + 4]), 0);  // coverage: the whole datagram
}

TEST(CraftFrame, Ipv4CarriesTheSpecsIdWithDfClear) {
  const Frame f = craft_frame(spec(4, ipproto::kUdp));
  EXPECT_EQ(be16(&f[14 + 4]), 0x1234);
  EXPECT_EQ(be16(&f[14 + 6]), 0);  // no DF, no MF, offset 0
  EXPECT_EQ(f[14], 0x45);
}

TEST(CraftFrame, Ipv4OptionsAreCarriedAndCounted) {
  FrameSpec s = spec(4, ipproto::kTcp);
  s.ipv4_options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL
  const Frame f = craft_frame(s);
  EXPECT_EQ(f[14], 0x46);
  EXPECT_TRUE(ipv4_header_checksum_ok(f));
  ParsedPacket p;
  ASSERT_EQ(parse(f, p), std::nullopt);
  EXPECT_EQ(p.l4_offset, 14 + 24);
  EXPECT_EQ(p.dport, 80);
  s.ipv4_options = {0x01};
  EXPECT_THROW(craft_frame(s), std::invalid_argument);
}

TEST(CraftFrame, VlanTagCarriesTheIdAndTheEthertypeFollows) {
  const Frame f = craft_frame(spec(6, ipproto::kUdp, 0x123));
  EXPECT_EQ(be16(&f[12]), 0x8100);
  EXPECT_EQ(be16(&f[14]), 0x123);
  EXPECT_EQ(be16(&f[16]), 0x86dd);
}

TEST(CraftFrame, MacsAreWhereEthernetPutsThem) {
  FrameSpec s = spec(4, ipproto::kTcp);
  s.src_mac = {1, 2, 3, 4, 5, 6};
  s.dst_mac = {7, 8, 9, 10, 11, 12};
  const Frame f = craft_frame(s);
  EXPECT_EQ(Bytes(f.begin(), f.begin() + 6), Bytes({7, 8, 9, 10, 11, 12}));
  EXPECT_EQ(Bytes(f.begin() + 6, f.begin() + 12), Bytes({1, 2, 3, 4, 5, 6}));
}

TEST(CraftFrame, RejectsWhatCannotBeEncoded) {
  FrameSpec mixed = spec(4, ipproto::kTcp);
  mixed.dst = ip("fd00::2");
  EXPECT_THROW(craft_frame(mixed), std::invalid_argument);
  EXPECT_THROW(craft_frame(spec(4, ipproto::kUdp, std::nullopt, 65535)), std::invalid_argument);
  EXPECT_NO_THROW(craft_frame(spec(6, 253, std::nullopt, 65535)));  // exactly the most
  EXPECT_THROW(craft_frame(spec(6, 253, std::nullopt, 65536)), std::invalid_argument);
}

TEST(CraftFrame, IsDeterministic) {
  EXPECT_EQ(craft_frame(spec(6, ipproto::kSctp, 7, 99)),
            craft_frame(spec(6, ipproto::kSctp, 7, 99)));
}

// RFC 3720 B.4: the CRC32c test vectors, as the bytes appear on the wire.
TEST(Crc32c, Rfc3720Vectors) {
  Bytes zeros(32, 0), ones(32, 0xff), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<uint8_t>(i);
    down[i] = static_cast<uint8_t>(31 - i);
  }
  const struct {
    const Bytes& data;
    uint32_t wire;  // the four CRC bytes in wire order, as RFC 3720 prints them
  } vectors[] = {{zeros, 0xaa36918a}, {ones, 0x43aba862}, {up, 0x4e79dd46}, {down, 0x5cdb3f11}};
  for (const auto& v : vectors) {
    const uint32_t as_le = __builtin_bswap32(v.wire);  // least significant byte first
    EXPECT_EQ(crc32c(v.data), as_le);
    EXPECT_EQ(crc32c_bitwise(v.data.data(), v.data.size()), as_le);
  }
}

TEST(OnesComplementSum, Rfc1071Example) {
  // RFC 1071 1.3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  const Bytes b = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(ones_complement_sum(b), 0xddf2);
  EXPECT_EQ(ones_complement_sum(Bytes{0xab}), 0xab00);  // odd byte padded with zero
}

TEST(ReplyOf, SynGetsSynAckWithEverythingSwapped) {
  FrameSpec syn = spec(4, ipproto::kTcp, 5);
  syn.src_mac = {2, 0, 0, 0, 0, 0xa};
  syn.dst_mac = {2, 0, 0, 0, 0, 0xb};
  syn.tcp_seq = 777;
  const FrameSpec r = reply_of(syn);
  EXPECT_EQ(r.tcp_flags, kTcpFlagSyn | kTcpFlagAck);
  EXPECT_EQ(r.tcp_ack, 778u);
  EXPECT_EQ(r.src, syn.dst);
  EXPECT_EQ(r.dst, syn.src);
  EXPECT_EQ(r.sport, 80);
  EXPECT_EQ(r.dport, 40000);
  EXPECT_EQ(r.src_mac, syn.dst_mac);
  EXPECT_EQ(r.dst_mac, syn.src_mac);
  EXPECT_EQ(r.vlan, syn.vlan);
  ParsedPacket p;
  ASSERT_EQ(parse(craft_frame(r), p), std::nullopt);
  EXPECT_EQ(p.tcp_flags, kTcpFlagSyn | kTcpFlagAck);
  EXPECT_EQ(p.sport, 80);
}

TEST(ReplyOf, ReplyToSynAckCompletesTheHandshake) {
  FrameSpec syn = spec(6, ipproto::kTcp);
  syn.tcp_seq = 100;
  const FrameSpec syn_ack = reply_of(syn);
  const FrameSpec ack = reply_of(syn_ack);
  EXPECT_EQ(ack.tcp_flags, kTcpFlagAck);
  EXPECT_EQ(ack.tcp_seq, 101u);
  EXPECT_EQ(ack.tcp_ack, syn_ack.tcp_seq + 1);
  FrameSpec data = ack;
  data.tcp_flags = kTcpFlagPsh | kTcpFlagAck;
  data.payload = 10;
  EXPECT_EQ(reply_of(data).tcp_ack, 111u);
  EXPECT_EQ(reply_of(data).tcp_flags, kTcpFlagAck);
}

TEST(ReplyOf, RoundTripRestoresTheEndpoints) {
  for (const Case& c : all_cases()) {
    SCOPED_TRACE(c.name());
    const FrameSpec s = spec(c.family, c.proto, c.vlan, c.payload);
    const FrameSpec back = reply_of(reply_of(s));
    EXPECT_EQ(back.src, s.src);
    EXPECT_EQ(back.dst, s.dst);
    EXPECT_EQ(back.sport, s.sport);
    EXPECT_EQ(back.dport, s.dport);
    EXPECT_EQ(back.src_mac, s.src_mac);
    EXPECT_EQ(back.dst_mac, s.dst_mac);
    EXPECT_EQ(back.proto, s.proto);
    ParsedPacket p;
    const bool empty_ipv6 = c.family == 6 && l4_header_bytes(c.proto) == 0 && c.payload == 0;
    EXPECT_EQ(parse(craft_frame(reply_of(s)), p),
              empty_ipv6 ? Drop::BadIpHeader : std::optional<Drop>());
  }
}

TEST(ReplyOf, EchoRequestGetsEchoReply) {
  FrameSpec v4 = spec(4, ipproto::kIcmp);
  v4.icmp_id = 9;
  v4.icmp_seq = 3;
  const FrameSpec r4 = reply_of(v4);
  EXPECT_EQ(r4.icmp_type, 0);
  EXPECT_EQ(r4.icmp_id, 9);
  EXPECT_EQ(r4.icmp_seq, 3);
  EXPECT_EQ(reply_of(spec(6, ipproto::kIcmpV6)).icmp_type, 129);
  FrameSpec explicit_request = spec(6, ipproto::kIcmpV6);
  explicit_request.icmp_type = 128;
  EXPECT_EQ(reply_of(explicit_request).icmp_type, 129);
  FrameSpec unreachable = spec(4, ipproto::kIcmp);
  unreachable.icmp_type = 3;
  EXPECT_EQ(reply_of(unreachable).icmp_type, 3);  // not an echo: kept
  ParsedPacket p;
  ASSERT_EQ(parse(craft_frame(reply_of(spec(6, ipproto::kIcmpV6))), p), std::nullopt);
  EXPECT_EQ(p.sport, 129);
}

TEST(SpecForFlow, TakesPortsOrIcmpTypeFromTheFlow) {
  const Mac a{2, 0, 0, 0, 0, 1}, b{2, 0, 0, 0, 0, 2};
  const policy::Flow tcp = flow("10.1.0.1", "10.1.0.2", ipproto::kTcp, 1234, 5432);
  const FrameSpec s = spec_for_flow(tcp, a, b);
  EXPECT_EQ(s.src_mac, a);
  EXPECT_EQ(s.dst_mac, b);
  EXPECT_EQ(s.tcp_flags, kTcpFlagSyn);
  ParsedPacket p;
  ASSERT_EQ(parse(craft_frame(s), p), std::nullopt);
  EXPECT_EQ(p.sport, 1234);
  EXPECT_EQ(p.dport, 5432);
  EXPECT_EQ(p.proto, ipproto::kTcp);

  policy::Flow ping = flow("fd00::1", "fd00::2", ipproto::kIcmpV6);
  ASSERT_EQ(parse(craft_frame(spec_for_flow(ping, a, b)), p), std::nullopt);
  EXPECT_EQ(p.sport, 128);
  EXPECT_EQ(p.dport, 0);
  ping.src = ip("10.1.0.1");
  ping.dst = ip("10.1.0.2");
  ping.protocol = ipproto::kIcmp;
  ping.icmp_type = 13;  // timestamp
  ping.icmp_code = 1;
  ASSERT_EQ(parse(craft_frame(spec_for_flow(ping, a, b)), p), std::nullopt);
  EXPECT_EQ(p.sport, 13);
  EXPECT_EQ(p.dport, 1);
  // An error type gets no quoted packet from a flow, so the parser finds none to read;
  // craft_icmp_error builds errors that parse.
  ping.icmp_type = 3;
  EXPECT_EQ(parse(craft_frame(spec_for_flow(ping, a, b)), p), Drop::TruncatedL4);
}

TEST(Arp, RequestIsBroadcastWhoHas) {
  const Mac me{2, 0, 0, 0, 0, 0x11};
  const Frame f = craft_arp_request(me, ip("10.0.0.1"), ip("10.0.0.2"));
  ASSERT_EQ(f.size(), 42u);
  EXPECT_EQ(Bytes(f.begin(), f.begin() + 6), Bytes(6, 0xff));
  EXPECT_EQ(be16(&f[12]), 0x0806);
  EXPECT_EQ(be16(&f[14 + 6]), 1);  // request
  EXPECT_EQ(Bytes(f.begin() + 22, f.begin() + 28), Bytes(me.begin(), me.end()));
  EXPECT_EQ(Bytes(f.begin() + 28, f.begin() + 32), Bytes({10, 0, 0, 1}));
  EXPECT_EQ(Bytes(f.begin() + 32, f.begin() + 38), Bytes(6, 0));
  EXPECT_EQ(Bytes(f.begin() + 38, f.begin() + 42), Bytes({10, 0, 0, 2}));
  ParsedPacket p;
  ASSERT_EQ(parse(f, p), std::nullopt);
  EXPECT_EQ(p.kind, L3Kind::Arp);
  EXPECT_EQ(describe_frame(f), "ARP who-has 10.0.0.2 tell 10.0.0.1");
  EXPECT_EQ(describe_frame(craft_arp_request(me, ip("10.0.0.1"), ip("10.0.0.2"), 9)),
            "vlan 9 ARP who-has 10.0.0.2 tell 10.0.0.1");
  EXPECT_THROW(craft_arp_request(me, ip("fd00::1"), ip("fd00::2")), std::invalid_argument);
}

TEST(Arp, ReplyIsUnicastIsAt) {
  const Frame f =
      craft_arp_reply({2, 0, 0, 0, 0, 0x22}, ip("10.0.0.2"), {2, 0, 0, 0, 0, 0x11}, ip("10.0.0.1"));
  EXPECT_EQ(Bytes(f.begin(), f.begin() + 6), Bytes({2, 0, 0, 0, 0, 0x11}));
  EXPECT_EQ(describe_frame(f), "ARP 10.0.0.2 is-at 02:00:00:00:00:22");
}

TEST(NeighborSolicitation, GoesToTheSolicitedNodeAddress) {
  const Mac me{2, 0, 0, 0, 0, 0x11};
  const IpAddr target = ip("fd00::12:3456");
  const Frame f = craft_neighbor_solicitation(me, ip("fe80::1"), target);
  EXPECT_EQ(Bytes(f.begin(), f.begin() + 6), Bytes({0x33, 0x33, 0xff, 0x12, 0x34, 0x56}));
  EXPECT_EQ(solicited_node_address(target), ip("ff02::1:ff12:3456"));
  ParsedPacket p;
  ASSERT_EQ(parse(f, p), std::nullopt);
  EXPECT_EQ(p.proto, ipproto::kIcmpV6);
  EXPECT_EQ(p.ttl, 255);
  EXPECT_EQ(p.sport, 135);
  EXPECT_EQ(p.dport, 0);
  EXPECT_EQ(std::memcmp(p.dst, ip("ff02::1:ff12:3456").bytes.data(), 16), 0);
  std::string why;
  EXPECT_TRUE(l4_checksum_ok(f, 6, ipproto::kIcmpV6, why)) << why;
  // Target, then the source link-layer address option (type 1, one 8-byte unit).
  ASSERT_EQ(f.size(), 14u + 40 + 8 + 16 + 8);
  EXPECT_EQ(Bytes(f.begin() + 62, f.begin() + 78), Bytes(target.bytes.begin(), target.bytes.end()));
  EXPECT_EQ(Bytes(f.begin() + 78, f.end()), Bytes({1, 1, 2, 0, 0, 0, 0, 0x11}));
  EXPECT_EQ(describe_frame(f), "IPv6 ICMPv6 fe80::1 -> ff02::1:ff12:3456 type 135 code 0 ttl 255");
}

TEST(NeighborSolicitation, DuplicateAddressDetectionCarriesNoLinkLayerOption) {
  const Frame f = craft_neighbor_solicitation({2, 0, 0, 0, 0, 0x11}, ip("::"), ip("fd00::7"));
  EXPECT_EQ(f.size(), 14u + 40 + 8 + 16);
  std::string why;
  EXPECT_TRUE(l4_checksum_ok(f, 6, ipproto::kIcmpV6, why)) << why;
}

TEST(DescribeFrame, OneLinePerFrame) {
  FrameSpec s = spec(4, ipproto::kTcp);
  s.ttl = 63;
  EXPECT_EQ(describe_frame(craft_frame(s)),
            "IPv4 TCP 10.0.0.1:40000 -> 10.0.0.2:80 flags S ttl 63");
  EXPECT_EQ(describe_frame(craft_frame(reply_of(spec(6, ipproto::kTcp, 7)))),
            "vlan 7 IPv6 TCP [fd00::2]:80 -> [fd00::1]:40000 flags SA ttl 64");
  EXPECT_EQ(describe_frame(craft_frame(spec(4, ipproto::kUdp))),
            "IPv4 UDP 10.0.0.1:40000 -> 10.0.0.2:80 ttl 64");
  EXPECT_EQ(describe_frame(craft_frame(spec(6, ipproto::kIcmpV6))),
            "IPv6 ICMPv6 fd00::1 -> fd00::2 type 128 code 0 ttl 64");
  EXPECT_EQ(describe_frame(craft_frame(spec(4, 47, std::nullopt, 4))),
            "IPv4 proto 47 10.0.0.1 -> 10.0.0.2 ttl 64");
  EXPECT_EQ(describe_frame(corrupt_ip_checksum(craft_frame(s))), "drop: bad_ip_checksum");
  EXPECT_EQ(describe_frame(Frame(10, 0)), "drop: truncated_l2");
}

TEST(IcmpError, QuotesTheOffendingHeader) {
  const FrameSpec udp = spec(4, ipproto::kUdp, std::nullopt, 100);
  const Frame f = craft_icmp_error(udp, ip("10.0.0.254"), 3, 3);
  ParsedPacket p;
  ASSERT_EQ(parse(f, p), std::nullopt);
  EXPECT_TRUE(p.icmp_error);
  EXPECT_EQ(p.inner_proto, ipproto::kUdp);
  EXPECT_EQ(std::memcmp(p.inner_src, udp.src.bytes.data(), 4), 0);
  EXPECT_EQ(std::memcmp(p.inner_dst, udp.dst.bytes.data(), 4), 0);
  EXPECT_EQ(p.inner_sport, 40000);
  EXPECT_EQ(p.inner_dport, 80);
  EXPECT_EQ(describe_frame(f),
            "IPv4 ICMP 10.0.0.254 -> 10.0.0.1 type 3 code 3 about UDP 10.0.0.1:40000 -> "
            "10.0.0.2:80 ttl 64");
  const Frame original = craft_frame(udp);
  ASSERT_EQ(f.size(), 14u + 20 + 8 + 20 + 8);  // quote: IP header and 8 bytes
  EXPECT_EQ(Bytes(f.begin() + 42, f.end()), Bytes(original.begin() + 14, original.begin() + 42));
  std::string why;
  EXPECT_TRUE(l4_checksum_ok(f, 4, ipproto::kIcmp, why)) << why;

  const Frame v6 =
      craft_icmp_error(spec(6, ipproto::kTcp, std::nullopt, 2000), ip("fd00::fe"), 1, 4);
  EXPECT_EQ(v6.size(), 14u + 1280);  // the error stays within the minimum MTU
  EXPECT_TRUE(l4_checksum_ok(v6, 6, ipproto::kIcmpV6, why)) << why;
  ASSERT_EQ(parse(v6, p), std::nullopt);
  EXPECT_EQ(p.sport, 1);
  EXPECT_EQ(p.dport, 4);
  EXPECT_EQ(p.inner_proto, ipproto::kTcp);
  EXPECT_EQ(p.inner_dport, 80);
  const Frame echo_error = craft_icmp_error(spec(6, ipproto::kIcmpV6), ip("fd00::fe"), 3, 0);
  EXPECT_EQ(describe_frame(echo_error),
            "IPv6 ICMPv6 fd00::fe -> fd00::1 type 3 code 0 about ICMPv6 fd00::1 -> fd00::2 id 0 "
            "ttl 64");
}

// ---- Malformed frames ----------------------------------------------------------------------

// The upper-layer bytes of a whole datagram, to compare fragments against.
Bytes upper_layer_of(const FrameSpec& s) {
  const Frame f = craft_frame(s);
  const Layers at = layers_of(f, s.src.family);
  return Bytes(f.begin() + static_cast<std::ptrdiff_t>(at.l4), f.end());
}

TEST(Fragments, Ipv4PiecesParseWithTheirOffsetsAndReassemble) {
  const FrameSpec s = spec(4, ipproto::kUdp, 3, 40);  // 48 bytes of UDP
  const Pieces pieces = {piece(0, 16), piece(16, 16), piece(32, 16)};
  const std::vector<Frame> frags = craft_ipv4_fragments(s, pieces);
  ASSERT_EQ(frags.size(), 3u);
  Bytes reassembled;
  for (size_t i = 0; i < frags.size(); ++i) {
    SCOPED_TRACE(i);
    ParsedPacket p;
    ASSERT_EQ(parse(frags[i], p), std::nullopt);
    EXPECT_TRUE(ipv4_header_checksum_ok(frags[i]));
    EXPECT_TRUE(p.fragment);
    EXPECT_EQ(p.first_fragment, i == 0);
    EXPECT_EQ(p.fragment_offset, pieces[i].offset);
    EXPECT_EQ(p.fragment_bytes, 16);
    EXPECT_EQ(p.fragment_id, 0x1234u);
    EXPECT_EQ(p.more_fragments, i != 2);
    EXPECT_EQ(p.vlan, 3);
    if (i == 0) {
      EXPECT_EQ(p.sport, 40000);
      EXPECT_EQ(p.dport, 80);
    } else {
      EXPECT_EQ(p.l4_offset, 0);
    }
    reassembled.insert(reassembled.end(), frags[i].end() - 16, frags[i].end());
  }
  EXPECT_EQ(reassembled, upper_layer_of(s));
  EXPECT_EQ(describe_frame(frags[1]),
            "vlan 3 IPv4 UDP 10.0.0.1 -> 10.0.0.2 fragment id 4660 offset 16 bytes 16 more ttl 64");
}

TEST(Fragments, Ipv4OverlapsAndExplicitFlags) {
  const FrameSpec s = spec(4, ipproto::kUdp, std::nullopt, 40);
  const Pieces pieces = {piece(0, 24), piece(16, 32), piece(16, 8, true)};
  const std::vector<Frame> frags = craft_ipv4_fragments(s, pieces);
  ParsedPacket p;
  ASSERT_EQ(parse(frags[1], p), std::nullopt);
  EXPECT_EQ(p.fragment_offset, 16);
  EXPECT_FALSE(p.more_fragments);  // reaches the end
  const Bytes whole = upper_layer_of(s);
  EXPECT_EQ(Bytes(frags[1].end() - 32, frags[1].end()), Bytes(whole.begin() + 16, whole.end()));
  ASSERT_EQ(parse(frags[2], p), std::nullopt);
  EXPECT_TRUE(p.more_fragments);
  EXPECT_THROW(craft_ipv4_fragments(s, Pieces{piece(4, 8)}), std::invalid_argument);
}

TEST(Fragments, HostileIpv4PiecesAreDropped) {
  const FrameSpec tcp = spec(4, ipproto::kTcp, std::nullopt, 40);
  ParsedPacket p;
  // RFC 1858 3.2: offset 8 would rewrite the TCP flags of the first fragment.
  auto f = craft_ipv4_fragments(tcp, Pieces{piece(8, 16)});
  EXPECT_EQ(parse(f[0], p), Drop::OverlappingFragment);
  // RFC 1858 3.1: a first fragment too short for the TCP header.
  f = craft_ipv4_fragments(tcp, Pieces{piece(0, 8)});
  EXPECT_EQ(parse(f[0], p), Drop::TinyFragment);
  // Ping of death: the last piece ends past 65,535 bytes.
  f = craft_ipv4_fragments(tcp, Pieces{piece(65528, 16)});
  EXPECT_EQ(parse(f[0], p), Drop::OversizedFragment);
  EXPECT_EQ(describe_frame(f[0]), "drop: oversized_fragment");
}

TEST(Fragments, Ipv6PiecesCarryAFragmentHeader) {
  FrameSpec s = spec(6, ipproto::kTcp, std::nullopt, 44);  // 64 bytes of TCP
  s.ip_id = 0xdeadbeef;
  const Pieces pieces = {piece(0, 32), piece(32, 32)};
  const std::vector<Frame> frags = craft_ipv6_fragments(s, pieces);
  Bytes reassembled;
  for (size_t i = 0; i < frags.size(); ++i) {
    SCOPED_TRACE(i);
    ParsedPacket p;
    ASSERT_EQ(parse(frags[i], p), std::nullopt);
    EXPECT_TRUE(p.fragment);
    EXPECT_EQ(p.first_fragment, i == 0);
    EXPECT_EQ(p.fragment_offset, pieces[i].offset);
    EXPECT_EQ(p.fragment_bytes, 32);
    EXPECT_EQ(p.fragment_id, 0xdeadbeefu);
    EXPECT_EQ(p.more_fragments, i == 0);
    EXPECT_EQ(p.proto, ipproto::kTcp);
    EXPECT_EQ(frags[i][14 + 6], 44);  // next header: Fragment
    if (i == 0) {
      EXPECT_EQ(p.dport, 80);
      EXPECT_EQ(p.l4_offset, 14 + 40 + 8);
    }
    reassembled.insert(reassembled.end(), frags[i].end() - 32, frags[i].end());
  }
  EXPECT_EQ(reassembled, upper_layer_of(s));
  ParsedPacket p;
  auto f = craft_ipv6_fragments(s, Pieces{piece(65528, 16)});
  EXPECT_EQ(parse(f[0], p), Drop::OversizedFragment);
}

TEST(Ipv6Extensions, ChainParsesThroughToTheUpperLayer) {
  using X = Ipv6Extension;
  const Chain chain = {ext(X::kHopByHop), ext(X::kRouting, 24), ext(X::kAuthentication, 24),
                       ext(X::kDestinationOptions, 16)};
  const FrameSpec s = spec(6, ipproto::kUdp, std::nullopt, 5);
  const Frame f = craft_ipv6_with_extensions(s, chain);
  ParsedPacket p;
  ASSERT_EQ(parse(f, p), std::nullopt) << describe_frame(f);
  EXPECT_EQ(p.proto, ipproto::kUdp);
  EXPECT_EQ(p.l4_offset, 14 + 40 + 8 + 24 + 24 + 16);
  EXPECT_EQ(p.dport, 80);
  EXPECT_EQ(f[14 + 6], X::kHopByHop);
  // The checksum covers the upper layer alone, with its own length in the pseudo-header.
  Bytes moved(f.begin(), f.begin() + 14 + 40);
  moved[14 + 6] = ipproto::kUdp;
  moved[14 + 4] = 0;
  moved[14 + 5] = 13;
  moved.insert(moved.end(), f.begin() + p.l4_offset, f.end());
  std::string why;
  EXPECT_TRUE(l4_checksum_ok(moved, 6, ipproto::kUdp, why)) << why;
}

TEST(Ipv6Extensions, LargeOptionsHeaderIsPaddedWithValidOptions) {
  const Chain chain = {ext(Ipv6Extension::kDestinationOptions, 2048)};
  const Frame f = craft_ipv6_with_extensions(spec(6, ipproto::kTcp), chain);
  // Walk the options: Pad1 is one byte, every other option is type, length, data.
  size_t pos = 14 + 40 + 2, end = 14 + 40 + 2048;
  while (pos < end) {
    ASSERT_TRUE(f[pos] == 0 || f[pos] == 1) << "option " << int(f[pos]) << " at " << pos;
    pos += f[pos] == 0 ? 1 : 2 + f[pos + 1];
  }
  EXPECT_EQ(pos, end);
  ParsedPacket p;
  EXPECT_EQ(parse(f, p), std::nullopt);
}

TEST(Ipv6Extensions, HostileChainsAreDropped) {
  using X = Ipv6Extension;
  const FrameSpec s = spec(6, ipproto::kTcp);
  ParsedPacket p;
  // RFC 8200 4.1: Hop-by-Hop only first.
  EXPECT_EQ(
      parse(craft_ipv6_with_extensions(s, Chain{ext(X::kDestinationOptions), ext(X::kHopByHop)}),
            p),
      Drop::BadExtensionChain);
  // Longer than the parser walks.
  const Chain long_chain(kMaxIpv6ExtensionHeaders + 1, ext(X::kDestinationOptions));
  EXPECT_EQ(parse(craft_ipv6_with_extensions(s, long_chain), p), Drop::BadExtensionChain);
  // A length field that runs past the packet.
  X overclaiming = ext(X::kRouting);
  overclaiming.length_field = 200;
  EXPECT_EQ(parse(craft_ipv6_with_extensions(s, Chain{overclaiming}), p), Drop::BadExtensionChain);
  // Two fragment headers.
  const Chain two_fragments = {fragment_ext(0, true), fragment_ext(0, true)};
  EXPECT_EQ(parse(craft_ipv6_with_extensions(s, two_fragments), p), Drop::BadExtensionChain);
}

TEST(Ipv6Extensions, UnknownHeaderEndsTheWalkWithoutPorts) {
  const Chain chain = {ext(Ipv6Extension::kHopByHop), ext(253, 16)};
  const Frame f = craft_ipv6_with_extensions(spec(6, ipproto::kTcp), chain);
  ParsedPacket p;
  ASSERT_EQ(parse(f, p), std::nullopt);
  EXPECT_EQ(p.proto, 253);
  EXPECT_EQ(p.sport, 0);
  EXPECT_EQ(describe_frame(f), "IPv6 proto 253 fd00::1 -> fd00::2 ttl 64");
}

TEST(Ipv6Extensions, FragmentHeaderInTheChain) {
  using X = Ipv6Extension;
  const Chain chain = {ext(X::kDestinationOptions), fragment_ext(64, false, 5)};
  ParsedPacket p;
  ASSERT_EQ(parse(craft_ipv6_with_extensions(spec(6, ipproto::kUdp), chain), p), std::nullopt);
  EXPECT_TRUE(p.fragment);
  EXPECT_EQ(p.fragment_offset, 64);
  EXPECT_EQ(p.fragment_id, 5u);
  EXPECT_EQ(p.l4_offset, 0);
  // An atomic fragment (offset 0, no more) is no fragment at all (RFC 6946).
  ASSERT_EQ(
      parse(craft_ipv6_with_extensions(spec(6, ipproto::kUdp), Chain{fragment_ext(0, false)}), p),
      std::nullopt);
  EXPECT_FALSE(p.fragment);
  EXPECT_EQ(p.dport, 80);
}

TEST(Truncation, CutsWhereTheHostileSuiteNeedsIt) {
  const Frame tcp = craft_frame(spec(4, ipproto::kTcp));
  ParsedPacket p;
  EXPECT_EQ(parse(truncate_frame(tcp, 10), p), Drop::TruncatedL2);
  EXPECT_EQ(parse(truncate_frame(tcp, 30), p), Drop::BadIpHeader);
  EXPECT_EQ(parse(truncate_frame(tcp, 50), p), Drop::BadIpHeader);  // total length lies
  EXPECT_EQ(truncate_frame(tcp, 1000), tcp);
  const Frame short_l4 = shorten_ip_payload(tcp, 10);
  EXPECT_EQ(short_l4.size(), 14u + 20 + 10);
  EXPECT_TRUE(ipv4_header_checksum_ok(short_l4));
  EXPECT_EQ(parse(short_l4, p), Drop::TruncatedL4);
  const Frame v6 = craft_frame(spec(6, ipproto::kUdp, 4));
  EXPECT_EQ(parse(shorten_ip_payload(v6, 6), p), Drop::TruncatedL4);
  const Chain chain = {ext(Ipv6Extension::kHopByHop, 16)};
  EXPECT_EQ(
      parse(shorten_ip_payload(craft_ipv6_with_extensions(spec(6, ipproto::kUdp), chain), 12), p),
      Drop::BadExtensionChain);
  EXPECT_THROW(shorten_ip_payload(tcp, 21), std::invalid_argument);
}

TEST(CorruptChecksum, BreaksExactlyTheChecksumAskedFor) {
  const Frame tcp = craft_frame(spec(4, ipproto::kTcp));
  ParsedPacket p;
  EXPECT_EQ(parse(corrupt_ip_checksum(tcp), p), Drop::BadIpChecksum);
  EXPECT_THROW(corrupt_ip_checksum(craft_frame(spec(6, ipproto::kTcp))), std::invalid_argument);
  for (const Case& c : all_cases()) {
    if (l4_header_bytes(c.proto) == 0) {
      continue;
    }
    SCOPED_TRACE(c.name());
    const Frame bad = corrupt_l4_checksum(craft_frame(spec(c.family, c.proto, c.vlan, c.payload)));
    std::string why;
    EXPECT_FALSE(l4_checksum_ok(bad, c.family, c.proto, why));
    if (c.family == 4) {
      EXPECT_TRUE(ipv4_header_checksum_ok(bad));
    }
    EXPECT_EQ(parse(bad, p), std::nullopt);  // the parser does not check L4 checksums
  }
  EXPECT_THROW(corrupt_l4_checksum(craft_frame(spec(4, 47))), std::invalid_argument);
}

}  // namespace
}  // namespace palisade::control
