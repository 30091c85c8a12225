#include "control/node_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string_view>

namespace palisade::control {
namespace {

// A full node file: every section, every field the parser knows.
const std::string kFull = R"yaml(node_name: node-1
eal: {lcores: [0, 1, 2], main_lcore: 0, no_huge: true, memory_mb: 1024, file_prefix: palisade, extra_args: [--no-telemetry]}
mbufs: 16383
workers:
  - lcore: 1
    ports: [uplink, pod-frontend]
  - lcore: 2
    ports: [uplink, pod-backend]
ports:
  - name: uplink
    role: uplink
    devargs: "0000:3b:00.1"
    next_hop_mac: "52:54:00:12:34:56"
  - name: pod-frontend
    role: pod
    devargs: "net_vhost0,iface=/run/palisade/frontend.sock,client=1,queues=2"
    pod: dev/frontend
    mac: "02:00:00:00:00:01"
    rx_descriptors: 512
    tx_descriptors: 2048
    mtu: 9000
  - name: pod-backend
    role: pod
    devargs: "net_vhost1,iface=/run/palisade/backend.sock,client=1,queues=2"
    mac: "02:00:00:00:00:02"
gateway: {ipv4: 169.254.1.1, ipv6: "fe80::1", mac: "ee:ee:ee:ee:ee:ee"}
policy: {source: directory, directory: ./policies, debounce_ms: 250}
conntrack: {max_flows: 65536, tcp_syn_timeout: 30, tcp_established_timeout: 7200, tcp_closing_timeout: 5, udp_timeout: 45, icmp_timeout: 15, other_timeout: 20, rejudge_established: false, tcp_window_tracking: false, tcp_loose_pickup: true, state_file: state/ct}
admin: {listen: "127.0.0.1:9191"}
)yaml";

// The least a node file can say.
const std::string kMinimal = R"yaml(node_name: node-1
eal: {lcores: [0, 1]}
workers:
  - lcore: 1
ports:
  - name: pod-a
    role: pod
    devargs: net_ring0
    mac: "02:00:00:00:00:0a"
policy: {directory: /etc/palisade/policies}
)yaml";

// `text` with `from` (which must occur exactly once) replaced by `to`.
std::string with(std::string text, std::string_view from, std::string_view to) {
  size_t at = text.find(from);
  if (at == std::string::npos || text.find(from, at + 1) != std::string::npos) {
    ADD_FAILURE() << "\"" << from << "\" is not in the text exactly once";
    return text;
  }
  return text.replace(at, from.size(), to);
}

// 1-based line of the one line containing `needle`.
int line_of(const std::string& text, std::string_view needle) {
  size_t at = text.find(needle);
  if (at == std::string::npos || text.find(needle, at + 1) != std::string::npos) {
    ADD_FAILURE() << "\"" << needle << "\" is not in the text exactly once";
    return -1;
  }
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
}

NodeConfig parse_ok(const std::string& text, const std::string& path = "/etc/palisade/node.yaml") {
  auto r = parse_node_config(text, path);
  EXPECT_TRUE(r.has_value()) << r.error().to_string();
  return r.has_value() ? r.value() : NodeConfig{};
}

// Expects `text` to be refused: at the line containing `at`, on `field`, saying `says`.
void expect_error(const std::string& text, const std::string& field, std::string_view at,
                  const std::string& says,
                  policy::ErrorCode code = policy::ErrorCode::InvalidField) {
  auto r = parse_node_config(text, "node.yaml");
  ASSERT_FALSE(r.has_value()) << "accepted, but expected an error on " << field;
  const policy::Error& e = r.error();
  EXPECT_EQ(e.field, field) << e.to_string();
  EXPECT_EQ(e.source, "node.yaml:" + std::to_string(line_of(text, at))) << e.to_string();
  EXPECT_NE(e.message.find(says), std::string::npos) << e.to_string();
  EXPECT_EQ(e.code, code) << e.to_string();
}

dataplane::Mac mac(const std::string& text) { return parse_mac(text).value(); }

