#include "dataplane/hot/parse.h"

#include <cstring>

namespace palisade::dataplane {

namespace {

constexpr uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86DD, kEtherArp = 0x0806,
                   kEtherVlan = 0x8100, kEtherQinQ = 0x88A8;
constexpr uint8_t kTcp = 6, kUdp = 17, kSctp = 132, kIcmp = 1, kIcmpV6 = 58, kUdpLite = 136;
constexpr uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kAuthentication = 51,
                  kDestinationOptions = 60;
constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04;

inline uint16_t read16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t read32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// RFC 1071: the one's complement sum of the header, checksum included, is all ones.
bool ipv4_checksum_ok(const uint8_t* h, uint32_t len) {
  uint32_t sum = 0;
  for (uint32_t i = 0; i + 1 < len; i += 2) {
    sum += read16(h + i);
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return sum == 0xffff;
}

// The L4 header at l4 with `avail` bytes of IP payload. In a first fragment, a header that
// does not fit is a tiny fragment: its ports cannot be judged, so nothing after it can be.
std::optional<Drop> parse_l4(const uint8_t* l4, uint32_t avail, bool first_fragment,
                             ParsedPacket& out) {
  const Drop short_header = first_fragment ? Drop::TinyFragment : Drop::TruncatedL4;
  switch (out.proto) {
    case kTcp: {
      if (avail < 20) {
        return short_header;
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
      out.sport = read16(l4);
      out.dport = read16(l4 + 2);
      return std::nullopt;
    }
    case kUdp:
    case kUdpLite: {
      if (avail < 8) {
        return short_header;
      }
      const uint16_t length = read16(l4 + 4);
      // UDP's length covers the datagram: in a fragment it exceeds this piece. UDP-Lite's
      // field is a checksum coverage, 0 meaning all.
      if (out.proto == kUdp && !out.fragment && (length < 8 || length > avail)) {
        return Drop::TruncatedL4;
      }
      out.sport = read16(l4);
      out.dport = read16(l4 + 2);
      return std::nullopt;
    }
    case kSctp:
      if (avail < 12) {
        return short_header;
      }
      out.sport = read16(l4);
      out.dport = read16(l4 + 2);
      return std::nullopt;
    case kIcmp:
    case kIcmpV6:
      if (avail < 8) {
        return short_header;
      }
      out.sport = l4[0];  // type
      out.dport = l4[1];  // code
      return std::nullopt;
    default:
      return std::nullopt;  // other protocols (GRE, ESP, ...) are judged without ports
  }
}

std::optional<Drop> parse_ipv4(const uint8_t* h, uint32_t avail, ParsedPacket& out) {
  if (avail < 20 || (h[0] >> 4) != 4) {
    return Drop::BadIpHeader;
  }
  const uint32_t header = static_cast<uint32_t>(h[0] & 0x0f) * 4;
  const uint32_t total = read16(h + 2);
  // Trailing bytes (Ethernet padding) may follow `total`; the header may not run past it.
  if (header < 20 || header > avail || total < header || total > avail) {
    return Drop::BadIpHeader;
  }
  if (!ipv4_checksum_ok(h, header)) {
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
  return parse_l4(h + header, payload, out.first_fragment, out);
}

std::optional<Drop> parse_ipv6(const uint8_t* h, uint32_t avail, ParsedPacket& out) {
  if (avail < 40 || (h[0] >> 4) != 6) {
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
  return parse_l4(h + pos, end - pos, out.first_fragment, out);
}

}  // namespace

std::optional<Drop> parse_packet(const uint8_t* data, uint32_t len, ParsedPacket& out) noexcept {
  out = ParsedPacket{};
  if (len < 14) {
    return Drop::TruncatedL2;
  }
  uint32_t pos = 12;
  uint16_t ethertype = read16(data + pos);
  if (ethertype == kEtherVlan) {
    if (len < 18) {
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
      return parse_ipv4(data + pos, len - pos, out);
    case kEtherIpv6:
      return parse_ipv6(data + pos, len - pos, out);
    case kEtherArp:
      if (len - pos < 28) {
        return Drop::TruncatedL2;
      }
      out.kind = L3Kind::Arp;
      return std::nullopt;
    default:
      return Drop::UnsupportedL2;
  }
}

}  // namespace palisade::dataplane
