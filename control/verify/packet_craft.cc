#include "control/verify/packet_craft.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "dataplane/hot/parse.h"

namespace palisade::control {

using dataplane::Drop;
using dataplane::kDropName;
using dataplane::L3Kind;
using dataplane::parse_packet;
using dataplane::ParsedPacket;

namespace {

namespace ipproto = policy::ipproto;
using policy::IpAddr;
using Bytes = std::vector<uint8_t>;

constexpr uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86DD, kEtherArp = 0x0806,
                   kEtherVlan = 0x8100;
constexpr size_t kIpv4MaxOptions = 40;  // IHL is 4 bits of 4-byte words: 60 bytes in all
constexpr size_t kMaxIpLength = 65535;  // IPv4 total length, IPv6 payload length: 16 bits
// The SYN|ACK's own initial sequence number: any fixed value will do, as long as replies are
// deterministic and the handshake's numbers chain.
constexpr uint32_t kReplyIsn = 0x50000000;

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
void set16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
void append(Bytes& to, const Bytes& from) { to.insert(to.end(), from.begin(), from.end()); }
void append_addr(Bytes& to, const IpAddr& a) {
  to.insert(to.end(), a.bytes.begin(), a.bytes.begin() + (a.family == 4 ? 4 : 16));
}

[[noreturn]] void bad_spec(const std::string& field, const std::string& why) {
  throw std::invalid_argument("FrameSpec." + field + ": " + why);
}

void check_family(const IpAddr& src, const IpAddr& dst, int want = 0) {
  if ((src.family != 4 && src.family != 6) || src.family != dst.family) {
    bad_spec("dst", "source and destination must both be IPv4 or both IPv6, not " +
                        std::to_string(src.family) + " and " + std::to_string(dst.family));
  }
  if (want != 0 && src.family != want) {
    bad_spec("src", "this builder takes IPv" + std::to_string(want) + " addresses only");
  }
}

using policy::ipproto::is_icmp;

// Deterministic payload bytes, different at each offset, so a misplaced byte shows.
Bytes pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) {
    b[i] = static_cast<uint8_t>(i);
  }
  return b;
}

Bytes ethernet_header(const Mac& dst, const Mac& src, std::optional<uint16_t> vlan,
                      uint16_t ethertype) {
  Bytes b(dst.begin(), dst.end());
  b.insert(b.end(), src.begin(), src.end());
  if (vlan) {
    put16(b, kEtherVlan);
    put16(b, *vlan & 0x0fff);  // PCP and DEI 0
  }
  put16(b, ethertype);
  return b;
}

Frame with_ethernet(const FrameSpec& s, const Bytes& ip_packet) {
  Frame f =
      ethernet_header(s.dst_mac, s.src_mac, s.vlan, s.src.family == 4 ? kEtherIpv4 : kEtherIpv6);
  append(f, ip_packet);
  return f;
}

// The pseudo-header's share of an L4 checksum: RFC 793 3.1 for IPv4, RFC 8200 8.1 for IPv6
// (upper-layer length as 32 bits there).
uint32_t pseudo_header_sum(const IpAddr& src, const IpAddr& dst, uint8_t proto, size_t length) {
  Bytes p;
  append_addr(p, src);
  append_addr(p, dst);
  if (src.family == 4) {
    p.push_back(0);
    p.push_back(proto);
    put16(p, static_cast<uint16_t>(length));
  } else {
    put32(p, static_cast<uint32_t>(length));
    p.insert(p.end(), {0, 0, 0, proto});
  }
  return ones_complement_sum(p);
}

