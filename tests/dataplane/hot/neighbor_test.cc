#include "dataplane/hot/neighbor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace palisade::dataplane {
namespace {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;
using Ip6 = std::array<uint8_t, 16>;

constexpr Mac kGatewayMac = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
constexpr Mac kPodMac = {0x02, 0x00, 0x0a, 0x01, 0x00, 0x07};
constexpr Ip6 kGatewayIp = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr Ip6 kPodIp = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0x01, 0, 7};
constexpr Ip6 kPodLinkLocal = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
constexpr Ip6 kUnspecified = {};

void put16(Bytes& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}
void put(Bytes& b, const uint8_t* p, size_t n) { b.insert(b.end(), p, p + n); }
uint16_t get16(const Bytes& b, size_t at) { return uint16_t((b[at] << 8) | b[at + 1]); }
Bytes slice(const Bytes& b, size_t at, size_t n) {
  return Bytes(b.begin() + at, b.begin() + at + n);
}
Bytes bytes(const uint8_t* p, size_t n) { return Bytes(p, p + n); }

// ---- ARP ----------------------------------------------------------------------------------

// An Ethernet/IPv4 ARP frame: opcode, sender (MAC, IP), target IP; target MAC zero.
Bytes arp(uint16_t opcode, std::array<uint8_t, 4> sender_ip, std::array<uint8_t, 4> target_ip,
          Mac sender_mac = kPodMac) {
  Bytes b(6, 0xff);  // broadcast
  put(b, sender_mac.data(), 6);
  put16(b, 0x0806);
  put16(b, 1);
  put16(b, 0x0800);
  b.push_back(6);
  b.push_back(4);
  put16(b, opcode);
  put(b, sender_mac.data(), 6);
  put(b, sender_ip.data(), 4);
  b.resize(b.size() + 6, 0);
  put(b, target_ip.data(), 4);
  return b;
}
bool proxy_arp(Bytes& b) { return answer_arp(b.data(), uint32_t(b.size()), kGatewayMac.data()); }

TEST(ProxyArp, RequestForTheGatewayIsAnsweredWithTheGatewayMac) {
  Bytes b = arp(1, {10, 1, 0, 7}, {169, 254, 1, 1});
  ASSERT_TRUE(proxy_arp(b));
  ASSERT_EQ(b.size(), 14u + 28u);
  EXPECT_EQ(slice(b, 0, 6), bytes(kPodMac.data(), 6));      // to the requester
  EXPECT_EQ(slice(b, 6, 6), bytes(kGatewayMac.data(), 6));  // from the gateway
  EXPECT_EQ(get16(b, 12), 0x0806);
  EXPECT_EQ(get16(b, 14), 1);       // htype Ethernet
  EXPECT_EQ(get16(b, 16), 0x0800);  // ptype IPv4
  EXPECT_EQ(b[18], 6);
  EXPECT_EQ(b[19], 4);
  EXPECT_EQ(get16(b, 20), 2);                                // reply
  EXPECT_EQ(slice(b, 22, 6), bytes(kGatewayMac.data(), 6));  // sender: the answer
  EXPECT_EQ(slice(b, 28, 4), (Bytes{169, 254, 1, 1}));       // for the address asked
  EXPECT_EQ(slice(b, 32, 6), bytes(kPodMac.data(), 6));      // target: the requester
  EXPECT_EQ(slice(b, 38, 4), (Bytes{10, 1, 0, 7}));
}

TEST(ProxyArp, EveryOtherAddressIsAnsweredToo) {
  // Calico's proxy ARP answers every address, so a pod that thinks a peer is on-link still
  // sends to the node.
  Bytes b = arp(1, {10, 1, 0, 7}, {10, 1, 0, 8});
  ASSERT_TRUE(proxy_arp(b));
  EXPECT_EQ(slice(b, 22, 6), bytes(kGatewayMac.data(), 6));
  EXPECT_EQ(slice(b, 28, 4), (Bytes{10, 1, 0, 8}));
}

