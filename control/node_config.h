// NodeConfig: the node file (config/README.md documents it field by field). Everything the
// daemon needs to start on a node: EAL settings, workers, ports, the pods' gateway, the policy
// source, conntrack and the admin listener. Read once at start; `palisade --check` prints the
// plan it describes.
//
// Errors name the file, the line and the field ("node.yaml:12: ports[2].mac: ..."); unknown
// fields are errors too, so a misspelt setting is never silently ignored.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/hot/ports.h"
#include "dataplane/queue_plan.h"
#include "policy/error.h"
#include "policy/ip.h"

namespace palisade::control {

struct EalConfig {
  std::vector<uint32_t> lcores;  // every lcore the process uses, main lcore included
  uint32_t main_lcore = 0;       // in the file: defaults to the first of lcores, as in DPDK
  bool no_huge = false;          // true: anonymous memory (tests, demos); false: hugepages
  size_t memory_mb = 1024;       // -m
  std::string file_prefix = "palisade";
  std::vector<std::string> extra_args;  // passed to rte_eal_init as they are
};

struct WorkerConfig {
  uint32_t lcore = 0;              // in eal.lcores, not the main lcore, one worker per lcore
  std::vector<std::string> ports;  // port names this worker polls (queue = worker's index
                                   // among the port's pollers); empty: every port
};

enum class PortRole : uint8_t { Uplink, Pod };

struct PortConfig {
  std::string name;  // unique; how workers and logs refer to the port
  PortRole role = PortRole::Pod;
  std::string devargs;  // a PCI address (0000:3b:00.1) or a vdev string (net_vhost0,...)
  // Pod ports: which pod is behind the port. Either a fixed namespace/name, or discovered:
  // the pod whose annotation `palisade.io/port` equals this port's name.
  std::optional<std::string> pod;  // "namespace/name"; unset: discovered by annotation
  // Pod ports: the pod's MAC, required (anti-spoofing: frames from any other source MAC are
  // dropped; nothing is learned from traffic). Always set on a pod port that the parser
  // returned, never on the uplink.
  std::optional<dataplane::Mac> mac;
  // The uplink: the next hop's MAC (the router or the peer node) for routed traffic.
  // Required on the uplink (nothing resolves it at run time), never set on a pod port.
  std::optional<dataplane::Mac> next_hop_mac;
  // After parsing: rx_queues = the number of workers polling the port (worker r among them
  // polls queue r; see polled_queues); tx_queues = the number of workers, since every worker
  // may send to every port, on its own queue (its index in NodeConfig::workers).
  uint16_t rx_queues = 1, tx_queues = 1;
  uint16_t rx_descriptors = 1024, tx_descriptors = 1024;  // powers of two, 32..32768
  // The L3 MTU the device is set to (rte_eth_dev_set_mtu); nullopt: the device's default.
  std::optional<uint16_t> mtu;
};

struct GatewayConfig {
  // The address every pod uses as its default gateway, answered by proxy ARP / NDP
  // (Calico's routed model uses 169.254.1.1 and fe80::1 on every workload interface).
  policy::IpAddr ipv4{4, {169, 254, 1, 1}};
  policy::IpAddr ipv6{6, {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};  // fe80::1
  dataplane::Mac mac{0xee, 0xee, 0xee, 0xee, 0xee, 0xee};                          // as Calico
};

enum class PolicySourceKind : uint8_t { Directory, Kubernetes };

struct PolicySourceConfig {
  PolicySourceKind kind = PolicySourceKind::Directory;
  std::string directory;                  // Directory: manifests or scenario files, watched
                                          // (relative in the file: to the file's directory)
  std::optional<std::string> kubeconfig;  // Kubernetes: unset means in-cluster (relative
                                          // in the file: to the file's directory)
  uint32_t debounce_ms = 100;             // changes closer together than this are one snapshot
  // A rejected policy object with no good version holds the endpoints it selects isolated
  // (policy/store.h); false: nothing stands in its place (it is only reported).
  bool hold_rejected = true;
  // Cilium's policy-cidr-match-mode: [nodes] makes CIDR peers select nodes too.
  bool cilium_cidr_matches_nodes = false;
};

struct ConntrackConfig {
  uint32_t max_flows = 1u << 20;
  // Idle timeouts in seconds (Cilium's defaults).
  uint32_t tcp_syn_timeout = 60;
  uint32_t tcp_established_timeout = 21600;
  uint32_t tcp_closing_timeout = 10;
  uint32_t udp_timeout = 60;
  uint32_t icmp_timeout = 60;
  uint32_t other_timeout = 60;
  // true: established connections are re-judged by each new policy generation, and cut when
  // it denies them; false: they keep their first verdict until they close or expire.
  bool rejudge_established = true;
  // TCP segments must lie in their connection's window (dataplane/hot/tcp_window.h).
  bool tcp_window_tracking = true;
  // A TCP segment of no connection that is not a SYN is judged as a new connection (picked
  // up mid-stream, its window unchecked) instead of dropped as no_connection.
  bool tcp_loose_pickup = false;
  // The file that keeps the table across restarts (dataplane/conntrack_file.h), resolved:
  // the node file's `state_file`, or by default <hugetlbfs mount>/<file_prefix>-conntrack
  // with hugepages and /dev/shm/<file_prefix>-conntrack without; empty for `none` (the
  // table then dies with the process).
  std::string state_file;
};

struct AdminConfig {
  std::string listen = "127.0.0.1:9090";  // host:port of /metrics, /healthz, /readyz
};

struct NodeConfig {
  std::string path;       // the file it was read from
  std::string node_name;  // whose endpoints this node judges
  EalConfig eal;
  uint32_t mbufs = 8191;  // mbuf pool size (per socket)
  std::vector<WorkerConfig> workers;
  std::vector<PortConfig> ports;  // at least one; at most one uplink
  GatewayConfig gateway;
  PolicySourceConfig policy;
  ConntrackConfig conntrack;
  AdminConfig admin;

  const PortConfig* uplink() const;  // nullptr when the node has none
};

// Reads and validates a node file. Relative paths in it (policy.directory, policy.kubeconfig)
// are resolved against the file's directory. The first error stops it; every rule the file
// must follow is in config/README.md.
policy::Result<NodeConfig> load_node_config(const std::string& path);
// Same, from text (for tests); `path` only names it in errors.
policy::Result<NodeConfig> parse_node_config(const std::string& text, const std::string& path);

// The plan `palisade --check` prints: lcores, workers and what they poll, ports and their
// pods, policy source, limits.
std::string describe_plan(const NodeConfig& config);

// What worker `worker` (an index in config.workers) receives from: (index in config.ports,
// rx queue) pairs, in the order of its `ports` list (of config.ports when that is empty). Its
// queue on a port is its rank, in file order, among the workers that poll that port.
std::vector<dataplane::PolledQueue> polled_queues(const NodeConfig& config, size_t worker);

// The arguments for rte_eal_init after the program name: -l, --main-lcore, -m, --no-huge,
// --file-prefix, one -a per PCI port and one --vdev per virtual port (--no-pci when no port
// is a PCI device, so that EAL leaves alone devices bound to vfio-pci for others), then
// eal.extra_args as they are.
std::vector<std::string> eal_arguments(const NodeConfig& config);

// The ethdev name of a port's devargs: "net_vhost0,iface=..." -> "net_vhost0".
std::string device_name(const std::string& devargs);

// "02:00:00:00:00:01": six two-digit hex bytes separated by colons (either case in; lower out).
std::string format_mac(const dataplane::Mac& mac);
std::optional<dataplane::Mac> parse_mac(const std::string& text);

}  // namespace palisade::control