TEST(NodeConfig, FullFileRoundTripsIntoTheStruct) {
  NodeConfig c = parse_ok(kFull);
  EXPECT_EQ(c.path, "/etc/palisade/node.yaml");
  EXPECT_EQ(c.node_name, "node-1");
  EXPECT_EQ(c.eal.lcores, (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(c.eal.main_lcore, 0u);
  EXPECT_TRUE(c.eal.no_huge);
  EXPECT_EQ(c.eal.memory_mb, 1024u);
  EXPECT_EQ(c.eal.file_prefix, "palisade");
  EXPECT_EQ(c.eal.extra_args, (std::vector<std::string>{"--no-telemetry"}));
  EXPECT_EQ(c.mbufs, 16383u);

  ASSERT_EQ(c.workers.size(), 2u);
  EXPECT_EQ(c.workers[0].lcore, 1u);
  EXPECT_EQ(c.workers[0].ports, (std::vector<std::string>{"uplink", "pod-frontend"}));
  EXPECT_EQ(c.workers[1].lcore, 2u);
  EXPECT_EQ(c.workers[1].ports, (std::vector<std::string>{"uplink", "pod-backend"}));

  ASSERT_EQ(c.ports.size(), 3u);
  const PortConfig& up = c.ports[0];
  EXPECT_EQ(up.name, "uplink");
  EXPECT_EQ(up.role, PortRole::Uplink);
  EXPECT_EQ(up.devargs, "0000:3b:00.1");
  EXPECT_EQ(up.next_hop_mac, mac("52:54:00:12:34:56"));
  EXPECT_FALSE(up.mac.has_value());
  EXPECT_FALSE(up.pod.has_value());
  EXPECT_EQ(up.rx_queues, 2);  // both workers poll it
  EXPECT_EQ(up.tx_queues, 2);
  const PortConfig& fe = c.ports[1];
  EXPECT_EQ(fe.role, PortRole::Pod);
  EXPECT_EQ(fe.devargs, "net_vhost0,iface=/run/palisade/frontend.sock,client=1,queues=2");
  EXPECT_EQ(fe.pod, "dev/frontend");
  EXPECT_EQ(fe.mac, mac("02:00:00:00:00:01"));
  EXPECT_FALSE(fe.next_hop_mac.has_value());
  EXPECT_EQ(fe.rx_queues, 1);  // one poller
  EXPECT_EQ(fe.tx_queues, 2);  // every worker sends on its own queue
  EXPECT_EQ(fe.rx_descriptors, 512);
  EXPECT_EQ(fe.tx_descriptors, 2048);
  EXPECT_EQ(fe.mtu, 9000);
  EXPECT_FALSE(c.ports[2].mtu.has_value());  // the device's default
  EXPECT_FALSE(c.ports[2].pod.has_value());  // discovered by annotation
  EXPECT_EQ(c.uplink(), &c.ports[0]);

  EXPECT_EQ(c.gateway.ipv4.to_string(), "169.254.1.1");
  EXPECT_EQ(c.gateway.ipv6.to_string(), "fe80::1");
  EXPECT_EQ(c.gateway.mac, mac("ee:ee:ee:ee:ee:ee"));
  EXPECT_EQ(c.policy.kind, PolicySourceKind::Directory);
  EXPECT_EQ(c.policy.directory, "/etc/palisade/policies");  // relative to the node file
  EXPECT_EQ(c.policy.debounce_ms, 250u);
  EXPECT_EQ(c.conntrack.max_flows, 65536u);
  EXPECT_EQ(c.conntrack.tcp_syn_timeout, 30u);
  EXPECT_EQ(c.conntrack.tcp_established_timeout, 7200u);
  EXPECT_EQ(c.conntrack.tcp_closing_timeout, 5u);
  EXPECT_FALSE(c.conntrack.tcp_window_tracking);
  EXPECT_TRUE(c.conntrack.tcp_loose_pickup);
  EXPECT_EQ(c.conntrack.state_file, "/etc/palisade/state/ct");  // relative to the node file
  EXPECT_EQ(c.conntrack.udp_timeout, 45u);
  EXPECT_EQ(c.conntrack.icmp_timeout, 15u);
  EXPECT_EQ(c.conntrack.other_timeout, 20u);
  EXPECT_FALSE(c.conntrack.rejudge_established);
  EXPECT_EQ(c.admin.listen, "127.0.0.1:9191");
}

TEST(NodeConfig, DefaultsAreTheHeaders) {
  NodeConfig c = parse_ok(kMinimal);
  EXPECT_EQ(c.eal.main_lcore, 0u);  // the first of lcores
  EXPECT_FALSE(c.eal.no_huge);
  EXPECT_EQ(c.eal.memory_mb, 1024u);
  EXPECT_EQ(c.eal.file_prefix, "palisade");
  EXPECT_TRUE(c.eal.extra_args.empty());
  EXPECT_EQ(c.mbufs, 8191u);
  ASSERT_EQ(c.workers.size(), 1u);
  EXPECT_TRUE(c.workers[0].ports.empty());  // every port
  const PortConfig& p = c.ports.at(0);
  EXPECT_EQ(p.rx_queues, 1);
  EXPECT_EQ(p.tx_queues, 1);
  EXPECT_EQ(p.rx_descriptors, 1024);
  EXPECT_EQ(p.tx_descriptors, 1024);
  EXPECT_EQ(c.uplink(), nullptr);
  EXPECT_EQ(c.gateway.ipv4.to_string(), "169.254.1.1");
  EXPECT_EQ(c.gateway.ipv6.to_string(), "fe80::1");
  EXPECT_EQ(format_mac(c.gateway.mac), "ee:ee:ee:ee:ee:ee");
  EXPECT_EQ(c.policy.kind, PolicySourceKind::Directory);
  EXPECT_EQ(c.policy.directory, "/etc/palisade/policies");  // absolute stays
  EXPECT_EQ(c.policy.debounce_ms, 100u);
  EXPECT_TRUE(c.policy.hold_rejected);
  EXPECT_FALSE(c.policy.cilium_cidr_matches_nodes);
  EXPECT_TRUE(c.conntrack.tcp_window_tracking);
  EXPECT_FALSE(c.conntrack.tcp_loose_pickup);
  EXPECT_FALSE(c.conntrack.state_file.empty());  // a default place, never process memory
  ConntrackConfig ct;
  EXPECT_EQ(c.conntrack.max_flows, 1u << 20);
  EXPECT_EQ(c.conntrack.tcp_established_timeout, 21600u);
  EXPECT_EQ(c.conntrack.tcp_syn_timeout, ct.tcp_syn_timeout);
  EXPECT_EQ(c.conntrack.udp_timeout, ct.udp_timeout);
  EXPECT_TRUE(c.conntrack.rejudge_established);
  EXPECT_EQ(c.admin.listen, "127.0.0.1:9090");
  // A struct built in code has the same defaults as a file that leaves them out.
  GatewayConfig g;
  EXPECT_EQ(g.ipv4, c.gateway.ipv4);
  EXPECT_EQ(g.ipv6, c.gateway.ipv6);
  EXPECT_EQ(g.mac, c.gateway.mac);
}

TEST(NodeConfig, MainLcoreDefaultsToTheFirstListed) {
  std::string text =
      with(with(kMinimal, "lcores: [0, 1]", "lcores: [4, 5]"), "lcore: 1", "lcore: 5");
  EXPECT_EQ(parse_ok(text).eal.main_lcore, 4u);
}

TEST(NodeConfig, KubernetesSource) {
  std::string text = with(kMinimal, "policy: {directory: /etc/palisade/policies}",
                          "policy: {source: kubernetes, kubeconfig: kube/config}");
  NodeConfig c = parse_ok(text, "/etc/palisade/node.yaml");
  EXPECT_EQ(c.policy.kind, PolicySourceKind::Kubernetes);
  EXPECT_EQ(c.policy.kubeconfig, "/etc/palisade/kube/config");
  text =
      with(kMinimal, "policy: {directory: /etc/palisade/policies}", "policy: {source: kubernetes}");
  EXPECT_FALSE(parse_ok(text).policy.kubeconfig.has_value());  // in-cluster
}

TEST(NodeConfig, PolicyReadingSettings) {
  NodeConfig c = parse_ok(with(kMinimal, "policy: {directory: /etc/palisade/policies}",
                               "policy: {directory: /etc/palisade/policies, hold_rejected: false, "
                               "cilium_cidr_match_mode: [nodes]}"));
  EXPECT_FALSE(c.policy.hold_rejected);
  EXPECT_TRUE(c.policy.cilium_cidr_matches_nodes);
  c = parse_ok(with(kMinimal, "policy: {directory: /etc/palisade/policies}",
                    "policy: {directory: /etc/palisade/policies, cilium_cidr_match_mode: []}"));
  EXPECT_FALSE(c.policy.cilium_cidr_matches_nodes);  // the agent's default: an empty list
}

TEST(NodeConfig, RelativeDirectoryResolvesAgainstTheFilesDirectory) {
  std::string text = with(kMinimal, "directory: /etc/palisade/policies", "directory: ../policies");
  EXPECT_EQ(parse_ok(text, "/srv/node-1/conf/node.yaml").policy.directory, "/srv/node-1/policies");
  EXPECT_EQ(parse_ok(text, "conf/node.yaml").policy.directory, "policies");
}

// --- Every error names its line and field. ---

TEST(NodeConfigErrors, UnknownKeysAnywhere) {
  expect_error(with(kFull, "mbufs: 16383", "mbuf: 16383"), "mbuf", "mbuf:", "unknown field",
               policy::ErrorCode::UnknownField);
  expect_error(with(kFull, "no_huge: true", "nohuge: true"), "eal.nohuge", "eal:", "unknown field",
               policy::ErrorCode::UnknownField);
  expect_error(with(kFull, "    mac: \"02:00:00:00:00:02\"", "    macc: \"02:00:00:00:00:02\""),
               "ports[2].macc", "macc:", "unknown field", policy::ErrorCode::UnknownField);
  expect_error(with(kFull, "  - lcore: 2\n", "  - lcore: 2\n    queue: 1\n"), "workers[1].queue",
               "queue: 1", "unknown field", policy::ErrorCode::UnknownField);
  expect_error(with(kFull, "udp_timeout: 45", "udp_timout: 45"), "conntrack.udp_timout",
               "conntrack:", "unknown field", policy::ErrorCode::UnknownField);
  expect_error(with(kFull, "listen:", "listen_on:"), "admin.listen_on", "admin:", "unknown field",
               policy::ErrorCode::UnknownField);
  expect_error(with(kFull, "ipv6: \"fe80::1\"", "ip6: \"fe80::1\""), "gateway.ip6",
               "gateway:", "unknown field", policy::ErrorCode::UnknownField);
  expect_error(with(kFull, "debounce_ms", "debounce"), "policy.debounce",
               "policy:", "unknown field", policy::ErrorCode::UnknownField);
}

TEST(NodeConfigErrors, KeyGivenTwice) {
  expect_error(with(kFull, "mbufs: 16383\n", "mbufs: 16383\nmbufs: 32767\n"), "mbufs",
               "mbufs: 32767", "given twice");
  expect_error(with(kFull, "    pod: dev/frontend\n", "    pod: dev/frontend\n    pod: dev/x\n"),
               "ports[1].pod", "pod: dev/x", "given twice");
}

TEST(NodeConfigErrors, WrongTypes) {
  expect_error(with(kFull, "mbufs: 16383", "mbufs: lots"), "mbufs", "mbufs:", "\"lots\"");
  expect_error(with(kFull, "no_huge: true", "no_huge: maybe"), "eal.no_huge", "eal:", "\"maybe\"");
  expect_error(with(kMinimal, "eal: {lcores: [0, 1]}", "eal: [0, 1]"), "eal",
               "eal:", "expected a map");
  expect_error(with(kMinimal, "eal: {lcores: [0, 1]}", "eal: {lcores: 0-1}"), "eal.lcores",
               "eal:", "expected a list");
  expect_error(with(kFull, "    ports: [uplink, pod-backend]", "    ports: {uplink: 1}"),
               "workers[1].ports", "ports: {uplink", "expected a list");
  expect_error(with(kFull, "  - name: uplink", "  - name: [uplink]"), "ports[0].name",
               "name: [uplink]", "expected a string");
  expect_error(with(kFull, "rejudge_established: false", "rejudge_established: 0"),
               "conntrack.rejudge_established", "conntrack:", "\"0\"");
}

TEST(NodeConfigErrors, MissingRequiredFields) {
  using policy::ErrorCode;
  expect_error(with(kFull, "node_name: node-1\n", ""), "node_name", "eal:", "missing",
               ErrorCode::MissingField);
  expect_error(with(kMinimal,
                    "ports:\n  - name: pod-a\n    role: pod\n    devargs: net_ring0\n"
                    "    mac: \"02:00:00:00:00:0a\"\n",
                    ""),
               "ports", "node_name:", "missing", ErrorCode::MissingField);
  expect_error(with(kMinimal, "workers:\n  - lcore: 1\n", ""), "workers", "node_name:", "missing",
               ErrorCode::MissingField);
  expect_error(with(kMinimal, "eal: {lcores: [0, 1]}", "eal: {no_huge: true}"), "eal.lcores",
               "eal:", "missing", ErrorCode::MissingField);
  expect_error(with(kFull, "    devargs: \"0000:3b:00.1\"\n", ""), "ports[0].devargs",
               "- name: uplink", "missing", ErrorCode::MissingField);
  expect_error(with(kFull, "  - name: uplink\n    role: uplink\n", "  - role: uplink\n"),
               "ports[0].name", "- role: uplink", "missing", ErrorCode::MissingField);
  expect_error(with(kFull, "    role: pod\n    devargs: \"net_vhost1", "    devargs: \"net_vhost1"),
               "ports[2].role", "- name: pod-backend", "missing", ErrorCode::MissingField);
  expect_error(with(kFull, "  - lcore: 2\n    ports:", "  - ports:"), "workers[1].lcore",
               "- ports: [uplink, pod-backend]", "missing", ErrorCode::MissingField);
  expect_error(with(kMinimal, "workers:\n  - lcore: 1\n", "workers: []\n"), "workers",
               "workers:", "no workers");
}

TEST(NodeConfigErrors, PodPortsNeedAMacAndTheUplinkANextHop) {
  using policy::ErrorCode;
  expect_error(with(kFull, "    mac: \"02:00:00:00:00:02\"\n", ""), "ports[2].mac",
               "- name: pod-backend", "missing", ErrorCode::MissingField);
  expect_error(with(kFull, "    next_hop_mac: \"52:54:00:12:34:56\"\n", ""),
               "ports[0].next_hop_mac", "- name: uplink", "missing", ErrorCode::MissingField);
  expect_error(with(kFull, "    next_hop_mac: \"52:54:00:12:34:56\"\n",
                    "    next_hop_mac: \"52:54:00:12:34:56\"\n    mac: \"02:00:00:00:00:09\"\n"),
               "ports[0].mac", "02:00:00:00:00:09", "next_hop_mac?");
  expect_error(with(kFull, "    pod: dev/frontend\n",
                    "    pod: dev/frontend\n    next_hop_mac: \"02:00:00:00:00:09\"\n"),
               "ports[1].next_hop_mac", "02:00:00:00:00:09", "only the uplink");
  expect_error(with(kFull, "    next_hop_mac: \"52:54:00:12:34:56\"\n",
                    "    next_hop_mac: \"52:54:00:12:34:56\"\n    pod: dev/x\n"),
               "ports[0].pod", "pod: dev/x", "no pod");
}

TEST(NodeConfigErrors, DuplicatePorts) {
  expect_error(with(kFull, "  - name: pod-backend", "  - name: pod-frontend  # again"),
               "ports[2].name", "# again", "\"pod-frontend\" is already the name of ports[1]");
  expect_error(with(kFull, "\"net_vhost1,iface=/run/palisade/backend.sock,client=1,queues=2\"",
                    "\"net_vhost0,iface=/run/palisade/frontend.sock,client=1,queues=2\"  # again"),
               "ports[2].devargs", "# again", "is already the device of ports[1]");
  expect_error(with(kFull, "net_vhost1,iface=/run/palisade/backend.sock",
                    "net_vhost0,iface=/run/palisade/backend.sock"),
               "ports[2].devargs", "backend.sock", "\"net_vhost0\" is already ports[1]");
}

TEST(NodeConfigErrors, AtMostOneUplink) {
  std::string text =
      with(kFull, "  - name: pod-backend\n    role: pod",
           "  - name: pod-backend\n    role: uplink\n    next_hop_mac: \"52:54:00:00:00:01\"");
  text = with(text, "    mac: \"02:00:00:00:00:02\"\n", "");
  expect_error(text, "ports[2].role", "role: uplink\n    next_hop_mac: \"52:54:00:00:00:01\"",
               "ports[0] is already the uplink");
}

TEST(NodeConfigErrors, BadDevargs) {
  expect_error(with(kFull, "\"0000:3b:00.1\"", "\"3b:00\""), "ports[0].devargs", "3b:00",
               "\"3b:00\" is neither a PCI address");
  expect_error(with(kFull, "\"0000:3b:00.1\"", "\"net vhost\""), "ports[0].devargs", "net vhost",
               "neither");
}

TEST(NodeConfigErrors, WorkerLcores) {
  expect_error(with(kFull, "  - lcore: 2", "  - lcore: 3"), "workers[1].lcore", "lcore: 3",
               "lcore 3 is not in eal.lcores [0,1,2]");
  expect_error(with(kFull, "  - lcore: 2", "  - lcore: 0"), "workers[1].lcore", "- lcore: 0",
               "is the main lcore");
  expect_error(with(kFull, "  - lcore: 2", "  - lcore: 1"), "workers[1].lcore",
               "- lcore: 1\n    ports: [uplink, pod-backend]", "already runs workers[0]");
  expect_error(with(kFull, "main_lcore: 0", "main_lcore: 7"), "eal.main_lcore",
               "eal:", "lcore 7 is not in eal.lcores");
  expect_error(with(kFull, "lcores: [0, 1, 2]", "lcores: [0, 1, 2, 3]"), "eal.lcores[3]",
               "eal:", "lcore 3 is neither eal.main_lcore nor a worker's lcore");
  expect_error(with(kFull, "lcores: [0, 1, 2]", "lcores: [0, 1, 2, 1]"), "eal.lcores[3]",
               "eal:", "listed twice");
  expect_error(with(kFull, "lcores: [0, 1, 2]", "lcores: [0, 1, 2, 999]"), "eal.lcores[3]",
               "eal:", "999 is out of range");
}

TEST(NodeConfigErrors, WorkerPorts) {
  expect_error(with(kFull, "[uplink, pod-backend]", "[uplink, pod-backnd]"), "workers[1].ports[1]",
               "pod-backnd", "\"pod-backnd\" is not the name of a port");
  expect_error(with(kFull, "[uplink, pod-backend]", "[uplink, uplink]"), "workers[1].ports[1]",
               "[uplink, uplink]", "listed twice");
  expect_error(with(kFull, "[uplink, pod-backend]", "[uplink]"), "ports[2]", "- name: pod-backend",
               "\"pod-backend\" is polled by no worker");
}

TEST(NodeConfigErrors, BadMacs) {
  expect_error(with(kFull, "\"02:00:00:00:00:01\"", "\"02:00:00:00:00\""), "ports[1].mac",
               "02:00:00:00:00\"", "\"02:00:00:00:00\" is not a MAC address");
  expect_error(with(kFull, "\"02:00:00:00:00:01\"", "\"01:00:5e:00:00:01\""), "ports[1].mac",
               "01:00:5e", "multicast");
  expect_error(with(kFull, "\"52:54:00:12:34:56\"", "\"00:00:00:00:00:00\""),
               "ports[0].next_hop_mac", "00:00:00:00:00:00", "zero address");
  expect_error(with(kFull, "mac: \"ee:ee:ee:ee:ee:ee\"", "mac: \"ee:ee:ee:ee:ee:eg\""),
               "gateway.mac", "gateway:", "\"ee:ee:ee:ee:ee:eg\"");
  expect_error(with(kFull, "\"02:00:00:00:00:02\"", "\"EE:EE:EE:EE:EE:EE\""), "ports[2].mac",
               "\"EE:", "is the gateway's MAC");
}

TEST(NodeConfigErrors, GatewayAddressesHaveTheirFamily) {
  expect_error(with(kFull, "ipv4: 169.254.1.1", "ipv4: \"fe80::1\""), "gateway.ipv4",
               "gateway:", "\"fe80::1\" is an IPv6 address; expected IPv4");
  expect_error(with(kFull, "ipv6: \"fe80::1\"", "ipv6: 169.254.1.1"), "gateway.ipv6",
               "gateway:", "\"169.254.1.1\" is an IPv4 address; expected IPv6");
  expect_error(with(kFull, "ipv4: 169.254.1.1", "ipv4: 169.254.1"), "gateway.ipv4",
               "gateway:", "\"169.254.1\" is not an IP address");
}

TEST(NodeConfigErrors, PodIsNamespaceSlashName) {
  for (const char* bad : {"frontend", "dev/", "/frontend", "Dev/frontend", "dev/front/end"}) {
    SCOPED_TRACE(bad);
    expect_error(with(kFull, "pod: dev/frontend", std::string("pod: \"") + bad + "\""),
                 "ports[1].pod", "pod: \"", "is not namespace/name");
  }
}

TEST(NodeConfigErrors, AbsurdNumbers) {
  expect_error(with(kFull, "max_flows: 65536", "max_flows: 0"), "conntrack.max_flows",
               "conntrack:", "0 is out of range");
  expect_error(with(kFull, "max_flows: 65536", "max_flows: 4294967295"), "conntrack.max_flows",
               "conntrack:", "out of range");
  expect_error(with(kFull, "udp_timeout: 45", "udp_timeout: 0"), "conntrack.udp_timeout",
               "conntrack:", "0 is out of range");
  expect_error(with(kFull, "memory_mb: 1024", "memory_mb: 2"), "eal.memory_mb",
               "eal:", "2 is out of range");
  expect_error(with(kFull, "mtu: 9000", "mtu: 9703"), "ports[1].mtu", "mtu",
               "9703 is out of range [68, 9702]");
  expect_error(with(kFull, "mtu: 9000", "mtu: 67"), "ports[1].mtu", "mtu",
               "67 is out of range [68, 9702]");
  expect_error(with(kFull, "rx_descriptors: 512", "rx_descriptors: 1000"),
               "ports[1].rx_descriptors", "rx_descriptors", "1000 is not a power of two");
  expect_error(with(kFull, "tx_descriptors: 2048", "tx_descriptors: 16"), "ports[1].tx_descriptors",
               "tx_descriptors", "16 is out of range [32, 32768]");
  expect_error(with(kFull, "debounce_ms: 250", "debounce_ms: 600000"), "policy.debounce_ms",
               "policy:", "out of range");
  expect_error(with(kFull, "debounce_ms: 250", "debounce_ms: 250, cilium_cidr_match_mode: [node]"),
               "policy.cilium_cidr_match_mode[0]", "policy:", "\"node\" is not a CIDR match mode");
}

TEST(NodeConfigErrors, MbufsMustFillTheRings) {
  // rx 2x1024 + 512 + 1024, tx 3 ports x 2 queues: 2048 + 2x2048 + 2048; plus 3 x (256 + 32).
  expect_error(with(kFull, "mbufs: 16383", "mbufs: 12000"), "mbufs", "mbufs:",
               "12000 mbufs cannot fill the rings: the ports' descriptors (11776) plus 256 cached "
               "and 32 in flight per lcore (3 lcores) need at least 12640");
  // Left out, the default is checked too, and the error still names the field.
  expect_error(with(kFull, "mbufs: 16383\n", ""), "mbufs", "node_name:", "the default 8191 mbufs");
  expect_error(
      with(with(kFull, "mbufs: 16383", "mbufs: 1000000"), "memory_mb: 1024", "memory_mb: 512"),
      "mbufs", "mbufs:", "more than eal.memory_mb (512)");
}

TEST(NodeConfigErrors, Queues) {
  expect_error(with(kFull, "    pod: dev/frontend\n", "    pod: dev/frontend\n    rx_queues: 2\n"),
               "ports[1].rx_queues", "rx_queues", "2 rx queues, but 1 worker(s) poll the port");
  expect_error(with(kFull, "    pod: dev/frontend\n", "    pod: dev/frontend\n    tx_queues: 1\n"),
               "ports[1].tx_queues", "tx_queues", "1 tx queues for 2 workers");
  std::string more = with(kFull, "    role: uplink\n", "    role: uplink\n    tx_queues: 3\n");
  EXPECT_EQ(parse_ok(more).ports[0].tx_queues, 3);  // more than the workers: allowed
}

TEST(NodeConfigErrors, VhostOffersTheQueuesItsDevargsSay) {
  expect_error(with(kFull, "backend.sock,client=1,queues=2", "backend.sock,client=1"),
               "ports[2].devargs", "backend.sock",
               "net_vhost offers 1 queue(s) (queues=1, the default), but the port needs 1 rx and "
               "2 tx (every worker sends on a queue of its own): add queues=2");
}

TEST(NodeConfigErrors, PolicySource) {
  using policy::ErrorCode;
  expect_error(with(kFull, "source: directory, directory: ./policies, ", "source: directory, "),
               "policy.directory", "policy:", "required when policy.source is directory",
               ErrorCode::MissingField);
  expect_error(with(kFull, "source: directory", "source: kubernetes"), "policy.directory",
               "policy:", "only with source: directory");
  expect_error(with(kFull, "source: directory", "source: git"), "policy.source",
               "policy:", "\"git\" is not a policy source");
  expect_error(with(kFull, "debounce_ms: 250", "debounce_ms: 250, kubeconfig: /k"),
               "policy.kubeconfig", "policy:", "only with source: kubernetes");
  expect_error(with(kMinimal, "policy: {directory: /etc/palisade/policies}\n", ""), "policy",
               "node_name:", "missing", ErrorCode::MissingField);
}

TEST(NodeConfigErrors, ExtraArgsMayNotRepeatAField) {
  expect_error(with(kFull, "extra_args: [--no-telemetry]", "extra_args: [-l, 0-3]"),
               "eal.extra_args[0]", "eal:", "\"-l\" is set from eal.lcores");
  expect_error(with(kFull, "extra_args: [--no-telemetry]", "extra_args: [\"--file-prefix=x\"]"),
               "eal.extra_args[0]", "eal:", "set from eal.file_prefix");
  expect_error(with(kFull, "extra_args: [--no-telemetry]", "extra_args: [--vdev, net_null0]"),
               "eal.extra_args[0]", "eal:", "set from ports[].devargs");
}

TEST(NodeConfigErrors, OtherStrings) {
  expect_error(with(kFull, "node_name: node-1", "node_name: Node_1"), "node_name",
               "node_name:", "\"Node_1\" is not a Kubernetes node name");
  expect_error(with(kFull, "listen: \"127.0.0.1:9191\"", "listen: \"127.0.0.1\""), "admin.listen",
               "admin:", "\"127.0.0.1\" is not host:port");
  expect_error(with(kFull, "listen: \"127.0.0.1:9191\"", "listen: \"[::1]:70000\""), "admin.listen",
               "admin:", "is not host:port");
  expect_error(
      with(kFull, "role: pod\n    devargs: \"net_vhost1", "role: pods\n    devargs: \"net_vhost1"),
      "ports[2].role", "role: pods", "\"pods\" is not a port role");
  expect_error(with(kFull, "file_prefix: palisade", "file_prefix: a/b"), "eal.file_prefix",
               "eal:", "\"a/b\" is not a file name prefix");
  for (const char* ok : {"[::1]:9090", "localhost:9090", "0.0.0.0:80"}) {
    EXPECT_EQ(parse_ok(with(kFull, "127.0.0.1:9191", ok)).admin.listen, ok);
  }
}

TEST(NodeConfigErrors, YamlSyntaxNamesItsLine) {
  std::string text = with(kFull, "mbufs: 16383", "mbufs: [16383");
  auto r = parse_node_config(text, "node.yaml");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, policy::ErrorCode::Syntax);
  EXPECT_TRUE(r.error().source.starts_with("node.yaml:")) << r.error().to_string();
}

TEST(NodeConfigErrors, EmptyFileNeedsANodeName) {
  auto r = parse_node_config("", "node.yaml");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().field, "node_name");
}

