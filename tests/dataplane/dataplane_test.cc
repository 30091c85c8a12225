// Integration tests of the packet path: real frames through one Dataplane (parse, guard,
// proxy ARP/NDP, conntrack, classify, route) on ring-backed ports, its one worker stepped from
// this thread. Each test sends one frame at a time and asserts exactly what came out of which
// port, byte for byte, and which drop counter went up by how much.
//
// Why ring ports rather than net_pcap: a net_pcap port's input is the rx_pcap file named when
// the port is created, and each poll takes a whole burst of it, so a test could neither
// publish a new policy generation between two frames nor tell which frame caused which output
// or drop. Ring ports take a frame when it is put on them, and after a fixed number of polls
// its outcome is complete: the run is deterministic and one frame's outcome can be asserted at
// a time. The hostile frames are also written to a pcap file (HostilePcap) so that the same
// input can be replayed through a net_pcap port (rx_pcap=) by hand.
//
// The cluster (node-a), bound to pod ports in this order behind one uplink:
//   prod/web 10.0.0.1 fd00::1  no egress policy; ingress TCP 80 from anywhere
//   prod/db  10.0.0.2 fd00::2  ingress TCP 5432 from app=web only; egress to pods of prod only
//   prod/tun 10.0.0.3 fd00::3  ingress from app=web, every protocol
//   prod/ghost                 bound to a port, absent from the snapshot
// Outside the node: 192.0.2.10 and 2001:db8::10, behind the uplink.
#include "dataplane/dataplane.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/verify/packet_craft.h"
#include "control/verify/pcap_file.h"
#include "control/verify/ring_ports.h"
#include "dataplane/eal.h"
#include "policy/compiler.h"
#include "policy/decode.h"
#include "policy/snapshot.h"
#include "policy/store.h"

namespace palisade::dataplane {
namespace {

using namespace palisade::control;  // packet crafting and ring ports (control/verify)

using policy::IpAddr;
namespace ipproto = policy::ipproto;

constexpr Mac kGatewayMac{0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
constexpr Mac kNextHopMac{0x02, 0xff, 0, 0, 0, 0x01};  // the router behind the uplink
constexpr Mac kWebMac{0x02, 0, 0, 0, 0, 0x01};
constexpr Mac kDbMac{0x02, 0, 0, 0, 0, 0x02};
constexpr Mac kTunMac{0x02, 0, 0, 0, 0, 0x03};
constexpr Mac kGhostMac{0x02, 0, 0, 0, 0, 0x04};

// The ports, in the order the rig creates them.
enum PortIndex : size_t { kUplink, kWeb, kDb, kTun, kGhost, kPorts };
constexpr std::array<const char*, kPorts> kPortName{"uplink", "web", "db", "tun", "ghost"};
constexpr std::array<Mac, kPorts> kPodMac{Mac{}, kWebMac, kDbMac, kTunMac, kGhostMac};

IpAddr ip(std::string_view text) {
  std::optional<IpAddr> a = IpAddr::parse(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(IpAddr{});
}

// ---- Manifests ------------------------------------------------------------------------------

std::string pod_yaml(const char* name, const char* v4, const char* v6) {
  return std::string("---\napiVersion: v1\nkind: Pod\n") + "metadata: {name: " + name +
         ", namespace: prod, labels: {app: " + name + "}}\n" +
         "spec: {nodeName: node-a, containers: [{name: c, image: busybox}]}\n" +
         "status: {podIP: " + v4 + ", podIPs: [{ip: " + v4 + "}, {ip: \"" + v6 + "\"}]}\n";
}

// The whole snapshot; db_port is the one TCP port db admits from web (5432 in the base
// generation; another value "cuts" web's connections to db:5432).
std::string manifests(uint16_t db_port = 5432) {
  std::string y =
      "apiVersion: v1\nkind: Namespace\n"
      "metadata: {name: prod, labels: {kubernetes.io/metadata.name: prod}}\n";
  y += pod_yaml("web", "10.0.0.1", "fd00::1");
  y += pod_yaml("db", "10.0.0.2", "fd00::2");
  y += pod_yaml("tun", "10.0.0.3", "fd00::3");
  y += R"(---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-ingress, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress: [{ports: [{protocol: TCP, port: 80}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-egress, namespace: prod}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: tun-ingress, namespace: prod}
spec:
  podSelector: {matchLabels: {app: tun}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-ingress, namespace: prod}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {app: web}}}]
      ports: [{protocol: TCP, port: )" +
       std::to_string(db_port) + "}]\n";
  return y;
}

// YAML text -> decode_stream -> ObjectStore -> build_snapshot, as control/ does.
std::unique_ptr<policy::Snapshot> snapshot_of(std::string_view yaml) {
  policy::ObjectStore store;
  for (policy::Decoded& d : policy::decode_stream(yaml, {"dataplane_test.yaml", true})) {
    const policy::ObjectStore::Report r = store.apply(std::move(d));
    EXPECT_FALSE(r.error) << r.to_string();
  }
  policy::SnapshotBuild build = policy::build_snapshot(store.objects());
  for (const policy::Error& e : build.errors) {
    ADD_FAILURE() << "snapshot: " << e.to_string();
  }
  return std::move(build.snapshot);
}

// ---- Frames ---------------------------------------------------------------------------------

// What a pod sends: from its MAC to the gateway's.
FrameSpec from_pod(const Mac& mac, std::string_view src, std::string_view dst, uint8_t proto,
                   uint16_t sport, uint16_t dport) {
  FrameSpec s;
  s.src_mac = mac;
  s.dst_mac = kGatewayMac;
  s.src = ip(src);
  s.dst = ip(dst);
  s.proto = proto;
  s.sport = sport;
  s.dport = dport;
  return s;
}

// What the peer answers (reply_of), sent from `mac` to `to_mac` with a fresh TTL.
FrameSpec answer(const FrameSpec& spec, const Mac& mac, const Mac& to_mac) {
  FrameSpec r = reply_of(spec);
  r.src_mac = mac;
  r.dst_mac = to_mac;
  r.ttl = 64;
  return r;
}

// `spec` as it leaves after routing: new MACs, TTL one less (built by craft_frame).
Frame routed_spec(FrameSpec spec, const Mac& src_mac, const Mac& dst_mac) {
  spec.src_mac = src_mac;
  spec.dst_mac = dst_mac;
  --spec.ttl;
  return craft_frame(spec);
}

// Recomputes the IPv4 header checksum of an untagged frame in full (RFC 1071).
void set_ipv4_header_checksum(Frame& f) {
  uint8_t* ip = f.data() + 14;
  ip[10] = ip[11] = 0;
  const auto sum = static_cast<uint16_t>(
      ~ones_complement_sum(std::span<const uint8_t>(ip, size_t(ip[0] & 0x0f) * 4)));
  ip[10] = static_cast<uint8_t>(sum >> 8);
  ip[11] = static_cast<uint8_t>(sum);
}

// Any untagged IP frame as it leaves after routing, computed here without l3_rewrite.h: new
// MACs, TTL or hop limit one less, the IPv4 header checksum recomputed in full.
Frame routed(Frame f, const Mac& src_mac, const Mac& dst_mac) {
  std::memcpy(f.data(), dst_mac.data(), 6);
  std::memcpy(f.data() + 6, src_mac.data(), 6);
  if (f[12] == 0x08 && f[13] == 0x00) {
    --f[14 + 8];
    set_ipv4_header_checksum(f);
  } else {
    --f[14 + 7];
  }
  return f;
}

// ---- The rig --------------------------------------------------------------------------------

struct Outcome {
  bool injected = false;
  std::array<std::vector<Frame>, kPorts> out;
  std::array<uint64_t, size_t(Drop::Count)> drops{};  // what each counter went up by
  uint64_t arp_replies = 0, nd_replies = 0, conntrack_hits = 0, rejudged = 0;

