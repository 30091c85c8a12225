#include "dataplane/hot/time_exceeded.h"

#include <gtest/gtest.h>

#include <vector>

#include "control/verify/packet_craft.h"

namespace palisade::dataplane {
namespace {

using namespace palisade::control;  // packet crafting and ring ports (control/verify)

using policy::IpAddr;

constexpr Mac kGatewayMac{0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
constexpr uint8_t kGatewayV4[4] = {169, 254, 1, 1};
constexpr uint8_t kGatewayV6[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

IpAddr ip(const char* text) { return *IpAddr::parse(text); }

// A pod's packet to the gateway's MAC with TTL 1.
FrameSpec last_hop(const char* src, const char* dst, uint8_t proto = policy::ipproto::kTcp) {
  FrameSpec s;
  s.src_mac = {0x02, 0, 0, 0, 0, 0x01};
  s.dst_mac = kGatewayMac;
  s.src = ip(src);
  s.dst = ip(dst);
  s.proto = proto;
  s.sport = 40000;
  s.dport = 443;
  s.ttl = 1;
  return s;
}

// The frame turned into its error in a buffer of `capacity` bytes; empty when declined (and
// then the frame must be untouched).
Frame answer(const Frame& frame, size_t capacity = 2048) {
  std::vector<uint8_t> buffer(capacity, 0x77);
  std::copy(frame.begin(), frame.end(), buffer.begin());
  ParsedPacket p;
  EXPECT_EQ(parse_packet(buffer.data(), static_cast<uint32_t>(frame.size()), p), std::nullopt);
  const uint32_t n = make_time_exceeded(buffer.data(), static_cast<uint32_t>(frame.size()),
                                        static_cast<uint32_t>(capacity), p, kGatewayMac.data(),
                                        kGatewayV4, kGatewayV6);
  if (n == 0) {
    EXPECT_TRUE(std::equal(frame.begin(), frame.end(), buffer.begin())) << "declined but changed";
    return {};
  }
  return Frame(buffer.begin(), buffer.begin() + n);
}

TEST(TimeExceeded, Ipv4QuotesTheHeaderAndEightBytesFromTheGateway) {
  FrameSpec s = last_hop("10.0.0.1", "192.0.2.10");
  s.payload = 100;
  EXPECT_EQ(answer(craft_frame(s)), craft_icmp_error(s, ip("169.254.1.1"), 11, 0));
  s.ipv4_options = {0x94, 0x04, 0, 0};  // Router Alert: the quote holds the whole header
  const Frame error = answer(craft_frame(s));
  EXPECT_EQ(error, craft_icmp_error(s, ip("169.254.1.1"), 11, 0));
  EXPECT_EQ(error.size(), 14u + 20 + 8 + 24 + 8);
}

TEST(TimeExceeded, Ipv6QuotesAsMuchAsFitsInTheMinimumMtu) {
  FrameSpec small = last_hop("fd00::1", "2001:db8::10", policy::ipproto::kUdp);
  EXPECT_EQ(answer(craft_frame(small)), craft_icmp_error(small, ip("fe80::1"), 3, 0));
  FrameSpec big = small;
  big.payload = 1800;
  const Frame error = answer(craft_frame(big));
  EXPECT_EQ(error, craft_icmp_error(big, ip("fe80::1"), 3, 0));
  EXPECT_EQ(error.size(), 14u + 1280);
}

TEST(TimeExceeded, TheErrorParsesAsAnErrorAboutThePacket) {
  const FrameSpec s = last_hop("10.0.0.1", "192.0.2.10");
  const Frame error = answer(craft_frame(s));
  ParsedPacket p;
  ASSERT_EQ(parse_packet(error.data(), static_cast<uint32_t>(error.size()), p), std::nullopt);
  EXPECT_TRUE(p.icmp_error);
  EXPECT_EQ(p.sport, 11);  // type
  EXPECT_EQ(p.inner_proto, policy::ipproto::kTcp);
  EXPECT_EQ(p.inner_sport, 40000);
  EXPECT_EQ(p.inner_dport, 443);
  EXPECT_EQ(std::vector<uint8_t>(p.dst, p.dst + 4), (std::vector<uint8_t>{10, 0, 0, 1}));
  EXPECT_EQ(std::vector<uint8_t>(p.src, p.src + 4), (std::vector<uint8_t>{169, 254, 1, 1}));
}

TEST(TimeExceeded, NoErrorAboutAnErrorALaterFragmentATagOrWithoutRoom) {
  // An ICMP error whose TTL runs out (RFC 1812 4.3.2.7: never an error about an error).
  FrameSpec about = last_hop("192.0.2.10", "10.0.0.1");
  FrameSpec error_spec = last_hop("10.0.0.1", "192.0.2.10");
  Frame error = craft_icmp_error(about, ip("10.0.0.1"), 3, 3);
  error[14 + 8] = 1;  // TTL 1
  error[14 + 10] = error[14 + 11] = 0;
  uint32_t sum = 0;
  for (size_t i = 14; i < 34; i += 2) {
    sum += (error[i] << 8) | error[i + 1];
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  error[14 + 10] = static_cast<uint8_t>(~sum >> 8);
  error[14 + 11] = static_cast<uint8_t>(~sum);
  EXPECT_TRUE(answer(error).empty());
  // A later fragment: no ports, and the first fragment's error covers the datagram.
  FrameSpec frag = error_spec;
  frag.payload = 64;
  const std::vector<FragmentPiece> split = {{0, 24, std::nullopt}, {24, 60, std::nullopt}};
  const std::vector<Frame> pieces = craft_ipv4_fragments(frag, split);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_FALSE(answer(pieces[0]).empty());
  EXPECT_TRUE(answer(pieces[1]).empty());
  // Tagged, or no room for the error.
  FrameSpec tagged = error_spec;
  tagged.vlan = 7;
  EXPECT_TRUE(answer(craft_frame(tagged)).empty());
  const Frame plain = craft_frame(error_spec);
  EXPECT_TRUE(answer(plain, 14 + 20 + 8 + 20 + 8 - 1).empty());
  EXPECT_FALSE(answer(plain, 14 + 20 + 8 + 20 + 8).empty());
}

TEST(TimeExceededBudget, ABurstThenTheRate) {
  const uint64_t hz = 1'000'000'000;  // a tick a nanosecond
  TimeExceededBudget budget(hz);
  uint64_t now = 5 * hz;
  for (uint32_t i = 0; i < kTimeExceededBurst; ++i) {
    EXPECT_TRUE(budget.take(now)) << i;
  }
  EXPECT_FALSE(budget.take(now));
  now += hz / kTimeExceededPerSecond - 1;
  EXPECT_FALSE(budget.take(now));
  now += 1;
  EXPECT_TRUE(budget.take(now));
  EXPECT_FALSE(budget.take(now));
  // An idle second refills the burst, not more.
  now += hz;
  for (uint32_t i = 0; i < kTimeExceededBurst; ++i) {
    EXPECT_TRUE(budget.take(now)) << i;
  }
  EXPECT_FALSE(budget.take(now));
}

}  // namespace
}  // namespace palisade::dataplane