TEST(NodeConfigErrors, UnreadableFile) {
  auto r = load_node_config("/nonexistent/palisade/node.yaml");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, policy::ErrorCode::Io);
  EXPECT_EQ(r.error().to_string(), "/nonexistent/palisade/node.yaml: cannot read the node file");
}

TEST(NodeConfig, LoadReadsTheFileAndResolvesAgainstIt) {
  auto dir = std::filesystem::temp_directory_path() / "palisade_node_config_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "node.yaml") << kFull;
  auto r = load_node_config((dir / "node.yaml").string());
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->policy.directory, (dir / "policies").string());
  std::filesystem::remove_all(dir);
}

TEST(NodeConfig, QueuesAreTheWorkersRankAmongAPortsPollers) {
  NodeConfig c = parse_ok(kFull);
  auto q0 = polled_queues(c, 0);
  auto q1 = polled_queues(c, 1);
  ASSERT_EQ(q0.size(), 2u);
  ASSERT_EQ(q1.size(), 2u);
  EXPECT_EQ(q0[0].port, 0u);  // uplink, queue 0
  EXPECT_EQ(q0[0].queue, 0);
  EXPECT_EQ(q0[1].port, 1u);  // pod-frontend, queue 0
  EXPECT_EQ(q0[1].queue, 0);
  EXPECT_EQ(q1[0].port, 0u);  // uplink, queue 1
  EXPECT_EQ(q1[0].queue, 1);
  EXPECT_EQ(q1[1].port, 2u);  // pod-backend, queue 0
  EXPECT_EQ(q1[1].queue, 0);
}