  std::string describe() const {
    std::string s;
    for (size_t p = 0; p < kPorts; ++p) {
      for (const Frame& f : out[p]) {
        s += std::string("\n  out of ") + kPortName[p] + ": " + describe_frame(f);
      }
    }
    for (size_t i = 0; i < drops.size(); ++i) {
      if (drops[i] != 0) {
        s += "\n  " + std::string(kDropName[i]) + " +" + std::to_string(drops[i]);
      }
    }
    return s.empty() ? "\n  nothing out, no drop counted" : s;
  }
};

// Nothing came out of any port, and exactly `times` drops were counted, all under `why`.
::testing::AssertionResult dropped_as(const Outcome& o, Drop why, uint64_t times = 1) {
  if (!o.injected) {
    return ::testing::AssertionFailure() << "the frame could not be injected";
  }
  bool ok = true;
  for (const std::vector<Frame>& frames : o.out) {
    ok = ok && frames.empty();
  }
  for (size_t i = 0; i < o.drops.size(); ++i) {
    ok = ok && o.drops[i] == (i == size_t(why) ? times : 0);
  }
  if (ok) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "expected nothing out and " << kDropName[size_t(why)]
                                       << " +" << times << "; got:" << o.describe();
}

// Exactly `expected` came out of port `at`, nothing came out anywhere else, nothing dropped.
::testing::AssertionResult forwarded_as(const Outcome& o, size_t at, const Frame& expected) {
  if (!o.injected) {
    return ::testing::AssertionFailure() << "the frame could not be injected";
  }
  bool ok = o.out[at].size() == 1 && o.out[at][0] == expected;
  for (size_t p = 0; p < kPorts; ++p) {
    ok = ok && (p == at || o.out[p].empty());
  }
  for (uint64_t d : o.drops) {
    ok = ok && d == 0;
  }
  if (ok) {
    return ::testing::AssertionSuccess();
  }
  auto failure = ::testing::AssertionFailure();
  failure << "expected out of " << kPortName[at] << " only: " << describe_frame(expected)
          << "; got:" << o.describe();
  if (o.out[at].size() == 1 && o.out[at][0] != expected) {
    const Frame& got = o.out[at][0];
    size_t i = 0;
    while (i < got.size() && i < expected.size() && got[i] == expected[i]) {
      ++i;
    }
    failure << "\n  bytes differ from offset " << i << " (lengths " << got.size() << ", "
            << expected.size() << ")";
  }
  return failure;
}

// One Dataplane with one stepped worker, an uplink and four pod ports. Dataplane::start names
// its mbuf pool after the process id and ~Dataplane does not free it, so a process can start
// one Dataplane in its lifetime: the shared rig lives until exit (never destroyed), and the
// test that needs another configuration runs in a child process.
class Rig {
 public:
  Rig(const std::string& prefix, bool rejudge_established) {
    if (auto eal = start_eal_for_tools("dataplane_test"); !eal) {
      error_ = eal.error().to_string();
      return;
    }
    DataplaneConfig config;
    for (size_t i = 0; i < kPorts; ++i) {
      auto port = create_ring_port(prefix + "-" + kPortName[i]);  // names: unique per process
      if (!port) {
        error_ = port.error().to_string();
        return;
      }
      ports_.push_back(*port);
      DataplaneConfig::Port p;
      p.name = port->name;
      p.device = port->device;
      p.pod = i != kUplink;
      p.next_hop = kNextHopMac;
      config.ports.push_back(p);
    }
    config.workers.push_back({0, {}});
    config.mbufs = 4095;
    config.conntrack_max_flows = 4096;
    config.rejudge_established = rejudge_established;
    config.launch_workers = false;
    auto dp = Dataplane::start(config);
    if (!dp) {
      error_ = dp.error().to_string();
      return;
    }
    dp_ = std::move(dp).value();
    for (size_t i = kWeb; i < kPorts; ++i) {
      bindings_.push_back({ports_[i].id, std::string("prod/") + kPortName[i], kPodMac[i]});
    }
  }

  // The rig of the process (rejudge_established = true). Its first use also sends a few
  // frames before anything is published, for the NotReady test, whatever order tests run in.
  static Rig& shared() {
    static Rig* rig = [] {
      auto* r = new Rig("dpt", true);
      if (r->ok()) {
        r->send_before_publish();
      }
      return r;
    }();
    return *rig;
  }

  bool ok() const { return dp_ != nullptr; }
  const std::string& error() const { return error_; }
  Dataplane& dp() { return *dp_; }
  Mac uplink_mac() const { return dp_->roles().ports[ports_[kUplink].id].mac; }
  const std::vector<std::pair<std::string, Outcome>>& before_publish() const {
    return before_publish_;
  }

  // Compiles `yaml` for node-a and puts it in force. False (with a test failure) on error.
  bool publish(std::string_view yaml) {
    std::unique_ptr<policy::Snapshot> snap = snapshot_of(yaml);
    policy::CompileOptions options;
    options.node = "node-a";
    policy::Result<policy::CompiledPolicy> compiled = policy::compile(*snap, options);
    if (!compiled) {
      ADD_FAILURE() << "compile: " << compiled.error().to_string();
      return false;
    }
    policy::Result<uint64_t> g = dp_->publish(std::move(compiled).value(), bindings_);
    if (!g) {
      ADD_FAILURE() << "publish: " << g.error().to_string();
      return false;
    }
    snapshots_.push_back(std::move(snap));
    step();
    dp_->housekeeping();  // frees the generation this one replaced
    return true;
  }

  // Puts `frame` on port `in`, steps the worker, takes what every port sent.
  // segment_bytes: as inject() (0: one mbuf when the frame fits, else a chain).
  Outcome send(size_t in, const Frame& frame, uint32_t segment_bytes = 0) {
    Outcome o;
    const DataplaneTotals before = dp_->totals();
    o.injected = inject(ports_[in], dp_->pool(), frame, segment_bytes);
    step();
    for (size_t p = 0; p < kPorts; ++p) {
      o.out[p] = collect(ports_[p]);
    }
    const DataplaneTotals after = dp_->totals();
    for (size_t i = 0; i < o.drops.size(); ++i) {
      o.drops[i] = after.sum.drops[i] - before.sum.drops[i];
    }
    o.arp_replies = after.sum[Counter::ArpReplies] - before.sum[Counter::ArpReplies];
    o.nd_replies = after.sum[Counter::NdReplies] - before.sum[Counter::NdReplies];
    o.conntrack_hits = after.sum[Counter::ConntrackHits] - before.sum[Counter::ConntrackHits];
    o.rejudged = after.sum[Counter::Rejudged] - before.sum[Counter::Rejudged];
    return o;
  }
  Outcome send(size_t in, const FrameSpec& spec) { return send(in, craft_frame(spec)); }

 private:
  void step() {
    for (int i = 0; i < 4; ++i) {  // one poll is enough (rx, process, tx); more changes nothing
      dp_->workers()[0]->poll();
    }
  }

  void send_before_publish() {
    const FrameSpec syn = from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, 40000, 5432);
    before_publish_.emplace_back("pod to pod TCP SYN", send(kWeb, syn));
    before_publish_.emplace_back(
        "ARP for the gateway",
        send(kWeb, craft_arp_request(kWebMac, ip("10.0.0.1"), ip("169.254.1.1"))));
    before_publish_.emplace_back(
        "NS for the gateway",
        send(kWeb, craft_neighbor_solicitation(kWebMac, ip("fd00::1"), ip("fe80::1"))));
    FrameSpec in = from_pod(kNextHopMac, "192.0.2.10", "10.0.0.1", ipproto::kTcp, 40000, 80);
    in.dst_mac = uplink_mac();
    before_publish_.emplace_back("uplink TCP SYN to web:80", send(kUplink, in));
  }

  std::string error_;
  std::vector<RingPort> ports_;
  std::unique_ptr<Dataplane> dp_;
  std::vector<PortBinding> bindings_;
  std::vector<std::unique_ptr<policy::Snapshot>> snapshots_;
  std::vector<std::pair<std::string, Outcome>> before_publish_;
};

// Each test starts from the base generation and an empty conntrack table. (The worker's
// fragment table cannot be emptied, and keeps a datagram 30 s: every fragmented datagram
// takes a fresh IP identification from next_id, so that tests may run in any order, and
// again with --gtest_repeat.)
class PacketPath : public ::testing::Test {
 protected:
  void SetUp() override {
    rig_ = &Rig::shared();
    ASSERT_TRUE(rig_->ok()) << rig_->error();
    ASSERT_TRUE(rig_->publish(manifests()));
    rig_->dp().flush_conntrack();
  }
  Outcome send(size_t in, const Frame& f, uint32_t segment_bytes = 0) {
    return rig_->send(in, f, segment_bytes);
  }
  Outcome send(size_t in, const FrameSpec& s) { return rig_->send(in, s); }
  Mac uplink_mac() const { return rig_->uplink_mac(); }
  // What comes in from the router behind the uplink.
  FrameSpec from_uplink(std::string_view src, std::string_view dst, uint8_t proto, uint16_t sport,
                        uint16_t dport) const {
    FrameSpec s = from_pod(kNextHopMac, src, dst, proto, sport, dport);
    s.dst_mac = uplink_mac();
    return s;
  }

  Rig* rig_ = nullptr;
};

// ---- 7. Not ready ---------------------------------------------------------------------------

TEST(NotReady, EverythingIsDroppedBeforeTheFirstPublish) {
  Rig& rig = Rig::shared();
  ASSERT_TRUE(rig.ok()) << rig.error();
  ASSERT_EQ(rig.before_publish().size(), 4u);
  for (const auto& [what, outcome] : rig.before_publish()) {
    EXPECT_TRUE(dropped_as(outcome, Drop::NotReady)) << what;
    EXPECT_EQ(outcome.arp_replies + outcome.nd_replies, 0u) << what;
  }
}

// ---- 1. Pod to pod on one node --------------------------------------------------------------

TEST_F(PacketPath, PodToPodAllowedLeavesOnlyByTheDestinationPortRouted) {
  const FrameSpec syn = from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, 40001, 5432);
  const Outcome o = send(kWeb, syn);
  // Source MAC the gateway's, destination db's, TTL 63, IPv4 and TCP checksums as crafted.
  EXPECT_TRUE(forwarded_as(o, kDb, routed_spec(syn, kGatewayMac, kDbMac)));
  ASSERT_EQ(o.out[kDb].size(), 1u);
  EXPECT_EQ(o.out[kDb][0][14 + 8], 63);
  EXPECT_EQ(rig_->dp().totals().conntrack_live, 1u);
}