TEST(ProxyArp, PaddedFrameKeepsItsPadding) {
  Bytes b = arp(1, {10, 1, 0, 7}, {169, 254, 1, 1});
  b.resize(60, 0x5a);
  ASSERT_TRUE(proxy_arp(b));
  EXPECT_EQ(get16(b, 20), 2);
  EXPECT_EQ(slice(b, 42, 18), Bytes(18, 0x5a));
}

TEST(ProxyArp, ProbesAndGratuitousArpAreNotAnswered) {
  const std::vector<Bytes> cases = {
      arp(1, {0, 0, 0, 0}, {10, 1, 0, 7}),   // RFC 5227 probe
      arp(1, {10, 1, 0, 7}, {10, 1, 0, 7}),  // gratuitous announcement
  };
  for (Bytes b : cases) {
    const Bytes before = b;
    EXPECT_FALSE(proxy_arp(b));
    EXPECT_EQ(b, before);  // untouched
  }
}

TEST(ProxyArp, OnlyEthernetIpv4RequestsAreAnswered) {
  Bytes reply = arp(2, {10, 1, 0, 7}, {169, 254, 1, 1});
  EXPECT_FALSE(proxy_arp(reply));
  Bytes htype = arp(1, {10, 1, 0, 7}, {169, 254, 1, 1});
  htype[15] = 6;  // IEEE 802
  EXPECT_FALSE(proxy_arp(htype));
  Bytes ptype = arp(1, {10, 1, 0, 7}, {169, 254, 1, 1});
  ptype[16] = 0x86;
  ptype[17] = 0xdd;
  EXPECT_FALSE(proxy_arp(ptype));
  Bytes plen = arp(1, {10, 1, 0, 7}, {169, 254, 1, 1});
  plen[19] = 16;
  EXPECT_FALSE(proxy_arp(plen));
  Bytes short_frame = arp(1, {10, 1, 0, 7}, {169, 254, 1, 1});
  short_frame.pop_back();
  EXPECT_FALSE(proxy_arp(short_frame));
  Bytes not_arp = arp(1, {10, 1, 0, 7}, {169, 254, 1, 1});
  not_arp[13] = 0x00;  // 0x0800
  EXPECT_FALSE(proxy_arp(not_arp));
  Bytes tagged = arp(1, {10, 1, 0, 7}, {169, 254, 1, 1});
  tagged.insert(tagged.begin() + 12, {0x81, 0x00, 0x00, 0x2a});
  EXPECT_FALSE(proxy_arp(tagged));
}

TEST(ProxyArp, AddressesNoPodReachesThroughAGatewayAreNotAnswered) {
  for (std::array<uint8_t, 4> target : {std::array<uint8_t, 4>{0, 0, 0, 0},
                                        {127, 0, 0, 1},
                                        {224, 0, 0, 251},
                                        {255, 255, 255, 255}}) {
    Bytes b = arp(1, {10, 1, 0, 7}, target);
    EXPECT_FALSE(proxy_arp(b)) << int(target[0]);
  }
  Bytes group_sender = arp(1, {10, 1, 0, 7}, {169, 254, 1, 1}, {0x01, 0, 0x5e, 0, 0, 1});
  EXPECT_FALSE(proxy_arp(group_sender));
}

// ---- NDP ----------------------------------------------------------------------------------