// Fills the checksum of the upper-layer message `l4` (header and payload, checksum field
// zero). ICMP for IPv4 alone has no pseudo-header; SCTP uses CRC32c instead of a sum.
void set_l4_checksum(const IpAddr& src, const IpAddr& dst, uint8_t proto, Bytes& l4) {
  size_t at = 0;
  switch (proto) {
    case ipproto::kTcp:
      at = 16;
      break;
    case ipproto::kUdp:
    case ipproto::kUdpLite:
      at = 6;
      break;
    case ipproto::kIcmp:
    case ipproto::kIcmpV6:
      at = 2;
      break;
    case ipproto::kSctp: {
      const uint32_t crc = crc32c(l4);
      for (int i = 0; i < 4; ++i) {
        l4[8 + i] = static_cast<uint8_t>(crc >> (8 * i));
      }
      return;
    }
    default:
      return;
  }
  const uint32_t partial =
      proto == ipproto::kIcmp ? 0 : pseudo_header_sum(src, dst, proto, l4.size());
  uint16_t sum = static_cast<uint16_t>(~ones_complement_sum(l4, partial));
  // UDP's 0 means "no checksum" (RFC 768), and UDP-Lite forbids it: send its equal, 0xffff.
  if (sum == 0 && (proto == ipproto::kUdp || proto == ipproto::kUdpLite)) {
    sum = 0xffff;
  }
  set16(&l4[at], sum);
}

// The upper-layer message of `s` (L4 header, payload), checksum filled.
Bytes upper_layer(const FrameSpec& s) {
  const Bytes body = pattern(s.payload);
  Bytes l4;
  switch (s.proto) {
    case ipproto::kTcp:
      put16(l4, s.sport);
      put16(l4, s.dport);
      put32(l4, s.tcp_seq);
      put32(l4, s.tcp_ack);
      l4.push_back(5 << 4);  // data offset: 20 bytes, no options
      l4.push_back(s.tcp_flags);
      put16(l4, 65535);  // window
      put32(l4, 0);      // checksum, urgent pointer
      break;
    case ipproto::kUdp:
    case ipproto::kUdpLite:
      if (8 + body.size() > kMaxIpLength) {
        bad_spec("payload", std::to_string(s.payload) + " bytes do not fit a UDP datagram");
      }
      put16(l4, s.sport);
      put16(l4, s.dport);
      // UDP: the datagram length. UDP-Lite: checksum coverage, 0 meaning all (RFC 3828 3.1).
      put16(l4, s.proto == ipproto::kUdp ? static_cast<uint16_t>(8 + body.size()) : 0);
      put16(l4, 0);
      break;
    case ipproto::kSctp:
      put16(l4, s.sport);
      put16(l4, s.dport);
      put32(l4, s.sctp_vtag);
      put32(l4, 0);
      break;
    case ipproto::kIcmp:
    case ipproto::kIcmpV6:
      l4.push_back(s.icmp_type.value_or(icmp_echo_request_type(s.proto)));
      l4.push_back(s.icmp_code);
      put16(l4, 0);
      put16(l4, s.icmp_id);
      put16(l4, s.icmp_seq);
      break;
    default:
      break;  // a bare IP payload
  }
  append(l4, body);
  set_l4_checksum(s.src, s.dst, s.proto, l4);
  return l4;
}

// An IPv4 header for `payload_bytes` after it; `frag` is the flags/fragment-offset word (0: a
// whole datagram, DF clear, so a test can fragment what it crafted).
Bytes ipv4_header(const FrameSpec& s, size_t payload_bytes, uint16_t frag) {
  if (s.ipv4_options.size() % 4 != 0 || s.ipv4_options.size() > kIpv4MaxOptions) {
    bad_spec("ipv4_options",
             std::to_string(s.ipv4_options.size()) + " bytes; want whole 4-byte words, at most 40");
  }
  const size_t header = 20 + s.ipv4_options.size();
  if (header + payload_bytes > kMaxIpLength) {
    bad_spec("payload", "an IPv4 packet of " + std::to_string(header + payload_bytes) +
                            " bytes is over 65,535");
  }
  Bytes h;
  h.push_back(static_cast<uint8_t>(0x40 | header / 4));
  h.push_back(0);  // DSCP, ECN
  put16(h, static_cast<uint16_t>(header + payload_bytes));
  put16(h, static_cast<uint16_t>(s.ip_id));
  put16(h, frag);
  h.push_back(s.ttl);
  h.push_back(s.proto);
  put16(h, 0);
  append_addr(h, s.src);
  append_addr(h, s.dst);
  append(h, s.ipv4_options);
  set16(&h[10], static_cast<uint16_t>(~ones_complement_sum(h)));
  return h;
}