// A packet that would leave with TTL 0 does not leave. From a pod, its mbuf goes back as the
// ICMP Time Exceeded error, from the gateway (the first hop of the pod's traceroute); from the
// uplink, or forged, nothing goes back.
TEST_F(PacketPath, TtlRunningOutAnswersThePodWithTimeExceeded) {
  FrameSpec last_hop = from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, 40006, 5432);
  last_hop.ttl = 1;
  const uint64_t sent = rig_->dp().totals().sum[Counter::TimeExceededSent];
  Outcome o = send(kWeb, last_hop);
  ASSERT_EQ(o.out[kWeb].size(), 1u) << o.describe();
  EXPECT_EQ(o.out[kWeb][0], craft_icmp_error(last_hop, ip("169.254.1.1"), 11, 0));
  EXPECT_EQ(o.drops[size_t(Drop::TtlExceeded)], 1u);
  EXPECT_EQ(rig_->dp().totals().sum[Counter::TimeExceededSent], sent + 1);
  EXPECT_EQ(rig_->dp().totals().conntrack_live, 0u);

  FrameSpec v6 = from_pod(kWebMac, "fd00::1", "fd00::2", ipproto::kUdp, 40007, 53);
  v6.ttl = 1;
  o = send(kWeb, v6);
  ASSERT_EQ(o.out[kWeb].size(), 1u) << o.describe();
  EXPECT_EQ(o.out[kWeb][0], craft_icmp_error(v6, ip("fe80::1"), 3, 0));

  FrameSpec in = from_uplink("192.0.2.10", "10.0.0.1", ipproto::kTcp, 40008, 80);
  in.ttl = 1;
  EXPECT_TRUE(dropped_as(send(kUplink, in), Drop::TtlExceeded));
  FrameSpec forged = last_hop;
  forged.src = ip("10.0.0.9");  // not web's address: no error to it
  EXPECT_TRUE(dropped_as(send(kWeb, forged), Drop::SpoofedSource));
  EXPECT_EQ(rig_->dp().totals().sum[Counter::TimeExceededSent], sent + 2);
}

// Frames larger than one mbuf (jumbo frames, vhost-user mergeable buffers) arrive as chains:
// judged by the headers in the first segment, checked against the whole frame's length, and
// forwarded whole; a chain whose headers continue into the second segment is dropped.
TEST_F(PacketPath, ChainedFramesAreJudgedWholeAndForwardedWhole) {
  FrameSpec big = from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, 40011, 5432);
  big.payload = 6000;
  const Frame frame = craft_frame(big);
  Outcome o = send(kWeb, frame, 1000);  // seven segments
  EXPECT_TRUE(forwarded_as(o, kDb, routed_spec(big, kGatewayMac, kDbMac))) << o.describe();

  FrameSpec denied = from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, 40012, 22);
  denied.payload = 6000;
  EXPECT_TRUE(dropped_as(send(kWeb, craft_frame(denied), 1000), Drop::PolicyDenied));

  // The TCP header split between the first two segments: nothing is judged from bytes that
  // are not read.
  FrameSpec split = from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, 40013, 5432);
  split.payload = 3000;
  EXPECT_TRUE(dropped_as(send(kWeb, craft_frame(split), 40), Drop::SplitHeaders));

  // A frame shorter than its IPv4 total length is as bad chained as in one buffer.
  Frame cut = frame;
  cut.resize(cut.size() - 100);
  EXPECT_TRUE(dropped_as(send(kWeb, cut, 1000), Drop::BadIpHeader));
}

TEST_F(PacketPath, PodToPodDeniedByNetworkPolicyLeavesNothing) {
  // db admits TCP 5432 from web, not 22.
  const Outcome o = send(kWeb, from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, 40002, 22));
  EXPECT_TRUE(dropped_as(o, Drop::PolicyDenied));
  EXPECT_EQ(rig_->dp().totals().conntrack_live, 0u);
}

// ---- 9. The same over IPv6 ------------------------------------------------------------------

TEST_F(PacketPath, Ipv6PodToPodAllowedAndDenied) {
  const FrameSpec syn = from_pod(kWebMac, "fd00::1", "fd00::2", ipproto::kTcp, 40003, 5432);
  const Outcome o = send(kWeb, syn);
  EXPECT_TRUE(forwarded_as(o, kDb, routed_spec(syn, kGatewayMac, kDbMac)));
  ASSERT_EQ(o.out[kDb].size(), 1u);
  EXPECT_EQ(o.out[kDb][0][14 + 7], 63);  // hop limit
  const FrameSpec back = answer(syn, kDbMac, kGatewayMac);
  EXPECT_TRUE(forwarded_as(send(kDb, back), kWeb, routed_spec(back, kGatewayMac, kWebMac)));

  EXPECT_TRUE(
      dropped_as(send(kWeb, from_pod(kWebMac, "fd00::1", "fd00::2", ipproto::kTcp, 40004, 22)),
                 Drop::PolicyDenied));
  EXPECT_TRUE(
      dropped_as(send(kWeb, from_pod(kWebMac, "fd00::1", "fd00::2", ipproto::kUdp, 40005, 5432)),
                 Drop::PolicyDenied));
}

// ---- 2. Pod to uplink and back --------------------------------------------------------------

TEST_F(PacketPath, EgressLeavesByTheUplinkAndItsReplyComesBack) {
  const FrameSpec syn = from_pod(kWebMac, "10.0.0.1", "192.0.2.10", ipproto::kTcp, 40010, 443);
  EXPECT_TRUE(forwarded_as(send(kWeb, syn), kUplink, routed_spec(syn, uplink_mac(), kNextHopMac)));
  const FrameSpec synack = answer(syn, kNextHopMac, uplink_mac());
  const Outcome o = send(kUplink, synack);
  EXPECT_TRUE(forwarded_as(o, kWeb, routed_spec(synack, kGatewayMac, kWebMac)));
  EXPECT_EQ(o.conntrack_hits, 1u);

  // ICMP echo, both ways.
  FrameSpec echo = from_pod(kWebMac, "10.0.0.1", "192.0.2.10", ipproto::kIcmp, 0, 0);
  echo.icmp_id = 77;
  echo.icmp_seq = 1;
  EXPECT_TRUE(
      forwarded_as(send(kWeb, echo), kUplink, routed_spec(echo, uplink_mac(), kNextHopMac)));
  const FrameSpec echo_reply = answer(echo, kNextHopMac, uplink_mac());
  EXPECT_TRUE(
      forwarded_as(send(kUplink, echo_reply), kWeb, routed_spec(echo_reply, kGatewayMac, kWebMac)));
}

TEST_F(PacketPath, ReplyShapedPacketsOfNoConnectionAreDropped) {
  FrameSpec synack = from_uplink("192.0.2.10", "10.0.0.1", ipproto::kTcp, 443, 40011);
  synack.tcp_flags = kTcpFlagSyn | kTcpFlagAck;
  EXPECT_TRUE(dropped_as(send(kUplink, synack), Drop::NoConnection));
  FrameSpec ack = synack;
  ack.tcp_flags = kTcpFlagAck;
  EXPECT_TRUE(dropped_as(send(kUplink, ack), Drop::NoConnection));
  // Even to web:80, which admits new connections from anywhere: only a SYN opens one.
  ack.dport = 80;
  EXPECT_TRUE(dropped_as(send(kUplink, ack), Drop::NoConnection));
  FrameSpec echo_reply = from_uplink("192.0.2.10", "10.0.0.1", ipproto::kIcmp, 0, 0);
  echo_reply.icmp_type = icmp_echo_reply_type(ipproto::kIcmp);
  echo_reply.icmp_id = 78;
  EXPECT_TRUE(dropped_as(send(kUplink, echo_reply), Drop::NoConnection));
  FrameSpec echo6_reply = from_uplink("2001:db8::10", "fd00::1", ipproto::kIcmpV6, 0, 0);
  echo6_reply.icmp_type = icmp_echo_reply_type(ipproto::kIcmpV6);
  EXPECT_TRUE(dropped_as(send(kUplink, echo6_reply), Drop::NoConnection));
}

