#include "dataplane/hot/parse.h"

#include <rte_vect.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "policy/ipproto.h"

namespace palisade::dataplane {

namespace {

constexpr uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86DD, kEtherArp = 0x0806,
                   kEtherVlan = 0x8100, kEtherQinQ = 0x88A8;
using namespace policy::ipproto;  // kTcp, kUdp, kSctp, kIcmp, kIcmpV6, kUdpLite
constexpr uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kAuthentication = 51,
                  kDestinationOptions = 60;
constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04;

inline uint16_t read16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t read32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Writes a port pair (host order) with one 4-byte store. The worker reads both ports at once
// to build a conntrack key; two 2-byte stores would make that read wait for both to retire
// instead of being forwarded from the store buffer (a dozen cycles a packet).
template <size_t kFirst, size_t kSecond>
inline void write_ports(ParsedPacket& out, uint16_t a, uint16_t b) {
  static_assert(kSecond == kFirst + 2, "adjacent ports");
  static_assert(std::endian::native == std::endian::little);
  const uint32_t both = uint32_t{a} | uint32_t{b} << 16;
  std::memcpy(reinterpret_cast<unsigned char*>(&out) + kFirst, &both, sizeof(both));
}
inline void set_ports(ParsedPacket& out, uint16_t sport, uint16_t dport) {
  write_ports<offsetof(ParsedPacket, sport), offsetof(ParsedPacket, dport)>(out, sport, dport);
}
inline void set_inner_ports(ParsedPacket& out, uint16_t sport, uint16_t dport) {
  write_ports<offsetof(ParsedPacket, inner_sport), offsetof(ParsedPacket, inner_dport)>(out, sport,
                                                                                        dport);
}

// Where the bytes of a frame end in memory. A frame in one buffer is read up to its length,
// which every check against a header's length already bounds, so Contiguous checks nothing
// more. A frame in a chain of mbufs (jumbo frames, vhost-user mergeable buffers) is parsed
// from its first segment: its lengths are checked against the whole frame, and each header
// read must also lie within the first segment, or the frame is dropped as split_headers
// (never parsed from bytes that are not the frame's).
template <bool kSegmented>
struct Readable {
  const uint8_t* end;
  bool has(const uint8_t* at, uint32_t n) const {
    if constexpr (kSegmented) {
      return at <= end && static_cast<size_t>(end - at) >= n;
    } else {
      return true;
    }
  }
};

// Resets a ParsedPacket with seven 16-byte stores, written out: for a 112-byte memset, or a
// loop of vector stores (which GCC turns back into one), GCC emits `rep stosq`, whose
// start-up alone costs about as much as the rest of an IPv4 TCP parse.
inline void reset(ParsedPacket& out) {
  static_assert(sizeof(ParsedPacket) == 112 && std::is_trivially_copyable_v<ParsedPacket>,
                "the stores below cover [0, 112) exactly");
  auto* bytes = reinterpret_cast<unsigned char*>(&out);
  const __m128i zero = _mm_setzero_si128();
  _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes), zero);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes + 16), zero);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes + 32), zero);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes + 48), zero);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes + 64), zero);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes + 80), zero);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes + 96), zero);
}

// RFC 1071: the one's complement sum of the header, checksum included, is all ones. Summed as
// 32-bit words in the host's byte order into 64 bits, then folded: the sum is independent of
// byte order (RFC 1071 2.B) and all ones reads the same either way. `len` is the IHL in
// bytes, a multiple of 4.
// Inline, so that the common 20-byte header (a constant length at the call) is summed in
// straight-line code rather than a loop.
inline bool ipv4_checksum_ok(const uint8_t* h, uint32_t len) {
  uint64_t sum = 0;
  for (uint32_t i = 0; i < len; i += 4) {
    uint32_t word;
    std::memcpy(&word, h + i, sizeof(word));
    sum += word;
  }
  sum = (sum & 0xffffffffu) + (sum >> 32);  // at most 15 words: no carry past bit 36
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return sum == 0xffffu;
}