Bytes ipv6_header(const FrameSpec& s, uint8_t next_header, size_t payload_bytes) {
  if (payload_bytes > kMaxIpLength) {
    bad_spec("payload", "an IPv6 payload of " + std::to_string(payload_bytes) +
                            " bytes is over 65,535 (jumbograms are not built)");
  }
  Bytes h = {0x60, 0, 0, 0};  // version 6, traffic class and flow label 0
  put16(h, static_cast<uint16_t>(payload_bytes));
  h.push_back(next_header);
  h.push_back(s.ttl);
  append_addr(h, s.src);
  append_addr(h, s.dst);
  return h;
}

// Bytes [offset, offset + length) of `data`, zeros where it runs past the end.
Bytes slice(const Bytes& data, size_t offset, size_t length) {
  Bytes out(length, 0);
  if (offset < data.size()) {
    const size_t n = std::min(length, data.size() - offset);
    std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(offset), n, out.begin());
  }
  return out;
}

void check_fragment_offset(uint16_t offset) {
  if (offset % 8 != 0) {
    bad_spec("fragment offset",
             std::to_string(offset) + " is not a multiple of 8 (the header counts 8-byte units)");
  }
}

// Options area of a Hop-by-Hop or Destination Options header: Pad1 and PadN (RFC 8200 4.2),
// PadN at most 257 bytes as its length is one byte.
void append_padding_options(Bytes& b, size_t n) {
  while (n > 0) {
    if (n == 1) {
      b.push_back(0);  // Pad1
      return;
    }
    const size_t chunk = std::min<size_t>(n == 258 ? 256 : n, 257);  // never leave 1 behind
    b.push_back(1);                                                  // PadN
    b.push_back(static_cast<uint8_t>(chunk - 2));
    b.insert(b.end(), chunk - 2, 0);
    n -= chunk;
  }
}

Bytes extension_header(const Ipv6Extension& x, uint8_t next) {
  Bytes b = {next, 0};
  const auto check_length = [&](size_t unit, size_t min) {
    if (x.length % unit != 0 || x.length < min || x.length > 2048) {
      bad_spec("chain", "extension header " + std::to_string(x.type) + " of " +
                            std::to_string(x.length) + " bytes; want a multiple of " +
                            std::to_string(unit) + " from " + std::to_string(min) + " to 2048");
    }
  };
  switch (x.type) {
    case Ipv6Extension::kFragment:
      check_fragment_offset(x.fragment_offset);
      put16(b, static_cast<uint16_t>(x.fragment_offset | (x.more_fragments ? 1 : 0)));
      put32(b, x.fragment_id);
      break;
    case Ipv6Extension::kAuthentication:  // RFC 4302 2: length in 4-byte words, minus 2
      check_length(4, 12);
      b[1] = static_cast<uint8_t>(x.length / 4 - 2);
      put16(b, 0);            // reserved
      put32(b, 0x100);        // SPI
      put32(b, 1);            // sequence number
      b.resize(x.length, 0);  // ICV
      break;
    case Ipv6Extension::kHopByHop:
    case Ipv6Extension::kDestinationOptions:
      check_length(8, 8);
      b[1] = static_cast<uint8_t>(x.length / 8 - 1);
      append_padding_options(b, x.length - 2);
      break;
    case Ipv6Extension::kRouting:
      check_length(8, 8);
      b[1] = static_cast<uint8_t>(x.length / 8 - 1);
      b.push_back(253);  // routing type: experimental (RFC 4727)
      b.push_back(0);    // segments left: 0, so an unknown type is skipped (RFC 8200 4.4)
      b.resize(x.length, 0);
      break;
    default:  // unknown: the uniform format of RFC 6564
      check_length(8, 8);
      b[1] = static_cast<uint8_t>(x.length / 8 - 1);
      b.resize(x.length, 0);
      break;
  }
  if (x.length_field) {
    b[1] = *x.length_field;
  }
  return b;
}