TEST_F(PacketPath, ReplyOfADeniedFlowDoesNotPass) {
  // db may only reach pods of prod: its SYN to the outside is denied, and the SYN|ACK that
  // would answer it finds no connection.
  const FrameSpec syn = from_pod(kDbMac, "10.0.0.2", "192.0.2.10", ipproto::kTcp, 40012, 443);
  EXPECT_TRUE(dropped_as(send(kDb, syn), Drop::PolicyDenied));
  EXPECT_TRUE(
      dropped_as(send(kUplink, answer(syn, kNextHopMac, uplink_mac())), Drop::NoConnection));
  // UDP has no reply shape: the answer is judged as a new flow, and db's ingress denies it.
  const FrameSpec query = from_pod(kDbMac, "10.0.0.2", "192.0.2.10", ipproto::kUdp, 40013, 53);
  EXPECT_TRUE(dropped_as(send(kDb, query), Drop::PolicyDenied));
  EXPECT_TRUE(
      dropped_as(send(kUplink, answer(query, kNextHopMac, uplink_mac())), Drop::PolicyDenied));
  // ICMP echo the same way.
  FrameSpec echo = from_pod(kDbMac, "10.0.0.2", "192.0.2.10", ipproto::kIcmp, 0, 0);
  echo.icmp_id = 79;
  EXPECT_TRUE(dropped_as(send(kDb, echo), Drop::PolicyDenied));
  EXPECT_TRUE(
      dropped_as(send(kUplink, answer(echo, kNextHopMac, uplink_mac())), Drop::NoConnection));
}

// ---- 3. Conntrack ---------------------------------------------------------------------------

TEST_F(PacketPath, SynAckPassesWhereTheReverseDirectionWouldBeDenied) {
  // web admits TCP 80 only: a connection db:5432 -> web:40020 is denied as new...
  const FrameSpec reverse = from_pod(kDbMac, "10.0.0.2", "10.0.0.1", ipproto::kTcp, 5432, 40020);
  EXPECT_TRUE(dropped_as(send(kDb, reverse), Drop::PolicyDenied));
  // ...but is the reply direction of web:40020 -> db:5432, and passes as such.
  const FrameSpec syn = from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, 40020, 5432);
  EXPECT_TRUE(forwarded_as(send(kWeb, syn), kDb, routed_spec(syn, kGatewayMac, kDbMac)));
  const FrameSpec synack = answer(syn, kDbMac, kGatewayMac);
  const Outcome o = send(kDb, synack);
  EXPECT_TRUE(forwarded_as(o, kWeb, routed_spec(synack, kGatewayMac, kWebMac)));
  EXPECT_EQ(o.conntrack_hits, 1u);
  const FrameSpec ack = answer(synack, kWebMac, kGatewayMac);
  EXPECT_TRUE(forwarded_as(send(kWeb, ack), kDb, routed_spec(ack, kGatewayMac, kDbMac)));
  // Data from db, in the connection: passes too.
  FrameSpec data = answer(ack, kDbMac, kGatewayMac);
  data.tcp_flags = kTcpFlagAck | kTcpFlagPsh;
  data.payload = 100;
  EXPECT_TRUE(forwarded_as(send(kDb, data), kWeb, routed_spec(data, kGatewayMac, kWebMac)));
}

// A connection policy allows but conntrack has no room for is not carried, and nothing says
// it was: it is counted as dropped after allow (not as allowed), dropped as conntrack_full,
// and its flow event says Dropped with that reason instead of Allowed.
TEST_F(PacketPath, AnAllowedConnectionWithNoRoomToTrackIsLoggedAndCountedAsDropped) {
  Dataplane& dp = rig_->dp();
  dp.drain_flow_events([](const FlowEvent&) {});
  const uint64_t capacity = dp.conntrack_capacity();  // max_flows: at least that many fit
  for (uint32_t i = 0; i < capacity * 2; ++i) {
    const auto sport = static_cast<uint16_t>(10000 + i);
    const FrameSpec syn = from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, sport, 5432);
    const DataplaneTotals before = dp.totals();
    const Outcome o = send(kWeb, syn);
    const DataplaneTotals after = dp.totals();
    std::vector<FlowEvent> events;
    dp.drain_flow_events([&](const FlowEvent& e) { events.push_back(e); });
    ASSERT_EQ(events.size(), 1u) << "SYN " << i;
    if (o.drops[size_t(Drop::ConntrackFull)] == 0) {
      ASSERT_TRUE(forwarded_as(o, kDb, routed_spec(syn, kGatewayMac, kDbMac))) << "SYN " << i;
      EXPECT_EQ(events[0].action, FlowEvent::Action::Allowed);
      EXPECT_EQ(after.sum[Counter::Allowed], before.sum[Counter::Allowed] + 1);
      continue;
    }
    EXPECT_TRUE(dropped_as(o, Drop::ConntrackFull)) << "SYN " << i;
    EXPECT_EQ(events[0].action, FlowEvent::Action::Dropped);
    EXPECT_EQ(events[0].drop, Drop::ConntrackFull);
    EXPECT_EQ(events[0].dport, 5432);
    EXPECT_EQ(after.sum[Counter::Allowed], before.sum[Counter::Allowed]);
    EXPECT_EQ(after.sum[Counter::DroppedAfterAllow], before.sum[Counter::DroppedAfterAllow] + 1);
    EXPECT_GE(i, capacity) << "the table turned a connection away before max_flows";
    return;
  }
  FAIL() << "conntrack took " << capacity * 2 << " connections with max_flows " << capacity;
}

// ---- 4. Policy change under traffic ---------------------------------------------------------

// Opens web:sport -> db:5432 (SYN, SYN|ACK, ACK) and returns the ACK web sent.
FrameSpec open_web_to_db(Rig& rig, uint16_t sport, ::testing::AssertionResult& ok) {
  const FrameSpec syn = from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, sport, 5432);
  const FrameSpec synack = answer(syn, kDbMac, kGatewayMac);
  const FrameSpec ack = answer(synack, kWebMac, kGatewayMac);
  ok = forwarded_as(rig.send(kWeb, syn), kDb, routed_spec(syn, kGatewayMac, kDbMac));
  if (ok) {
    ok = forwarded_as(rig.send(kDb, synack), kWeb, routed_spec(synack, kGatewayMac, kWebMac));
  }
  if (ok) {
    ok = forwarded_as(rig.send(kWeb, ack), kDb, routed_spec(ack, kGatewayMac, kDbMac));
  }
  return ack;
}

// The next data segment of the connection whose last segment was `last`, from the same side.
FrameSpec next_segment(FrameSpec last) {
  last.tcp_flags = kTcpFlagAck | kTcpFlagPsh;
  last.payload = 10;
  return last;
}

TEST_F(PacketPath, PolicyChangeCutsEstablishedConnectionsInEitherDirection) {
  ::testing::AssertionResult ok = ::testing::AssertionSuccess();
  const FrameSpec a = open_web_to_db(*rig_, 40030, ok);
  ASSERT_TRUE(ok);
  const FrameSpec b = open_web_to_db(*rig_, 40031, ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(rig_->dp().totals().conntrack_live, 2u);

  ASSERT_TRUE(rig_->publish(manifests(5433)));  // db now admits 5433 only
  // The original direction of one, the reply direction of the other.
  Outcome o = send(kWeb, next_segment(a));
  EXPECT_TRUE(dropped_as(o, Drop::ConnectionCut));
  EXPECT_EQ(o.rejudged, 1u);
  o = send(kDb, next_segment(answer(b, kDbMac, kGatewayMac)));
  EXPECT_TRUE(dropped_as(o, Drop::ConnectionCut));
  EXPECT_EQ(o.rejudged, 1u);
  EXPECT_EQ(rig_->dp().totals().conntrack_live, 0u);
  // Cut means gone: the next segment finds no connection, a new SYN is denied.
  EXPECT_TRUE(dropped_as(send(kWeb, next_segment(a)), Drop::NoConnection));
  EXPECT_TRUE(
      dropped_as(send(kWeb, from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, 40032, 5432)),
                 Drop::PolicyDenied));

  ASSERT_TRUE(rig_->publish(manifests(5432)));  // allowed again
  const FrameSpec syn = from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, 40033, 5432);
  EXPECT_TRUE(forwarded_as(send(kWeb, syn), kDb, routed_spec(syn, kGatewayMac, kDbMac)));
}