bool is_icmp_error(L3Kind kind, uint8_t proto, uint8_t type) {
  if (kind == L3Kind::Ipv4 && proto == kIcmp) {
    // Destination Unreachable, Time Exceeded, Parameter Problem (RFC 792). Source Quench
    // (deprecated, RFC 6633) and Redirect are ordinary ICMP, judged by policy like echo.
    return type == 3 || type == 11 || type == 12;
  }
  // Destination Unreachable, Packet Too Big, Time Exceeded, Parameter Problem (RFC 4443).
  return kind == L3Kind::Ipv6 && proto == kIcmpV6 && type >= 1 && type <= 4;
}

// The ports of the L4 header an ICMP error quotes: RFC 792 guarantees its first 8 bytes, and
// those hold the ports of TCP, UDP, UDP-Lite and SCTP, and an echo's identifier.
template <bool kSegmented>
std::optional<Drop> parse_quoted_l4(const uint8_t* l4, uint32_t avail, Readable<kSegmented> r,
                                    ParsedPacket& out) {
  const uint8_t icmp = out.kind == L3Kind::Ipv4 ? kIcmp : kIcmpV6;
  const uint8_t p = out.inner_proto;
  if (p != kTcp && p != kUdp && p != kUdpLite && p != kSctp && p != icmp) {
    return std::nullopt;  // no ports to look the connection up by
  }
  if (avail < 8) {
    return Drop::TruncatedL4;
  }
  if (!r.has(l4, 8)) {
    return Drop::SplitHeaders;
  }
  if (p != icmp) {
    set_inner_ports(out, read16(l4), read16(l4 + 2));
  } else if (l4[0] == 8 || l4[0] == 0 || l4[0] == 128 || l4[0] == 129) {
    const uint16_t id = read16(l4 + 4);  // echo request/reply: the identifier, both ports
    set_inner_ports(out, id, id);
  }
  return std::nullopt;
}

// The packet an ICMP error quotes, `avail` bytes of it at q: an IP header of the outer
// packet's family and the first bytes of its payload. Reasons, the same for both families:
// bytes missing for what must be read (the fixed header, the IHL, an extension header, the
// 8 bytes with the ports) is truncated_l4, since the quote is the ICMP message's body; a
// header that is wrong whatever its length (version, IHL below 5, an extension header not
// walked) is bad_ip_header. Lengths and checksums inside the quote are not checked: the
// quote is cut short by design.
template <bool kSegmented>
std::optional<Drop> parse_quoted(const uint8_t* q, uint32_t avail, Readable<kSegmented> r,
                                 ParsedPacket& out) {
  out.icmp_error = true;
  uint32_t pos = 0;
  bool later_fragment = false;
  if (out.kind == L3Kind::Ipv4) {
    if (avail < 20) {
      return Drop::TruncatedL4;
    }
    if (!r.has(q, 20)) {
      return Drop::SplitHeaders;
    }
    const uint32_t header = static_cast<uint32_t>(q[0] & 0x0f) * 4;
    if ((q[0] >> 4) != 4 || header < 20) {
      return Drop::BadIpHeader;
    }
    if (header > avail) {
      return Drop::TruncatedL4;
    }
    out.inner_proto = q[9];
    std::memcpy(out.inner_src, q + 12, 4);
    std::memcpy(out.inner_dst, q + 16, 4);
    later_fragment = (read16(q + 6) & 0x1fff) != 0;
    pos = header;
  } else {
    if (avail < 40) {
      return Drop::TruncatedL4;
    }
    if (!r.has(q, 40)) {
      return Drop::SplitHeaders;
    }
    if ((q[0] >> 4) != 6) {
      return Drop::BadIpHeader;
    }
    std::memcpy(out.inner_src, q + 8, 16);
    std::memcpy(out.inner_dst, q + 24, 16);
    pos = 40;
    uint8_t next = q[6];
    for (int count = 0;; ++count) {
      const bool walked =
          next == kHopByHop || next == kRouting || next == kFragment || next == kDestinationOptions;
      if (!walked) {
        break;
      }
      if (count == kMaxQuotedIpv6ExtensionHeaders || (next == kHopByHop && count != 0)) {
        return Drop::BadIpHeader;
      }
      if (pos + 8 > avail) {
        return Drop::TruncatedL4;
      }
      if (!r.has(q + pos, 8)) {
        return Drop::SplitHeaders;
      }
      const uint8_t* x = q + pos;
      const uint32_t length = next == kFragment ? 8 : (uint32_t{x[1]} + 1) * 8;
      if (pos + length > avail) {
        return Drop::TruncatedL4;
      }
      if (next == kFragment && (read16(x + 2) & 0xfff8) != 0) {
        later_fragment = true;
      }
      next = x[0];
      pos += length;
      if (later_fragment) {
        break;  // what follows is the middle of a datagram, not a header
      }
    }
    if (next == kAuthentication && !later_fragment) {
      return Drop::BadIpHeader;  // not walked (kMaxQuotedIpv6ExtensionHeaders says why)
    }
    out.inner_proto = next;
  }
  if (later_fragment) {
    return std::nullopt;  // no L4 header quoted: ports 0, it matches no connection with ports
  }
  return parse_quoted_l4(q + pos, avail - pos, r, out);
}