// Where the IP header starts, after Ethernet and at most one 802.1Q tag; 0 if the frame is
// too short to say.
size_t l3_offset_of(const Frame& f) {
  if (f.size() < 14) {
    return 0;
  }
  return get16(&f[12]) == kEtherVlan ? (f.size() < 18 ? 0 : 18) : 14;
}

uint16_t ethertype_at(const Frame& f, size_t l3) { return get16(&f[l3 - 2]); }

void fix_ipv4_checksum(uint8_t* h) {
  const size_t header = static_cast<size_t>(h[0] & 0x0f) * 4;
  set16(h + 10, 0);
  set16(h + 10, static_cast<uint16_t>(~ones_complement_sum({h, header})));
}

std::string tcp_flag_letters(uint8_t flags) {
  static constexpr char kLetters[] = "FSRPAUEC";  // bit 0 (FIN) to bit 7 (CWR)
  std::string out;
  for (int bit = 0; bit < 8; ++bit) {
    if ((flags >> bit) & 1) {
      out += kLetters[bit];
    }
  }
  return out.empty() ? "none" : out;
}

std::string protocol_word(uint8_t proto) {
  const std::string name = policy::protocol_name(proto);
  return name == std::to_string(proto) ? "proto " + name : name;  // unnamed: "proto 253"
}

std::string format_mac(const uint8_t* m) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 6; ++i) {
    if (i != 0) {
      out += ':';
    }
    out += kHex[m[i] >> 4];
    out += kHex[m[i] & 0x0f];
  }
  return out;
}

IpAddr address_of(uint8_t family, const uint8_t* bytes) {
  IpAddr a;
  a.family = family;
  std::copy_n(bytes, family == 4 ? 4 : 16, a.bytes.begin());
  return a;
}

// "TCP 10.0.0.1:40000 -> 10.0.0.2:80", "[fd00::1]:53" for IPv6; no ports for protocols
// without them, or when the L4 header was not read (a later fragment).
std::string tuple_words(uint8_t proto, const IpAddr& src, uint16_t sport, const IpAddr& dst,
                        uint16_t dport, bool l4_read) {
  const bool ports = l4_read && (proto == ipproto::kTcp || proto == ipproto::kUdp ||
                                 proto == ipproto::kUdpLite || proto == ipproto::kSctp);
  const auto endpoint = [&](const IpAddr& a, uint16_t port) {
    if (!ports) {
      return a.to_string();
    }
    const std::string host = a.family == 6 ? "[" + a.to_string() + "]" : a.to_string();
    return host + ":" + std::to_string(port);
  };
  return protocol_word(proto) + " " + endpoint(src, sport) + " -> " + endpoint(dst, dport);
}

std::string describe_arp(const uint8_t* arp) {
  const uint16_t op = get16(arp + 6);
  const std::string sender = address_of(4, arp + 14).to_string();
  const std::string target = address_of(4, arp + 24).to_string();
  if (op == 1) {
    return "ARP who-has " + target + " tell " + sender;
  }
  if (op == 2) {
    return "ARP " + sender + " is-at " + format_mac(arp + 8);
  }
  return "ARP op " + std::to_string(op) + " " + sender + " -> " + target;
}

}  // namespace