TEST(NodeConfig, PlanNamesEveryWorkersQueues) {
  std::string plan = describe_plan(parse_ok(kFull));
  for (const char* want : {
           "node node-1 (/etc/palisade/node.yaml)",
           "eal: -l 0,1,2 --main-lcore 0 -m 1024 --no-huge --file-prefix palisade "
           "-a 0000:3b:00.1 --vdev net_vhost0,iface=/run/palisade/frontend.sock,client=1,queues=2 "
           "--vdev net_vhost1,iface=/run/palisade/backend.sock,client=1,queues=2 "
           "--no-telemetry",
           "worker 0 on lcore 1: polls uplink rx queue 0, pod-frontend rx queue 0; sends on tx "
           "queue 0 of every port",
           "worker 1 on lcore 2: polls uplink rx queue 1, pod-backend rx queue 0; sends on tx "
           "queue 1 of every port",
           "pod dev/frontend, MAC 02:00:00:00:00:01",
           "pod from the annotation palisade.io/port=pod-backend",
           "next hop MAC 52:54:00:12:34:56",
           "gateway: 169.254.1.1, fe80::1, MAC ee:ee:ee:ee:ee:ee",
           "policy: directory /etc/palisade/policies, debounce 250 ms",
           "at most 65536 flows",
           "admin: http://127.0.0.1:9191",
       }) {
    EXPECT_NE(plan.find(want), std::string::npos) << "missing: " << want << "\nin:\n" << plan;
  }
}