// An off-path attacker knows the addresses and ports, not the sequence numbers: its RST and
// its data land outside the window and are dropped, and the connection goes on. An RST in
// the window passes (tcp_window.h).
TEST_F(PacketPath, SegmentsOutsideTheConnectionsWindowAreDropped) {
  ::testing::AssertionResult ok = ::testing::AssertionSuccess();
  const FrameSpec ack = open_web_to_db(*rig_, 40040, ok);
  ASSERT_TRUE(ok);
  FrameSpec forged_rst = answer(ack, kDbMac, kGatewayMac);  // db's side, as db would send it
  forged_rst.tcp_flags = kTcpFlagRst;
  forged_rst.tcp_seq += 1u << 30;
  EXPECT_TRUE(dropped_as(send(kDb, forged_rst), Drop::TcpOutOfWindow));
  FrameSpec injected = next_segment(ack);
  injected.tcp_seq -= 1u << 30;
  EXPECT_TRUE(dropped_as(send(kWeb, injected), Drop::TcpOutOfWindow));
  FrameSpec acks_unsent = next_segment(ack);
  acks_unsent.tcp_ack += 100000;
  EXPECT_TRUE(dropped_as(send(kWeb, acks_unsent), Drop::TcpOutOfWindow));
  // The connection is untouched: its next segment passes, and so does an RST in the window.
  const FrameSpec data = next_segment(ack);
  EXPECT_TRUE(forwarded_as(send(kWeb, data), kDb, routed_spec(data, kGatewayMac, kDbMac)));
  FrameSpec rst = answer(data, kDbMac, kGatewayMac);
  rst.tcp_flags = kTcpFlagRst | kTcpFlagAck;
  EXPECT_TRUE(forwarded_as(send(kDb, rst), kWeb, routed_spec(rst, kGatewayMac, kWebMac)));
}

TEST_F(PacketPath, PolicyChangeThatStillAllowsKeepsConnectionsAndRejudgesThemOnce) {
  ::testing::AssertionResult ok = ::testing::AssertionSuccess();
  const FrameSpec a = open_web_to_db(*rig_, 40034, ok);
  ASSERT_TRUE(ok);
  ASSERT_TRUE(rig_->publish(manifests(5432)));  // a new generation, same verdicts
  const FrameSpec seg = next_segment(a);
  Outcome o = send(kWeb, seg);
  EXPECT_TRUE(forwarded_as(o, kDb, routed_spec(seg, kGatewayMac, kDbMac)));
  EXPECT_EQ(o.rejudged, 1u);
  o = send(kWeb, seg);
  EXPECT_TRUE(forwarded_as(o, kDb, routed_spec(seg, kGatewayMac, kDbMac)));
  EXPECT_EQ(o.rejudged, 0u);  // judged by this generation already
}

// DataplaneConfig::rejudge_established = false needs a second Dataplane, and a process gets
// one (see Rig): this runs in a child process, the whole binary re-executed for this test
// alone ("threadsafe" death-test style), where the shared rig is never made. Failures are
// written to the child's stderr, which gtest prints when the exit status is not 0.
int run_with_rejudge_off() {
  bool good = true;
  auto check = [&](const ::testing::AssertionResult& r, const char* what) {
    if (!r) {
      std::fprintf(stderr, "%s: %s\n", what, r.message());
      good = false;
    }
  };
  Rig rig("nrj", /*rejudge_established=*/false);
  if (!rig.ok()) {
    std::fprintf(stderr, "rig: %s\n", rig.error().c_str());
    return 1;
  }
  if (!rig.publish(manifests(5432))) {
    return 1;
  }
  ::testing::AssertionResult ok = ::testing::AssertionSuccess();
  const FrameSpec a = open_web_to_db(rig, 40040, ok);
  check(ok, "open web:40040 -> db:5432");
  if (!rig.publish(manifests(5433))) {
    return 1;
  }
  const FrameSpec seg = next_segment(a);
  check(forwarded_as(rig.send(kWeb, seg), kDb, routed_spec(seg, kGatewayMac, kDbMac)),
        "established, original direction, after the policy change");
  const FrameSpec back = next_segment(answer(a, kDbMac, kGatewayMac));
  check(forwarded_as(rig.send(kDb, back), kWeb, routed_spec(back, kGatewayMac, kWebMac)),
        "established, reply direction, after the policy change");
  check(dropped_as(
            rig.send(kWeb, from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, 40041, 5432)),
            Drop::PolicyDenied),
        "a new SYN under the denying generation");
  if (!rig.publish(manifests(5432))) {
    return 1;
  }
  const FrameSpec syn = from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, 40042, 5432);
  check(forwarded_as(rig.send(kWeb, syn), kDb, routed_spec(syn, kGatewayMac, kDbMac)),
        "a new SYN once allowed again");
  if (::testing::Test::HasFailure()) {
    std::fprintf(stderr, "a check failed (see the child's stdout)\n");
    good = false;
  }
  std::fprintf(stderr, good ? "rejudge-off: ok\n" : "rejudge-off: FAILED\n");
  return good ? 0 : 1;
}

TEST(RejudgeOff, EstablishedConnectionsKeepPassingAcrossPolicyChanges) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(std::_Exit(run_with_rejudge_off()), ::testing::ExitedWithCode(0), "rejudge-off: ok");
}

// ---- 5. ARP and NDP -------------------------------------------------------------------------

TEST_F(PacketPath, ProxyArpAnswersAPodForTheGatewayWithTheGatewayMac) {
  const Outcome o = send(kWeb, craft_arp_request(kWebMac, ip("10.0.0.1"), ip("169.254.1.1")));
  EXPECT_TRUE(forwarded_as(
      o, kWeb, craft_arp_reply(kGatewayMac, ip("169.254.1.1"), kWebMac, ip("10.0.0.1"))));
  EXPECT_EQ(o.arp_replies, 1u);
}

TEST_F(PacketPath, ArpFromTheUplinkIsNotAnswered) {
  const Outcome o = send(kUplink, craft_arp_request(kNextHopMac, ip("192.0.2.1"), ip("10.0.0.1")));
  EXPECT_TRUE(dropped_as(o, Drop::NotForwarded));
  EXPECT_EQ(o.arp_replies, 0u);
}

uint16_t be16(const Frame& f, size_t at) { return uint16_t(f[at] << 8 | f[at + 1]); }

TEST_F(PacketPath, NeighborSolicitationForTheGatewayGetsAnAdvertisement) {
  const Frame ns = craft_neighbor_solicitation(kWebMac, ip("fd00::1"), ip("fe80::1"));
  const Outcome o = send(kWeb, ns);
  ASSERT_EQ(o.out[kWeb].size(), 1u) << o.describe();
  EXPECT_EQ(o.nd_replies, 1u);
  for (size_t p = 0; p < kPorts; ++p) {
    EXPECT_TRUE(p == kWeb || o.out[p].empty()) << o.describe();
  }
  for (uint64_t d : o.drops) {
    EXPECT_EQ(d, 0u) << o.describe();
  }
  const Frame& na = o.out[kWeb][0];
  ASSERT_EQ(na.size(), 14u + 40 + 32) << describe_frame(na);
  EXPECT_TRUE(std::equal(kWebMac.begin(), kWebMac.end(), na.begin()));
  EXPECT_TRUE(std::equal(kGatewayMac.begin(), kGatewayMac.end(), na.begin() + 6));
  EXPECT_EQ(be16(na, 12), 0x86dd);
  const size_t l3 = 14, icmp = 14 + 40;
  EXPECT_EQ(be16(na, l3 + 4), 32);  // payload length
  EXPECT_EQ(na[l3 + 6], ipproto::kIcmpV6);
  EXPECT_EQ(na[l3 + 7], 255);  // hop limit
  const IpAddr gw = ip("fe80::1"), pod = ip("fd00::1");
  EXPECT_TRUE(std::equal(gw.bytes.begin(), gw.bytes.end(), na.begin() + l3 + 8));
  EXPECT_TRUE(std::equal(pod.bytes.begin(), pod.bytes.end(), na.begin() + l3 + 24));
  EXPECT_EQ(na[icmp], 136);  // Neighbor Advertisement
  EXPECT_EQ(na[icmp + 1], 0);
  EXPECT_EQ(na[icmp + 4], 0xe0);  // Router, Solicited, Override
  EXPECT_TRUE(std::equal(gw.bytes.begin(), gw.bytes.end(), na.begin() + icmp + 8));
  EXPECT_EQ(na[icmp + 24], 2);  // Target Link-Layer Address option, 1 unit of 8 bytes
  EXPECT_EQ(na[icmp + 25], 1);
  EXPECT_TRUE(std::equal(kGatewayMac.begin(), kGatewayMac.end(), na.begin() + icmp + 26));
  // The ICMPv6 checksum over the pseudo-header (RFC 8200 8.1) verifies.
  uint32_t pseudo = ones_complement_sum(std::span<const uint8_t>(na.data() + l3 + 8, 32));
  pseudo += 32 + ipproto::kIcmpV6;
  EXPECT_EQ(ones_complement_sum(std::span<const uint8_t>(na.data() + icmp, 32), pseudo), 0xffff);
}

TEST_F(PacketPath, NeighborSolicitationFromTheUplinkIsNotAnswered) {
  const Outcome o =
      send(kUplink, craft_neighbor_solicitation(kNextHopMac, ip("2001:db8::1"), ip("fd00::1")));
  EXPECT_TRUE(dropped_as(o, Drop::NotForwarded));
  EXPECT_EQ(o.nd_replies, 0u);
}

// ---- 6. Anti-spoofing -----------------------------------------------------------------------