uint8_t icmp_echo_request_type(uint8_t proto) { return proto == ipproto::kIcmpV6 ? 128 : 8; }
uint8_t icmp_echo_reply_type(uint8_t proto) { return proto == ipproto::kIcmpV6 ? 129 : 0; }

uint16_t ones_complement_sum(std::span<const uint8_t> bytes, uint32_t partial) {
  uint64_t sum = partial;
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) {
    sum += get16(&bytes[i]);
  }
  if (i < bytes.size()) {
    sum += uint32_t{bytes[i]} << 8;
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(sum);
}

uint32_t crc32c(std::span<const uint8_t> bytes) {
  // Reflected Castagnoli polynomial 0x1EDC6F41, one table built on first use.
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) {
        c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      }
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xffffffffu;
  for (uint8_t b : bytes) {
    crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
  }
  return ~crc;
}

Frame craft_frame(const FrameSpec& spec) {
  check_family(spec.src, spec.dst);
  const Bytes l4 = upper_layer(spec);
  Bytes ip = spec.src.family == 4 ? ipv4_header(spec, l4.size(), 0)
                                  : ipv6_header(spec, spec.proto, l4.size());
  append(ip, l4);
  return with_ethernet(spec, ip);
}

FrameSpec reply_of(const FrameSpec& spec) {
  FrameSpec r = spec;
  std::swap(r.src_mac, r.dst_mac);
  std::swap(r.src, r.dst);
  std::swap(r.sport, r.dport);
  if (spec.proto == ipproto::kTcp) {
    const bool syn = (spec.tcp_flags & kTcpFlagSyn) != 0;
    const bool fin = (spec.tcp_flags & kTcpFlagFin) != 0;
    if (syn && (spec.tcp_flags & kTcpFlagAck) == 0) {
      r.tcp_flags = kTcpFlagSyn | kTcpFlagAck;
      r.tcp_seq = kReplyIsn;
      r.tcp_ack = spec.tcp_seq + 1;
    } else {
      // SYN and FIN each take one sequence number (RFC 9293 3.4).
      r.tcp_flags = kTcpFlagAck;
      r.tcp_seq = spec.tcp_ack;
      r.tcp_ack =
          spec.tcp_seq + static_cast<uint32_t>(spec.payload) + (syn ? 1 : 0) + (fin ? 1 : 0);
    }
  } else if (is_icmp(spec.proto)) {
    const uint8_t request = icmp_echo_request_type(spec.proto);
    if (spec.icmp_type.value_or(request) == request) {
      r.icmp_type = icmp_echo_reply_type(spec.proto);
    }
  }
  return r;
}

FrameSpec spec_for_flow(const policy::Flow& flow, const Mac& src_mac, const Mac& dst_mac) {
  FrameSpec s;
  s.src_mac = src_mac;
  s.dst_mac = dst_mac;
  s.src = flow.src;
  s.dst = flow.dst;
  s.proto = flow.protocol;
  if (is_icmp(flow.protocol)) {
    s.icmp_type = flow.icmp_type;  // unset: the echo request of the protocol
    s.icmp_code = flow.icmp_code.value_or(0);
  } else {
    s.sport = flow.src_port;
    s.dport = flow.dst_port;
  }
  return s;
}

Frame craft_arp_request(const Mac& sender_mac, const IpAddr& sender_ip, const IpAddr& target_ip,
                        std::optional<uint16_t> vlan) {
  return craft_arp_reply(sender_mac, sender_ip, Mac{}, target_ip, vlan);
}