// The window scale option (RFC 7323 2.2: kind 3, length 3) among a SYN's TCP options, or
// kNoWindowScale. A malformed option list ends the search: the SYN then offers no scaling,
// which only makes window tracking stricter.
uint8_t window_scale_option(const uint8_t* opt, uint32_t len) {
  uint32_t i = 0;
  while (i < len) {
    const uint8_t kind = opt[i];
    if (kind == 0) {
      break;  // end of options
    }
    if (kind == 1) {
      ++i;  // no-operation
      continue;
    }
    if (i + 1 >= len || opt[i + 1] < 2 || i + opt[i + 1] > len) {
      break;
    }
    if (kind == 3 && opt[i + 1] == 3) {
      return std::min<uint8_t>(opt[i + 2], 14);  // RFC 7323: larger shifts are taken as 14
    }
    i += opt[i + 1];
  }
  return kNoWindowScale;
}

// The L4 header at l4 with `avail` bytes of IP payload. In a first fragment, a header that
// does not fit is a tiny fragment: its ports cannot be judged, so nothing after it can be.
template <bool kSegmented>
std::optional<Drop> parse_l4(const uint8_t* l4, uint32_t avail, Readable<kSegmented> r,
                             bool first_fragment, ParsedPacket& out) {
  const Drop short_header = first_fragment ? Drop::TinyFragment : Drop::TruncatedL4;
  switch (out.proto) {
    case kTcp: {
      if (avail < 20) {
        return short_header;
      }
      if (!r.has(l4, 20)) {
        return Drop::SplitHeaders;
      }
      const uint32_t header = static_cast<uint32_t>(l4[12] >> 4) * 4;
      if (header < 20) {
        return Drop::BadTcpHeader;
      }
      if (header > avail) {
        return first_fragment ? Drop::TinyFragment : Drop::BadTcpHeader;
      }
      const uint8_t flags = l4[13];
      const uint8_t control = flags & (kTcpFin | kTcpSyn | kTcpRst);
      if (flags == 0 || (control & (control - 1)) != 0) {
        return Drop::ImpossibleTcpFlags;  // none at all, or two of SYN, FIN, RST
      }
      out.tcp_flags = flags;
      set_ports(out, read16(l4), read16(l4 + 2));
      out.tcp_seq = read32(l4 + 4);
      out.tcp_ack = read32(l4 + 8);
      out.tcp_window = read16(l4 + 14);
      out.tcp_seq_len =
          out.fragment ? 0
                       : static_cast<uint16_t>(avail - header + ((flags & kTcpSyn) != 0 ? 1 : 0) +
                                               ((flags & kTcpFin) != 0 ? 1 : 0));
      out.tcp_wscale = kNoWindowScale;
      if ((flags & kTcpSyn) != 0 && header > 20) {
        // A SYN's options are read, so they must be in the first segment as the rest of the
        // headers are: otherwise a chain would be judged unlike the same frame in one buffer.
        if (!r.has(l4, header)) {
          return Drop::SplitHeaders;
        }
        out.tcp_wscale = window_scale_option(l4 + 20, header - 20);
      }
      return std::nullopt;
    }
    case kUdp:
    case kUdpLite: {
      if (avail < 8) {
        return short_header;
      }
      if (!r.has(l4, 8)) {
        return Drop::SplitHeaders;
      }
      const uint16_t length = read16(l4 + 4);
      // UDP's length covers the datagram: in a fragment it exceeds this piece. UDP-Lite's
      // field is a checksum coverage, 0 meaning all.
      if (out.proto == kUdp && !out.fragment && (length < 8 || length > avail)) {
        return Drop::TruncatedL4;
      }
      set_ports(out, read16(l4), read16(l4 + 2));
      return std::nullopt;
    }
    case kSctp:
      if (avail < 12) {
        return short_header;
      }
      if (!r.has(l4, 12)) {
        return Drop::SplitHeaders;
      }
      set_ports(out, read16(l4), read16(l4 + 2));
      return std::nullopt;
    case kIcmp:
    case kIcmpV6:
      if (avail < 8) {
        return short_header;
      }
      if (!r.has(l4, 8)) {
        return Drop::SplitHeaders;
      }
      set_ports(out, l4[0], l4[1]);  // type, code
      if (is_icmp_error(out.kind, out.proto, l4[0])) {
        return parse_quoted(l4 + 8, avail - 8, r, out);
      }
      return std::nullopt;
    default:
      return std::nullopt;  // other protocols (GRE, ESP, ...) are judged without ports
  }
}