TEST_F(PacketPath, PodPortDropsWrongSourceMacWrongSourceIpAndTags) {
  // Each frame would be allowed (web -> db:5432) but for what it claims to be.
  FrameSpec good = from_pod(kWebMac, "10.0.0.1", "10.0.0.2", ipproto::kTcp, 40050, 5432);
  FrameSpec mac = good;
  mac.src_mac = {0x02, 0, 0, 0, 0, 0x99};
  EXPECT_TRUE(dropped_as(send(kWeb, mac), Drop::SpoofedSource));
  FrameSpec other_mac = good;
  other_mac.src_mac = kDbMac;  // another pod's MAC
  EXPECT_TRUE(dropped_as(send(kWeb, other_mac), Drop::SpoofedSource));
  FrameSpec other_ip = good;
  other_ip.src = ip("10.0.0.3");  // tun's address, allowed nowhere it would not be anyway
  EXPECT_TRUE(dropped_as(send(kWeb, other_ip), Drop::SpoofedSource));
  FrameSpec other_ip6 = from_pod(kWebMac, "fd00::2", "fd00::3", ipproto::kTcp, 40051, 80);
  EXPECT_TRUE(dropped_as(send(kWeb, other_ip6), Drop::SpoofedSource));
  FrameSpec outside_ip = good;
  outside_ip.src = ip("192.0.2.77");
  EXPECT_TRUE(dropped_as(send(kWeb, outside_ip), Drop::SpoofedSource));
  FrameSpec tagged = good;
  tagged.vlan = 7;
  EXPECT_TRUE(dropped_as(send(kWeb, tagged), Drop::TaggedOnPodPort));
  // A tagged ARP request too: nothing is answered on a tagged pod frame.
  EXPECT_TRUE(
      dropped_as(send(kWeb, craft_arp_request(kWebMac, ip("10.0.0.1"), ip("169.254.1.1"), 7)),
                 Drop::TaggedOnPodPort));
  EXPECT_TRUE(forwarded_as(send(kWeb, good), kDb, routed_spec(good, kGatewayMac, kDbMac)));
}

TEST_F(PacketPath, UplinkDropsLocalPodSourceAddresses) {
  // To web:80, which admits anyone: only the source address is wrong.
  EXPECT_TRUE(
      dropped_as(send(kUplink, from_uplink("10.0.0.2", "10.0.0.1", ipproto::kTcp, 40052, 80)),
                 Drop::SpoofedSource));
  EXPECT_TRUE(dropped_as(send(kUplink, from_uplink("fd00::3", "fd00::1", ipproto::kTcp, 40053, 80)),
                         Drop::SpoofedSource));
  const FrameSpec fine = from_uplink("192.0.2.10", "10.0.0.1", ipproto::kTcp, 40054, 80);
  EXPECT_TRUE(forwarded_as(send(kUplink, fine), kWeb, routed_spec(fine, kGatewayMac, kWebMac)));
}

TEST_F(PacketPath, PortWhosePodIsNotInTheSnapshotForwardsNothing) {
  ASSERT_EQ(rig_->dp().current()->missing_pods, std::vector<std::string>{"prod/ghost"});
  FrameSpec s = from_pod(kGhostMac, "10.0.0.9", "10.0.0.1", ipproto::kTcp, 40055, 80);
  EXPECT_TRUE(dropped_as(send(kGhost, s), Drop::UnboundPort));
  s.dst = ip("192.0.2.10");
  EXPECT_TRUE(dropped_as(send(kGhost, s), Drop::UnboundPort));
  EXPECT_TRUE(
      dropped_as(send(kGhost, from_pod(kGhostMac, "fd00::9", "fd00::1", ipproto::kUdp, 40056, 53)),
                 Drop::UnboundPort));
}

// ---- 8. Hostile input through a pod port ----------------------------------------------------

// One frame of a scenario and its exact outcome.
struct Step {
  std::string what;
  size_t in = kWeb;
  Frame frame;
  std::optional<Drop> drop;  // set: nothing comes out, this counter +1
  size_t out = kUplink;      // otherwise: exactly `expected` comes out of this port
  Frame expected;
};

Step drops(std::string what, Frame frame, Drop why, size_t in = kWeb) {
  Step s;
  s.what = std::move(what);
  s.in = in;
  s.frame = std::move(frame);
  s.drop = why;
  return s;
}

// The frame, routed: out of a pod port from the gateway, or out of the uplink to the next hop.
Step passes(std::string what, Frame frame, size_t out, const Mac& uplink_mac, size_t in = kWeb) {
  Step s;
  s.what = std::move(what);
  s.in = in;
  s.out = out;
  s.expected = out == kUplink ? routed(frame, uplink_mac, kNextHopMac)
                              : routed(frame, kGatewayMac, kPodMac[out]);
  s.frame = std::move(frame);
  return s;
}

FrameSpec web_tcp(std::string_view dst, uint16_t sport, uint16_t dport, size_t payload,
                  uint32_t id) {
  const bool v6 = dst.find(':') != std::string_view::npos;
  FrameSpec s = from_pod(kWebMac, v6 ? "fd00::1" : "10.0.0.1", dst, ipproto::kTcp, sport, dport);
  s.payload = payload;
  s.ip_id = id;
  return s;
}
FrameSpec web_udp(std::string_view dst, uint16_t sport, uint16_t dport, size_t payload,
                  uint32_t id) {
  FrameSpec s = web_tcp(dst, sport, dport, payload, id);
  s.proto = ipproto::kUdp;
  return s;
}

// A fresh IP identification, for one fragmented datagram.
uint32_t next_id() {
  static uint32_t last = 100;
  last = last == 0xffff ? 101 : last + 1;
  return last;
}

struct Scenario {
  const char* name;
  std::vector<Step> (*steps)(const Mac& uplink_mac);
};