Frame craft_arp_reply(const Mac& sender_mac, const IpAddr& sender_ip, const Mac& target_mac,
                      const IpAddr& target_ip, std::optional<uint16_t> vlan) {
  check_family(sender_ip, target_ip, 4);
  // A request is this with no target MAC yet, broadcast (RFC 826 "Packet Generation").
  const bool request = target_mac == Mac{};
  const Mac dst = request ? Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} : target_mac;
  Frame f = ethernet_header(dst, sender_mac, vlan, kEtherArp);
  put16(f, 1);           // hardware: Ethernet
  put16(f, kEtherIpv4);  // protocol: IPv4
  f.push_back(6);
  f.push_back(4);
  put16(f, request ? 1 : 2);
  f.insert(f.end(), sender_mac.begin(), sender_mac.end());
  append_addr(f, sender_ip);
  f.insert(f.end(), target_mac.begin(), target_mac.end());
  append_addr(f, target_ip);
  return f;
}

IpAddr solicited_node_address(const IpAddr& target) {
  IpAddr a;
  a.family = 6;
  a.bytes = {0xff,
             0x02,
             0,
             0,
             0,
             0,
             0,
             0,
             0,
             0,
             0,
             0x01,
             0xff,
             target.bytes[13],
             target.bytes[14],
             target.bytes[15]};
  return a;
}

Frame craft_neighbor_solicitation(const Mac& sender_mac, const IpAddr& sender_ip,
                                  const IpAddr& target_ip, std::optional<uint16_t> vlan) {
  check_family(sender_ip, target_ip, 6);
  FrameSpec s;
  s.src_mac = sender_mac;
  // 33:33 and the low 32 bits of the IPv6 multicast address (RFC 2464 7).
  s.dst_mac = {0x33, 0x33, 0xff, target_ip.bytes[13], target_ip.bytes[14], target_ip.bytes[15]};
  s.vlan = vlan;
  s.src = sender_ip;
  s.dst = solicited_node_address(target_ip);
  s.proto = ipproto::kIcmpV6;
  s.ttl = 255;  // a receiver drops ND with any other hop limit: it proves on-link origin
  Bytes l4 = {135, 0, 0, 0, 0, 0, 0, 0};  // type, code, checksum, reserved
  append_addr(l4, target_ip);
  if (sender_ip != IpAddr{6, {}}) {
    l4.insert(l4.end(), {1, 1});  // source link-layer address, 1 unit of 8 bytes
    l4.insert(l4.end(), sender_mac.begin(), sender_mac.end());
  }
  set_l4_checksum(s.src, s.dst, s.proto, l4);
  Bytes ip = ipv6_header(s, s.proto, l4.size());
  append(ip, l4);
  return with_ethernet(s, ip);
}

Frame craft_icmp_error(const FrameSpec& about, const IpAddr& from, uint8_t type, uint8_t code) {
  check_family(about.src, about.dst);
  check_family(from, about.src);
  const Frame offending = craft_frame(about);
  const size_t l3 = about.vlan ? 18 : 14;
  const size_t quote = about.src.family == 4
                           ? static_cast<size_t>(offending[l3] & 0x0f) * 4 + 8
                           : 1280 - 40 - 8;  // the minimum IPv6 MTU, less the error's own headers
  const Bytes original(offending.begin() + static_cast<std::ptrdiff_t>(l3), offending.end());
  FrameSpec e;
  e.src_mac = about.dst_mac;
  e.dst_mac = about.src_mac;
  e.vlan = about.vlan;
  e.src = from;
  e.dst = about.src;
  e.proto = from.family == 4 ? ipproto::kIcmp : ipproto::kIcmpV6;
  Bytes l4 = {type, code, 0, 0, 0, 0, 0, 0};  // the second word is unused by these errors
  append(l4, slice(original, 0, std::min(quote, original.size())));
  set_l4_checksum(e.src, e.dst, e.proto, l4);
  Bytes ip = from.family == 4 ? ipv4_header(e, l4.size(), 0) : ipv6_header(e, e.proto, l4.size());
  append(ip, l4);
  return with_ethernet(e, ip);
}