// The ICMPv6 checksum recomputed from scratch: pseudo-header, then the message; 0xffff when
// the message's own checksum is right.
uint16_t icmpv6_sum(const Bytes& f) {
  const size_t icmp = 14 + 40;
  const size_t n = get16(f, 18);
  Bytes pseudo = slice(f, 22, 32);
  put16(pseudo, 0);
  put16(pseudo, uint16_t(n));
  pseudo.insert(pseudo.end(), {0, 0, 0, 58});
  Bytes all = pseudo;
  all.insert(all.end(), f.begin() + icmp, f.begin() + icmp + n);
  if (all.size() % 2) all.push_back(0);
  uint32_t sum = 0;
  for (size_t i = 0; i < all.size(); i += 2) sum += get16(all, i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}
void fix_checksum(Bytes& f) {
  f[54 + 2] = f[54 + 3] = 0;
  const uint16_t c = uint16_t(~icmpv6_sum(f));
  f[54 + 2] = uint8_t(c >> 8);
  f[54 + 3] = uint8_t(c);
}
Ip6 solicited_node(const Ip6& target) {
  Ip6 g = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
  std::memcpy(g.data() + 13, target.data() + 13, 3);
  return g;
}
// A Neighbor Solicitation with a correct checksum; `options` follow the target.
Bytes ns(const Ip6& src, const Ip6& dst, const Ip6& target, Bytes options, uint8_t hop_limit = 255,
         Mac src_mac = kPodMac) {
  Bytes f = {0x33, 0x33, dst[12], dst[13], dst[14], dst[15]};
  put(f, src_mac.data(), 6);
  put16(f, 0x86DD);
  f.insert(f.end(), {0x60, 0, 0, 0});
  put16(f, uint16_t(24 + options.size()));
  f.push_back(58);
  f.push_back(hop_limit);
  put(f, src.data(), 16);
  put(f, dst.data(), 16);
  f.insert(f.end(), {135, 0, 0, 0, 0, 0, 0, 0});
  put(f, target.data(), 16);
  f.insert(f.end(), options.begin(), options.end());
  fix_checksum(f);
  return f;
}
Bytes slla(Mac mac = kPodMac) {
  Bytes o = {1, 1};
  put(o, mac.data(), 6);
  return o;
}
// The solicitation a pod sends to resolve its gateway.
Bytes resolve_gateway() {
  return ns(kPodLinkLocal, solicited_node(kGatewayIp), kGatewayIp, slla());
}
// The first `len` bytes of f are the frame; the buffer grows to `capacity`.
uint32_t answer_sized(Bytes& f, size_t len, size_t capacity) {
  f.resize(std::max(len, capacity), 0);
  return answer_neighbor_solicitation(f.data(), uint32_t(len), uint32_t(capacity),
                                      kGatewayMac.data(), kGatewayIp.data());
}
// As a worker calls it: the frame in an mbuf with room to spare.
uint32_t answer(Bytes& f) { return answer_sized(f, f.size(), std::max<size_t>(f.size(), 128)); }

// Every field of an advertisement for `target`, sent to (mac, ip), flags as given.
void expect_advertisement(const Bytes& f, uint32_t n, const Mac& to_mac, const Ip6& to_ip,
                          const Ip6& target, uint8_t flags) {
  ASSERT_EQ(n, 86u);
  ASSERT_EQ(n, kNeighborAdvertisementLen);
  EXPECT_EQ(slice(f, 0, 6), bytes(to_mac.data(), 6));
  EXPECT_EQ(slice(f, 6, 6), bytes(kGatewayMac.data(), 6));
  EXPECT_EQ(get16(f, 12), 0x86DD);
  EXPECT_EQ(f[14], 0x60);  // version 6, traffic class and flow label 0
  EXPECT_EQ(f[15], 0);
  EXPECT_EQ(get16(f, 16), 0);
  EXPECT_EQ(get16(f, 18), 32);  // payload: NA 24 + option 8
  EXPECT_EQ(f[20], 58);
  EXPECT_EQ(f[21], 255);                                  // hop limit
  EXPECT_EQ(slice(f, 22, 16), bytes(target.data(), 16));  // from the address asked
  EXPECT_EQ(slice(f, 38, 16), bytes(to_ip.data(), 16));
  EXPECT_EQ(f[54], 136);  // Neighbor Advertisement
  EXPECT_EQ(f[55], 0);
  EXPECT_EQ(f[58], flags);
  EXPECT_EQ(slice(f, 59, 3), Bytes(3, 0));
  EXPECT_EQ(slice(f, 62, 16), bytes(target.data(), 16));
  EXPECT_EQ(f[78], 2);  // Target Link-Layer Address
  EXPECT_EQ(f[79], 1);
  EXPECT_EQ(slice(f, 80, 6), bytes(kGatewayMac.data(), 6));
  EXPECT_EQ(icmpv6_sum(Bytes(f.begin(), f.begin() + n)), 0xffff);  // checksum verifies
}

constexpr uint8_t kRouterSolicitedOverride = 0xe0, kRouterOverride = 0xa0;

TEST(ProxyNdp, GatewayResolutionIsAnsweredFieldByField) {
  Bytes f = resolve_gateway();
  ASSERT_EQ(f.size(), 86u);
  const uint32_t n = answer(f);
  expect_advertisement(f, n, kPodMac, kPodLinkLocal, kGatewayIp, kRouterSolicitedOverride);
}

TEST(ProxyNdp, AnyTargetIsAnsweredAndUnicastSolicitationsToo) {
  const Ip6 peer = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0x01, 0, 8};
  Bytes multicast = ns(kPodIp, solicited_node(peer), peer, slla());
  expect_advertisement(multicast, answer(multicast), kPodMac, kPodIp, peer,
                       kRouterSolicitedOverride);
  // Neighbor Unreachability Detection: unicast to the target, no option needed.
  Bytes nud = ns(kPodLinkLocal, kGatewayIp, kGatewayIp, {});
  ASSERT_EQ(nud.size(), 78u);
  expect_advertisement(nud, answer(nud), kPodMac, kPodLinkLocal, kGatewayIp,
                       kRouterSolicitedOverride);
}