// Each scenario's frames, from web (its own MAC and addresses: only the hostile part is
// wrong). Each datagram takes a fresh IP identification (next_id).
const std::vector<Scenario>& hostile_scenarios() {
  static const std::vector<Scenario> all = {
      {"Rfc1858TinyFragment",
       [](const Mac&) {
         // The first fragment is too short for the TCP header: its flags would sit in the
         // second. The rest of the datagram then has no first fragment.
         const FrameSpec s = web_tcp("10.0.0.2", 40100, 5432, 100, next_id());
         const FragmentPiece pieces[] = {{0, 16, true}, {16, 104, false}};
         const std::vector<Frame> f = craft_ipv4_fragments(s, pieces);
         return std::vector<Step>{drops("16-byte first fragment", f[0], Drop::TinyFragment),
                                  drops("the rest, orphaned", f[1], Drop::OrphanFragment)};
       }},
      {"Rfc1858TcpOffsetEightOverlap",
       [](const Mac&) {
         // A second fragment at offset 8 bytes would rewrite the first one's TCP flags.
         const FrameSpec s = web_tcp("10.0.0.2", 40101, 5432, 100, next_id());
         const FragmentPiece pieces[] = {{0, 24, true}, {8, 16, true}, {24, 96, false}};
         const std::vector<Frame> f = craft_ipv4_fragments(s, pieces);
         return std::vector<Step>{passes("first fragment, allowed", f[0], kDb, {}),
                                  drops("offset 8", f[1], Drop::OverlappingFragment),
                                  passes("the rest of the datagram", f[2], kDb, {})};
       }},
      {"Rfc3128TinyOverlappingFragment",
       [](const Mac&) {
         // RFC 3128 section 2: fragment 1 (offset 0, whole header) is legal; fragment 2
         // (offset 0, 8 bytes) would replace its ports with a denied one (22); fragment 3
         // completes the message.
         const FrameSpec legal = web_tcp("10.0.0.2", 40102, 5432, 100, next_id());
         FrameSpec evil = legal;
         evil.dport = 22;
         const FragmentPiece first[] = {{0, 24, true}, {24, 96, false}};
         const FragmentPiece tiny[] = {{0, 8, true}};
         const std::vector<Frame> f = craft_ipv4_fragments(legal, first);
         const std::vector<Frame> t = craft_ipv4_fragments(evil, tiny);
         return std::vector<Step>{passes("fragment 1", f[0], kDb, {}),
                                  drops("fragment 2, ports to 22", t[0], Drop::TinyFragment),
                                  passes("fragment 3", f[1], kDb, {})};
       }},
      {"Rfc5722OverlappingIpv6Fragments",
       [](const Mac& up) {
         // Any overlap refuses the datagram, and every later piece of it.
         const FrameSpec s = web_udp("2001:db8::10", 40103, 53, 100, next_id());
         const FragmentPiece pieces[] = {{0, 48, true}, {40, 32, true}, {72, 36, false}};
         const std::vector<Frame> f = craft_ipv6_fragments(s, pieces);
         return std::vector<Step>{passes("first fragment", f[0], kUplink, up),
                                  drops("overlapping [40, 72)", f[1], Drop::OverlappingFragment),
                                  drops("the rest", f[2], Drop::OverlappingFragment)};
       }},
      {"Rfc7112Ipv6FirstFragmentWithoutTheHeaderChain",
       [](const Mac&) {
         // A Destination Options header cut by the end of the first fragment, and a first
         // fragment that holds the chain but only 12 bytes of the TCP header.
         const FrameSpec s = web_tcp("fd00::2", 40104, 5432, 0, next_id());
         Ipv6Extension frag;
         frag.type = Ipv6Extension::kFragment;
         frag.more_fragments = true;
         frag.fragment_id = s.ip_id;
         Ipv6Extension dest;
         dest.length = 16;
         const Ipv6Extension chain[] = {frag, dest};
         const Frame cut_chain = shorten_ip_payload(craft_ipv6_with_extensions(s, chain), 8 + 12);
         FrameSpec s2 = s;
         s2.ip_id = frag.fragment_id = next_id();
         dest.length = 8;
         const Ipv6Extension chain2[] = {frag, dest};
         const Frame cut_tcp =
             shorten_ip_payload(craft_ipv6_with_extensions(s2, chain2), 8 + 8 + 12);
         return std::vector<Step>{drops("chain cut", cut_chain, Drop::TinyFragment),
                                  drops("TCP header cut", cut_tcp, Drop::TinyFragment)};
       }},
      {"LaterFragmentWithoutAFirstIsOrphan",
       [](const Mac&) {
         const uint32_t id = next_id();
         const FrameSpec s = web_udp("192.0.2.10", 40105, 53, 100, id);
         const FragmentPiece pieces[] = {{64, 16, true}, {80, 28, false}};
         const std::vector<Frame> f = craft_ipv4_fragments(s, pieces);
         const FrameSpec s6 = web_udp("2001:db8::10", 40105, 53, 100, id);
         const std::vector<Frame> f6 = craft_ipv6_fragments(s6, pieces);
         return std::vector<Step>{drops("IPv4 offset 64", f[0], Drop::OrphanFragment),
                                  drops("IPv4 last piece", f[1], Drop::OrphanFragment),
                                  drops("IPv6 offset 64", f6[0], Drop::OrphanFragment)};
       }},
      {"DatagramPast65535BytesIsDropped",
       [](const Mac&) {
         // Ping of death: a piece at offset 65528 carrying 16 bytes ends at 65544.
         FrameSpec s = web_udp("192.0.2.10", 40106, 53, 0, next_id());
         const FragmentPiece pieces[] = {{65528, 16, false}};
         const Frame v4 = craft_ipv4_fragments(s, pieces)[0];
         s.proto = ipproto::kIcmp;
         const Frame icmp = craft_ipv4_fragments(s, pieces)[0];
         const FrameSpec s6 = web_udp("2001:db8::10", 40106, 53, 0, next_id());
         const Frame v6 = craft_ipv6_fragments(s6, pieces)[0];
         return std::vector<Step>{drops("IPv4 UDP", v4, Drop::OversizedFragment),
                                  drops("IPv4 ICMP", icmp, Drop::OversizedFragment),
                                  drops("IPv6 UDP", v6, Drop::OversizedFragment)};
       }},
      {"AllowedDatagramsLaterFragmentsPassDeniedOnesDoNot",
       [](const Mac& up) {
         const FragmentPiece pieces[] = {{0, 48, true}, {48, 32, true}, {80, 28, false}};
         const std::vector<Frame> ok =
             craft_ipv4_fragments(web_udp("192.0.2.10", 40107, 53, 100, next_id()), pieces);
         const std::vector<Frame> no =  // db admits TCP 5432 only
             craft_ipv4_fragments(web_udp("10.0.0.2", 40107, 53, 100, next_id()), pieces);
         const std::vector<Frame> ok6 =
             craft_ipv6_fragments(web_udp("fd00::2", 40108, 5432, 100, next_id()), pieces);
         const std::vector<Frame> ok6_tcp =
             craft_ipv6_fragments(web_tcp("fd00::2", 40108, 5432, 88, next_id()), pieces);
         return std::vector<Step>{
             passes("allowed, first", ok[0], kUplink, up),
             passes("allowed, second", ok[1], kUplink, up),
             passes("allowed, last", ok[2], kUplink, up),
             drops("denied, first", no[0], Drop::PolicyDenied),
             drops("denied, second", no[1], Drop::PolicyDenied),
             drops("denied, last", no[2], Drop::PolicyDenied),
             drops("IPv6 UDP to db:5432 (TCP only), first", ok6[0], Drop::PolicyDenied),
             drops("IPv6 UDP to db:5432, last", ok6[2], Drop::PolicyDenied),
             passes("IPv6 TCP to db:5432, first", ok6_tcp[0], kDb, up),
             passes("IPv6 TCP to db:5432, second", ok6_tcp[1], kDb, up),
             passes("IPv6 TCP to db:5432, last", ok6_tcp[2], kDb, up)};
       }},
      {"Ipv6ExtensionChainPastThePacketOrUnknown",
       [](const Mac&) {
         // A Destination Options header claiming 40 bytes in a 16-byte payload.
         Ipv6Extension past;
         past.length_field = 4;
         const Ipv6Extension chain_past[] = {past};
         const Frame f_past =
             craft_ipv6_with_extensions(web_udp("fd00::3", 40109, 53, 0, 0), chain_past);
         // A TCP header to db:5432 behind an unknown header (type 200): the packet is judged
         // as protocol 200, which db does not admit; the TCP header is never read. tun admits
         // every protocol from web, so there it passes, as protocol 200.
         Ipv6Extension unknown;
         unknown.type = 200;
         const Ipv6Extension chain_unknown[] = {Ipv6Extension{}, unknown};
         const Frame to_db =
             craft_ipv6_with_extensions(web_tcp("fd00::2", 40110, 5432, 0, 0), chain_unknown);
         const Frame to_tun =
             craft_ipv6_with_extensions(web_tcp("fd00::3", 40110, 5432, 0, 0), chain_unknown);
         return std::vector<Step>{drops("chain past the packet", f_past, Drop::BadExtensionChain),
                                  drops("unknown header, to db", to_db, Drop::PolicyDenied),
                                  passes("unknown header, to tun", to_tun, kTun, {})};
       }},
      {"BrokenIpv4AndTcpHeaders",
       [](const Mac&) {
         const Frame good = craft_frame(web_tcp("10.0.0.2", 40111, 5432, 20, 0));
         Frame long_total = good;
         ++long_total[14 + 3];  // total length one past the frame
         FrameSpec synfin = web_tcp("10.0.0.2", 40112, 5432, 0, 0);
         synfin.tcp_flags = kTcpFlagSyn | kTcpFlagFin;
         FrameSpec null_scan = synfin;
         null_scan.tcp_flags = 0;
         return std::vector<Step>{
             drops("bad IPv4 checksum", corrupt_ip_checksum(good), Drop::BadIpChecksum),
             drops("total length past the frame", long_total, Drop::BadIpHeader),
             drops("TCP header cut at 12 bytes", shorten_ip_payload(good, 12), Drop::TruncatedL4),
             drops("SYN+FIN", craft_frame(synfin), Drop::ImpossibleTcpFlags),
             drops("no flags", craft_frame(null_scan), Drop::ImpossibleTcpFlags),
             drops("frame cut inside the IPv4 header", truncate_frame(good, 14 + 12),
                   Drop::BadIpHeader)};
       }},
      {"IcmpErrorsPassOnlyForAConnectionAndTowardsItsSender",
       [](const Mac& up) {
         // About a UDP flow db:53 -> web that does not exist.
         FrameSpec none = from_pod(kGatewayMac, "10.0.0.2", "10.0.0.1", ipproto::kUdp, 53, 40113);
         none.dst_mac = kWebMac;  // so the error goes from web's MAC to the gateway
         const Frame about_none = craft_icmp_error(none, ip("10.0.0.1"), 3, 3);
         // A connection web:40114 -> 192.0.2.10:53, then a router's port unreachable about
         // the packet as it left the uplink, back to web: it passes.
         const FrameSpec query = web_udp("192.0.2.10", 40114, 53, 20, 0);
         FrameSpec as_sent = query;
         as_sent.src_mac = up;
         as_sent.dst_mac = kNextHopMac;
         as_sent.ttl = 63;
         const Frame about_it = craft_icmp_error(as_sent, ip("198.51.100.1"), 3, 3);
         // web forging an error about its own connection towards the peer: the outer
         // destination is not the quoted packet's source.
         FrameSpec forged_about = query;
         forged_about.src_mac = kGatewayMac;
         forged_about.dst_mac = kWebMac;
         Frame forged = craft_icmp_error(forged_about, ip("10.0.0.1"), 3, 3);
         // craft_icmp_error addresses it to the quoted source (web): readdress it to the peer.
         const IpAddr peer = ip("192.0.2.10");
         std::memcpy(forged.data() + 14 + 16, peer.bytes.data(), 4);
         set_ipv4_header_checksum(forged);
         // IPv6: a router's Packet Too Big about web's SYN passes; a Destination
         // Unreachable about a connection that never was does not.
         const FrameSpec syn6 = web_tcp("2001:db8::10", 40115, 443, 0, 0);
         FrameSpec syn6_sent = syn6;
         syn6_sent.src_mac = up;
         syn6_sent.dst_mac = kNextHopMac;
         syn6_sent.ttl = 63;
         const Frame too_big = craft_icmp_error(syn6_sent, ip("2001:db8::1"), 2, 0);
         FrameSpec never = syn6_sent;
         never.sport = 40116;
         const Frame unreachable6 = craft_icmp_error(never, ip("2001:db8::1"), 1, 4);
         return std::vector<Step>{
             drops("about no connection", about_none, Drop::IcmpErrorNoConnection),
             passes("the query", craft_frame(query), kUplink, up),
             passes("error about the query", about_it, kWeb, up, kUplink),
             drops("forged towards the peer", forged, Drop::IcmpErrorNoConnection),
             passes("IPv6 SYN", craft_frame(syn6), kUplink, up),
             passes("Packet Too Big about it", too_big, kWeb, up, kUplink),
             drops("IPv6 unreachable about no connection", unreachable6,
                   Drop::IcmpErrorNoConnection, kUplink)};
       }},
      {"TunnelsAreJudgedByTheirOuterHeader",
       [](const Mac&) {
         // IP-in-IP and GRE carry no ports: tun admits every protocol from web, db TCP only.
         FrameSpec ipip = from_pod(kWebMac, "10.0.0.1", "10.0.0.3", 4, 0, 0);
         ipip.payload = 40;
         FrameSpec gre = ipip;
         gre.proto = 47;
         FrameSpec ipip_db = ipip, gre_db = gre;
         ipip_db.dst = gre_db.dst = ip("10.0.0.2");
         FrameSpec gre6 = from_pod(kWebMac, "fd00::1", "fd00::3", 47, 0, 0);
         gre6.payload = 40;
         return std::vector<Step>{passes("IP-in-IP to tun", craft_frame(ipip), kTun, {}),
                                  passes("GRE to tun", craft_frame(gre), kTun, {}),
                                  passes("GRE over IPv6 to tun", craft_frame(gre6), kTun, {}),
                                  drops("IP-in-IP to db", craft_frame(ipip_db), Drop::PolicyDenied),
                                  drops("GRE to db", craft_frame(gre_db), Drop::PolicyDenied)};
       }},
  };
  return all;
}