template <bool kSegmented>
std::optional<Drop> parse_ipv4(const uint8_t* h, uint32_t avail, Readable<kSegmented> r,
                               ParsedPacket& out) {
  if (avail < 20) {
    return Drop::BadIpHeader;
  }
  if (!r.has(h, 20)) {
    return Drop::SplitHeaders;
  }
  if ((h[0] >> 4) != 4) {
    return Drop::BadIpHeader;
  }
  const uint32_t header = static_cast<uint32_t>(h[0] & 0x0f) * 4;
  const uint32_t total = read16(h + 2);
  // Trailing bytes (Ethernet padding) may follow `total`; the header may not run past it.
  if (header < 20 || header > avail || total < header || total > avail) {
    return Drop::BadIpHeader;
  }
  if (!r.has(h, header)) {
    return Drop::SplitHeaders;  // options past the first segment
  }
  if (!(header == 20 ? ipv4_checksum_ok(h, 20) : ipv4_checksum_ok(h, header))) {
    return Drop::BadIpChecksum;
  }
  out.kind = L3Kind::Ipv4;
  out.ttl = h[8];
  out.proto = h[9];
  std::memcpy(out.src, h + 12, 4);
  std::memcpy(out.dst, h + 16, 4);
  const uint16_t frag = read16(h + 6);
  out.more_fragments = (frag & 0x2000) != 0;
  out.fragment_offset = static_cast<uint16_t>((frag & 0x1fff) * 8);
  out.fragment = out.more_fragments || out.fragment_offset != 0;
  const uint32_t payload = total - header;
  if (out.fragment) {
    out.fragment_id = read16(h + 4);
    out.fragment_bytes = static_cast<uint16_t>(payload);
    if (uint32_t{out.fragment_offset} + payload > 65535) {
      return Drop::OversizedFragment;
    }
    if (out.fragment_offset == 8 && out.proto == kTcp) {
      return Drop::OverlappingFragment;  // would rewrite the TCP flags of the first
    }
    if (out.fragment_offset != 0) {
      return std::nullopt;  // a later fragment: no L4 header here
    }
    out.first_fragment = true;
  }
  out.l4_offset = static_cast<uint16_t>(out.l3_offset + header);
  return parse_l4(h + header, payload, r, out.first_fragment, out);
}