std::string describe_frame(const uint8_t* data, size_t len) {
  ParsedPacket p;
  const uint32_t n = static_cast<uint32_t>(std::min<size_t>(len, UINT32_MAX));
  if (const std::optional<Drop> drop = parse_packet(data, n, p)) {
    return "drop: " + std::string(kDropName[static_cast<size_t>(*drop)]);
  }
  std::string out = p.vlan != 0 ? "vlan " + std::to_string(p.vlan) + " " : "";
  if (p.kind == L3Kind::Arp) {
    return out + describe_arp(data + p.l3_offset);
  }
  const uint8_t family = p.kind == L3Kind::Ipv4 ? 4 : 6;
  const IpAddr src = address_of(family, p.src), dst = address_of(family, p.dst);
  const bool has_l4 = p.l4_offset != 0;
  out += (src.family == 4 ? "IPv4 " : "IPv6 ") +
         tuple_words(p.proto, src, p.sport, dst, p.dport, has_l4);
  if (has_l4 && is_icmp(p.proto)) {
    out += " type " + std::to_string(p.sport) + " code " + std::to_string(p.dport);
  }
  if (p.icmp_error) {
    const IpAddr inner_src = address_of(src.family, p.inner_src);
    const IpAddr inner_dst = address_of(src.family, p.inner_dst);
    out += " about " +
           tuple_words(p.inner_proto, inner_src, p.inner_sport, inner_dst, p.inner_dport, true);
    if (is_icmp(p.inner_proto)) {
      out += " id " + std::to_string(p.inner_sport);
    }
  }
  if (has_l4 && p.proto == ipproto::kTcp) {
    out += " flags " + tcp_flag_letters(p.tcp_flags);
  }
  if (p.fragment) {
    out += " fragment id " + std::to_string(p.fragment_id) + " offset " +
           std::to_string(p.fragment_offset) + " bytes " + std::to_string(p.fragment_bytes) +
           (p.more_fragments ? " more" : "");
  }
  return out + " ttl " + std::to_string(p.ttl);
}

std::string describe_frame(const Frame& frame) {
  return describe_frame(frame.data(), frame.size());
}

std::vector<Frame> craft_ipv4_fragments(const FrameSpec& spec,
                                        std::span<const FragmentPiece> pieces) {
  check_family(spec.src, spec.dst, 4);
  const Bytes datagram = upper_layer(spec);
  std::vector<Frame> out;
  for (const FragmentPiece& piece : pieces) {
    check_fragment_offset(piece.offset);
    const bool more = piece.more.value_or(size_t{piece.offset} + piece.length < datagram.size());
    const auto frag = static_cast<uint16_t>((more ? 0x2000 : 0) | piece.offset / 8);
    Bytes ip = ipv4_header(spec, piece.length, frag);
    append(ip, slice(datagram, piece.offset, piece.length));
    out.push_back(with_ethernet(spec, ip));
  }
  return out;
}

std::vector<Frame> craft_ipv6_fragments(const FrameSpec& spec,
                                        std::span<const FragmentPiece> pieces) {
  check_family(spec.src, spec.dst, 6);
  const Bytes datagram = upper_layer(spec);
  std::vector<Frame> out;
  for (const FragmentPiece& piece : pieces) {
    Ipv6Extension header;
    header.type = Ipv6Extension::kFragment;
    header.fragment_offset = piece.offset;
    header.more_fragments =
        piece.more.value_or(size_t{piece.offset} + piece.length < datagram.size());
    header.fragment_id = spec.ip_id;
    Bytes ip = ipv6_header(spec, Ipv6Extension::kFragment, 8 + size_t{piece.length});
    append(ip, extension_header(header, spec.proto));
    append(ip, slice(datagram, piece.offset, piece.length));
    out.push_back(with_ethernet(spec, ip));
  }
  return out;
}