class Hostile : public PacketPath, public ::testing::WithParamInterface<size_t> {};

TEST_P(Hostile, EachFrameHasItsExactOutcome) {
  const Scenario& scenario = hostile_scenarios()[GetParam()];
  for (const Step& step : scenario.steps(uplink_mac())) {
    SCOPED_TRACE(step.what + ": " + describe_frame(step.frame));
    const Outcome o = send(step.in, step.frame);
    if (step.drop) {
      EXPECT_TRUE(dropped_as(o, *step.drop));
    } else {
      EXPECT_TRUE(forwarded_as(o, step.out, step.expected));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ThroughAPodPort, Hostile,
                         ::testing::Range<size_t>(0, hostile_scenarios().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return std::string(hostile_scenarios()[info.param].name);
                         });

// Every hostile frame, written to a pcap and read back unchanged, for replay through a
// net_pcap port (rx_pcap=hostile.pcap).
TEST(HostilePcap, EveryHostileFrameRoundTripsThroughAPcapFile) {
  Rig& rig = Rig::shared();
  ASSERT_TRUE(rig.ok()) << rig.error();
  std::vector<std::vector<uint8_t>> frames;
  for (const Scenario& s : hostile_scenarios()) {
    for (const Step& step : s.steps(rig.uplink_mac())) {
      frames.push_back(step.frame);
    }
  }
  const std::string path = ::testing::TempDir() + "dataplane_test_hostile.pcap";
  ASSERT_TRUE(write_pcap(path, frames));
  policy::Result<std::vector<std::vector<uint8_t>>> back = read_pcap(path);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, frames);
  std::remove(path.c_str());
}

// ---- Fragments of established connections ---------------------------------------------------
// The three tests below fail today; each exposes a bug in the fragment path (left failing on
// purpose, they block nothing else).

// BUG: dataplane/worker.cc, step 3: a first fragment that hits conntrack (any datagram of a
// connection after the one that opened it, a fragmented reply, or a rejudged packet that is
// still allowed) is passed without FragmentTable::on_first, which only the newly judged path
// of step 4 calls; its later fragments then find no entry and are dropped as orphan_fragment.
TEST_F(PacketPath, LaterFragmentsOfEveryDatagramOfAConnectionFollowIt) {
  const FragmentPiece pieces[] = {{0, 48, true}, {48, 32, true}, {80, 28, false}};
  const Mac up = uplink_mac();
  // The first datagram opens the connection, and its fragments pass.
  for (const Frame& f :
       craft_ipv4_fragments(web_udp("192.0.2.10", 40200, 53, 100, next_id()), pieces)) {
    EXPECT_TRUE(forwarded_as(send(kWeb, f), kUplink, routed(f, up, kNextHopMac)))
        << describe_frame(f);
  }
  // The second datagram of the same flow: its first fragment is a conntrack hit...
  for (const Frame& f :
       craft_ipv4_fragments(web_udp("192.0.2.10", 40200, 53, 100, next_id()), pieces)) {
    EXPECT_TRUE(forwarded_as(send(kWeb, f), kUplink, routed(f, up, kNextHopMac)))
        << describe_frame(f);
  }
  // ...and so is a fragmented reply.
  FrameSpec reply = answer(web_udp("192.0.2.10", 40200, 53, 100, next_id()), kNextHopMac, up);
  for (const Frame& f : craft_ipv4_fragments(reply, pieces)) {
    EXPECT_TRUE(forwarded_as(send(kUplink, f), kWeb, routed(f, kGatewayMac, kWebMac)))
        << describe_frame(f);
  }
}

// BUG: the same cause (dataplane/worker.cc, step 3): a second first fragment of a live
// datagram hits conntrack and passes, so FragmentTable::on_first never sees it and the
// overlap goes undetected; the datagram's later pieces pass as well.
TEST_F(PacketPath, SecondFirstFragmentOfAConnectionsDatagramIsAnOverlap) {
  // RFC 5722: a piece overlapping another refuses the datagram. Here the overlapping piece
  // is another first fragment (offset 0, longer) with the same ports.
  const FrameSpec s = web_udp("2001:db8::10", 40201, 53, 100, next_id());
  const FragmentPiece pieces[] = {{0, 48, true}, {0, 56, true}, {56, 52, false}};
  const std::vector<Frame> f = craft_ipv6_fragments(s, pieces);
  EXPECT_TRUE(forwarded_as(send(kWeb, f[0]), kUplink, routed(f[0], uplink_mac(), kNextHopMac)));
  EXPECT_TRUE(dropped_as(send(kWeb, f[1]), Drop::OverlappingFragment));
  EXPECT_TRUE(dropped_as(send(kWeb, f[2]), Drop::OverlappingFragment));
}

// BUG: dataplane/hot/parse.cc (parse_ipv6, later fragment: out.proto = x[0]) gives a later
// fragment the Fragment header's next header (60) as its protocol, while the first fragment
// gets the upper layer (17); FragmentTable keys datagrams by protocol too, so the later
// fragment finds no entry (orphan_fragment). RFC 8200 4.5 identifies an IPv6 datagram by
// source, destination and identification only.
TEST_F(PacketPath, Ipv6LaterFragmentsFollowAFirstWithExtensionsAfterItsFragmentHeader) {
  // RFC 8200 4.5: a Destination Options header may open the fragmentable part. Every
  // fragment's Fragment header then names it (60) as the next header; only the first
  // fragment holds the UDP header behind it. One datagram: (source, destination, id).
  const FrameSpec s = web_udp("2001:db8::10", 40202, 53, 16, next_id());
  Ipv6Extension frag;
  frag.type = Ipv6Extension::kFragment;
  frag.more_fragments = true;
  frag.fragment_id = s.ip_id;
  const Ipv6Extension chain[] = {frag, Ipv6Extension{}};     // Fragment, Destination Options
  const Frame first = craft_ipv6_with_extensions(s, chain);  // fragmentable: 8 + 8 + 16 bytes
  const FragmentPiece rest[] = {{32, 16, false}};
  Frame later = craft_ipv6_fragments(s, rest)[0];
  later[14 + 40] = Ipv6Extension::kDestinationOptions;  // its Fragment header's next header
  ASSERT_EQ(describe_frame(later).find("drop"), std::string::npos) << describe_frame(later);
  EXPECT_TRUE(forwarded_as(send(kWeb, first), kUplink, routed(first, uplink_mac(), kNextHopMac)));
  EXPECT_TRUE(forwarded_as(send(kWeb, later), kUplink, routed(later, uplink_mac(), kNextHopMac)));
}

}  // namespace
}  // namespace palisade::dataplane