TEST(ProxyNdp, AdvertisementLongerThanTheSolicitationNeedsTheCapacity) {
  Bytes f = ns(kPodLinkLocal, kGatewayIp, kGatewayIp, {});
  const Bytes before = f;
  EXPECT_EQ(answer_sized(f, 78, 85), 0u);
  EXPECT_EQ(Bytes(f.begin(), f.begin() + 78), before);  // untouched
  Bytes g = ns(kPodLinkLocal, kGatewayIp, kGatewayIp, {});
  expect_advertisement(g, answer_sized(g, 78, 86), kPodMac, kPodLinkLocal, kGatewayIp,
                       kRouterSolicitedOverride);
}

TEST(ProxyNdp, LongerSolicitationIsAnsweredWithTheShorterAdvertisement) {
  Bytes nonce = {14, 1, 1, 2, 3, 4, 5, 6};  // RFC 3971 Nonce option: unknown, skipped
  Bytes options = slla();
  options.insert(options.end(), nonce.begin(), nonce.end());
  Bytes f = ns(kPodLinkLocal, solicited_node(kGatewayIp), kGatewayIp, options);
  f.resize(f.size() + 10, 0);  // trailing bytes past the IPv6 payload are ignored
  expect_advertisement(f, answer(f), kPodMac, kPodLinkLocal, kGatewayIp, kRouterSolicitedOverride);
}