Frame craft_ipv6_with_extensions(const FrameSpec& spec, std::span<const Ipv6Extension> chain) {
  check_family(spec.src, spec.dst, 6);
  Bytes headers;
  for (size_t i = 0; i < chain.size(); ++i) {
    const uint8_t next = i + 1 < chain.size() ? chain[i + 1].type : spec.proto;
    append(headers, extension_header(chain[i], next));
  }
  const Bytes l4 = upper_layer(spec);
  Bytes ip =
      ipv6_header(spec, chain.empty() ? spec.proto : chain[0].type, headers.size() + l4.size());
  append(ip, headers);
  append(ip, l4);
  return with_ethernet(spec, ip);
}

Frame truncate_frame(Frame frame, size_t length) {
  frame.resize(std::min(length, frame.size()));
  return frame;
}

Frame shorten_ip_payload(Frame frame, size_t ip_payload_bytes) {
  const size_t l3 = l3_offset_of(frame);
  const uint16_t ethertype = l3 == 0 ? 0 : ethertype_at(frame, l3);
  if (ethertype == kEtherIpv4 && frame.size() >= l3 + 20) {
    const size_t header = static_cast<size_t>(frame[l3] & 0x0f) * 4;
    const size_t total = header + ip_payload_bytes;
    if (l3 + total > frame.size()) {
      throw std::invalid_argument("shorten_ip_payload: " + std::to_string(ip_payload_bytes) +
                                  " bytes is longer than the IPv4 payload present");
    }
    set16(&frame[l3 + 2], static_cast<uint16_t>(total));
    fix_ipv4_checksum(&frame[l3]);
    frame.resize(l3 + total);
    return frame;
  }
  if (ethertype == kEtherIpv6 && frame.size() >= l3 + 40) {
    if (l3 + 40 + ip_payload_bytes > frame.size()) {
      throw std::invalid_argument("shorten_ip_payload: " + std::to_string(ip_payload_bytes) +
                                  " bytes is longer than the IPv6 payload present");
    }
    set16(&frame[l3 + 4], static_cast<uint16_t>(ip_payload_bytes));
    frame.resize(l3 + 40 + ip_payload_bytes);
    return frame;
  }
  throw std::invalid_argument("shorten_ip_payload: not an IPv4 or IPv6 frame");
}

Frame corrupt_ip_checksum(Frame frame) {
  const size_t l3 = l3_offset_of(frame);
  if (l3 == 0 || ethertype_at(frame, l3) != kEtherIpv4 || frame.size() < l3 + 20) {
    throw std::invalid_argument("corrupt_ip_checksum: not an IPv4 frame");
  }
  // Flipping one bit in each byte changes the sum by 0x0101 or 0x00ff (mod 0xffff): never
  // the ±0 ambiguity of one's complement, so the header cannot stay valid.
  frame[l3 + 10] ^= 0x01;
  frame[l3 + 11] ^= 0x01;
  return frame;
}

Frame corrupt_l4_checksum(Frame frame) {
  ParsedPacket p;
  if (parse_packet(frame.data(), static_cast<uint32_t>(frame.size()), p) || p.l4_offset == 0) {
    throw std::invalid_argument("corrupt_l4_checksum: the frame has no L4 header to corrupt");
  }
  uint8_t* l4 = &frame[p.l4_offset];
  switch (p.proto) {
    case ipproto::kSctp:
      l4[8] ^= 0x01;  // any single-bit change alters a CRC
      return frame;
    case ipproto::kTcp:
      l4 += 16;
      break;
    case ipproto::kUdp:
    case ipproto::kUdpLite:
      l4 += 6;
      break;
    case ipproto::kIcmp:
    case ipproto::kIcmpV6:
      l4 += 2;
      break;
    default:
      throw std::invalid_argument("corrupt_l4_checksum: protocol " + std::to_string(p.proto) +
                                  " has no checksum built here");
  }
  // As corrupt_ip_checksum; and for UDP, never 0, which would read as "no checksum".
  const uint16_t flipped = get16(l4) ^ 0x0101;
  set16(l4, flipped == 0 ? 0x0202 : flipped);
  return frame;
}

}  // namespace palisade::control