template <bool kSegmented>
std::optional<Drop> parse_ipv6(const uint8_t* h, uint32_t avail, Readable<kSegmented> r,
                               ParsedPacket& out) {
  if (avail < 40) {
    return Drop::BadIpHeader;
  }
  if (!r.has(h, 40)) {
    return Drop::SplitHeaders;
  }
  if ((h[0] >> 4) != 6) {
    return Drop::BadIpHeader;
  }
  const uint32_t payload = read16(h + 4);
  if (payload == 0 || 40 + payload > avail) {
    return Drop::BadIpHeader;  // 0 would be a jumbogram (RFC 2675), never on these links
  }
  out.kind = L3Kind::Ipv6;
  out.ttl = h[7];
  std::memcpy(out.src, h + 8, 16);
  std::memcpy(out.dst, h + 24, 16);
  const uint32_t end = 40 + payload;
  uint32_t pos = 40;
  uint8_t next = h[6];
  for (int count = 0;; ++count) {
    const bool extension = next == kHopByHop || next == kRouting || next == kFragment ||
                           next == kDestinationOptions || next == kAuthentication;
    if (!extension) {
      break;
    }
    if (count == kMaxIpv6ExtensionHeaders || (next == kHopByHop && count != 0)) {
      return Drop::BadExtensionChain;  // too long, or Hop-by-Hop not first (RFC 8200 4.3)
    }
    if (pos + 8 > end) {
      // RFC 7112: a first fragment holds the whole chain; otherwise it runs past the packet.
      return out.first_fragment ? Drop::TinyFragment : Drop::BadExtensionChain;
    }
    if (!r.has(h + pos, 8)) {
      return Drop::SplitHeaders;
    }
    const uint8_t* x = h + pos;
    uint32_t length = 0;
    if (next == kFragment) {
      length = 8;
      const uint16_t offset = read16(x + 2) & 0xfff8;
      const bool more = (x[3] & 1) != 0;
      if (offset != 0 || more) {  // an atomic fragment (RFC 6946) is no fragment at all
        if (out.fragment) {
          return Drop::BadExtensionChain;  // two fragment headers
        }
        out.fragment = true;
        out.more_fragments = more;
        out.fragment_offset = offset;
        out.fragment_id = read32(x + 4);
        out.fragment_bytes = static_cast<uint16_t>(end - pos - 8);
        if (uint32_t{offset} + (end - pos - 8) > 65535) {
          return Drop::OversizedFragment;
        }
        if (offset != 0) {
          out.proto = x[0];
          return std::nullopt;  // a later fragment: no L4 header here
        }
        out.first_fragment = true;
      }
    } else if (next == kAuthentication) {
      length = (uint32_t{x[1]} + 2) * 4;
    } else {
      length = (uint32_t{x[1]} + 1) * 8;
    }
    if (pos + length > end) {
      return out.first_fragment ? Drop::TinyFragment : Drop::BadExtensionChain;
    }
    next = x[0];
    pos += length;
  }
  out.proto = next;
  out.l4_offset = static_cast<uint16_t>(out.l3_offset + pos);
  return parse_l4(h + pos, end - pos, r, out.first_fragment, out);
}

// `len` bytes at `data` are readable; the frame has `frame_len` (more when it continues in
// further segments).
template <bool kSegmented>
std::optional<Drop> parse_frame(const uint8_t* data, uint32_t len, uint32_t frame_len,
                                ParsedPacket& out) {
  reset(out);
  if (frame_len < 14) {
    return Drop::TruncatedL2;
  }
  if (len < 18 && len < frame_len) {
    return Drop::SplitHeaders;  // the Ethernet header (and a tag) must lie in one segment
  }
  const Readable<kSegmented> r{data + len};
  uint32_t pos = 12;
  uint16_t ethertype = read16(data + pos);
  if (ethertype == kEtherVlan) {
    if (frame_len < 18) {
      return Drop::TruncatedL2;
    }
    out.vlan = read16(data + 14) & 0x0fff;
    pos += 4;
    ethertype = read16(data + pos);
  }
  pos += 2;
  if (ethertype == kEtherVlan || ethertype == kEtherQinQ) {
    return Drop::UnsupportedL2;  // stacked tags
  }
  out.l3_offset = static_cast<uint16_t>(pos);
  switch (ethertype) {
    case kEtherIpv4:
      return parse_ipv4(data + pos, frame_len - pos, r, out);
    case kEtherIpv6:
      return parse_ipv6(data + pos, frame_len - pos, r, out);
    case kEtherArp:
      if (frame_len - pos < 28) {
        return Drop::TruncatedL2;
      }
      if (!r.has(data + pos, 28)) {
        return Drop::SplitHeaders;
      }
      out.kind = L3Kind::Arp;
      return std::nullopt;
    default:
      return Drop::UnsupportedL2;
  }
}

}  // namespace

std::optional<Drop> parse_packet(const uint8_t* data, uint32_t len, ParsedPacket& out) noexcept {
  return parse_frame<false>(data, len, len, out);
}

std::optional<Drop> parse_packet(const uint8_t* data, uint32_t len, uint32_t frame_len,
                                 ParsedPacket& out) noexcept {
  if (frame_len <= len) {
    return parse_frame<false>(data, len, len, out);
  }
  return parse_frame<true>(data, len, frame_len, out);
}

}  // namespace palisade::dataplane