TEST(ProxyNdp, InvalidSolicitationsAreNotAnswered) {
  // RFC 4861 7.1.1, one check per case; each frame is otherwise resolve_gateway().
  struct Case {
    const char* name;
    Bytes frame;
  };
  std::vector<Case> cases;
  cases.push_back({"hop limit 254: from off the link",
                   ns(kPodLinkLocal, solicited_node(kGatewayIp), kGatewayIp, slla(), 254)});
  Bytes code = resolve_gateway();
  code[55] = 1;
  fix_checksum(code);
  cases.push_back({"code 1", code});
  Bytes sum = resolve_gateway();
  sum[57] ^= 1;
  cases.push_back({"bad checksum", sum});
  const Ip6 group = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  cases.push_back({"multicast target", ns(kPodLinkLocal, solicited_node(group), group, slla())});
  Bytes zero_option = {1, 0, 0, 0, 0, 0, 0, 0};
  cases.push_back({"option of length 0",
                   ns(kPodLinkLocal, solicited_node(kGatewayIp), kGatewayIp, zero_option)});
  Bytes past = slla();
  past[1] = 2;  // 16 bytes, 8 present
  cases.push_back(
      {"option past the message", ns(kPodLinkLocal, solicited_node(kGatewayIp), kGatewayIp, past)});
  Bytes short_icmp = resolve_gateway();
  short_icmp[19] = 20;  // ICMPv6 length 20 < 24
  cases.push_back({"ICMPv6 length below 24", short_icmp});
  Bytes long_payload = resolve_gateway();
  long_payload[19] = 40;  // payload length past the frame
  cases.push_back({"payload past the frame", long_payload});
  Bytes version = resolve_gateway();
  version[14] = 0x40;
  cases.push_back({"IP version 4", version});
  Bytes ext = resolve_gateway();
  ext[20] = 0;  // next header Hop-by-Hop
  cases.push_back({"extension header", ext});
  cases.push_back({"multicast source",
                   ns(solicited_node(kPodIp), solicited_node(kGatewayIp), kGatewayIp, slla())});
  cases.push_back({"own address", ns(kPodIp, solicited_node(kPodIp), kPodIp, slla())});
  cases.push_back({"group Ethernet source", ns(kPodLinkLocal, solicited_node(kGatewayIp),
                                               kGatewayIp, slla(), 255, {1, 0, 0, 0, 0, 1})});
  Bytes advert = resolve_gateway();
  advert[54] = 136;
  fix_checksum(advert);
  cases.push_back({"an advertisement", advert});
  Bytes rs = {133, 0, 0, 0, 0, 0, 0, 0};
  Bytes rs_frame = resolve_gateway();
  rs_frame.resize(54);
  rs_frame.insert(rs_frame.end(), rs.begin(), rs.end());
  rs_frame.resize(54 + 24, 0);
  fix_checksum(rs_frame);
  cases.push_back({"a Router Solicitation: pods are configured statically", rs_frame});
  Bytes truncated = resolve_gateway();
  truncated.resize(14 + 40 + 23);
  cases.push_back({"shorter than a solicitation", truncated});
  Bytes tagged = resolve_gateway();
  tagged.insert(tagged.begin() + 12, {0x81, 0x00, 0x00, 0x2a});
  cases.push_back({"tagged", tagged});

  for (Case& c : cases) {
    const Bytes before = c.frame;
    EXPECT_EQ(answer(c.frame), 0u) << c.name;
    EXPECT_EQ(Bytes(c.frame.begin(), c.frame.begin() + before.size()), before)
        << c.name << ": a declined frame is left as it was";
  }
}

TEST(ProxyNdp, DuplicateAddressDetectionIsAnsweredOnlyForTheGatewayAddress) {
  // The pod checking its own addresses must hear nothing, or it gives them up (RFC 4862).
  Bytes own = ns(kUnspecified, solicited_node(kPodIp), kPodIp, {});
  EXPECT_EQ(answer(own), 0u);
  Bytes own_ll = ns(kUnspecified, solicited_node(kPodLinkLocal), kPodLinkLocal, {});
  EXPECT_EQ(answer(own_ll), 0u);
  // A pod trying to take the gateway's address is told it is in use: to all-nodes, with
  // Solicited clear (RFC 4861 7.2.4).
  Bytes gw = ns(kUnspecified, solicited_node(kGatewayIp), kGatewayIp, {});
  const Mac all_nodes_mac = {0x33, 0x33, 0, 0, 0, 1};
  const Ip6 all_nodes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  expect_advertisement(gw, answer(gw), all_nodes_mac, all_nodes, kGatewayIp, kRouterOverride);
  // Malformed DAD (RFC 4861 7.1.1): with a source link-layer option, or not to the
  // target's solicited-node group.
  Bytes with_slla = ns(kUnspecified, solicited_node(kGatewayIp), kGatewayIp, slla());
  EXPECT_EQ(answer(with_slla), 0u);
  Bytes unicast = ns(kUnspecified, kGatewayIp, kGatewayIp, {});
  EXPECT_EQ(answer(unicast), 0u);
}

}  // namespace
}  // namespace palisade::dataplane