TEST(NodeConfig, EalArgumentsSkipPciWhenNoPortIsOne) {
  std::vector<std::string> args = eal_arguments(parse_ok(kMinimal));
  EXPECT_EQ(args, (std::vector<std::string>{"-l", "0,1", "--main-lcore", "0", "-m", "1024",
                                            "--file-prefix", "palisade", "--no-pci", "--vdev",
                                            "net_ring0"}));
}

TEST(Mac, ParseAndFormat) {
  EXPECT_EQ(format_mac(mac("02:AB:cd:00:ff:10")), "02:ab:cd:00:ff:10");
  for (const char* bad : {"", "02:00:00:00:00", "02:00:00:00:00:00:00", "02-00-00-00-00-01",
                          "0g:00:00:00:00:01", "02:00:00:00:00:1", " 02:00:00:00:00:01"}) {
    EXPECT_FALSE(parse_mac(bad).has_value()) << bad;
  }
}

// Every example node file in config/ passes the parser that the daemon uses.
TEST(NodeConfig, ExampleFilesLoad) {
  const std::filesystem::path config = std::filesystem::path(PALISADE_SOURCE_ROOT) / "config";
  int found = 0;
  for (const auto& entry : std::filesystem::directory_iterator(config)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with("node") || !name.ends_with(".yaml")) {
      continue;
    }
    ++found;
    auto r = load_node_config(entry.path().string());
    EXPECT_TRUE(r.has_value()) << r.error().to_string();
    if (r) {
      EXPECT_FALSE(describe_plan(*r).empty());
    }
  }
  EXPECT_GE(found, 1);
}

}  // namespace
}  // namespace palisade::control
