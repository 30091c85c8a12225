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

#include "policy/error.h"
#include "policy/ip.h"

namespace palisade::control {

using MacAddress = std::array<uint8_t, 6>;

struct EalConfig {
  std::vector<uint32_t> lcores;   // every lcore the process uses, main lcore included
  uint32_t main_lcore = 0;
  bool no_huge = false;           // true: anonymous memory (tests, demos); false: hugepages
  size_t memory_mb = 1024;        // -m
  std::string file_prefix = "palisade";
  std::vector<std::string> extra_args;  // passed to rte_eal_init as they are
};

struct WorkerConfig {
  uint32_t lcore = 0;
  std::vector<std::string> ports;  // port names this worker polls (queue = worker's index
                                   // among the port's pollers); empty: every port
};

enum class PortRole : uint8_t { Uplink, Pod };

struct PortConfig {
  std::string name;          // unique; how workers and logs refer to the port
  PortRole role = PortRole::Pod;
  std::string devargs;       // a PCI address (0000:3b:00.1) or a vdev string (net_vhost0,...)
  // Pod ports: which pod is behind the port. Either a fixed namespace/name, or discovered:
  // the pod whose annotation `palisade.io/port` equals this port's name.
  std::optional<std::string> pod;  // "namespace/name"; unset: discovered by annotation
  std::optional<MacAddress> mac;   // pod ports: the pod's MAC (anti-spoofing); unset: the
                                   // first source MAC seen is not trusted, frames are dropped
  // Uplink ports: the next hop's MAC (the router or the peer node) for routed traffic.
  std::optional<MacAddress> next_hop_mac;
  uint16_t rx_queues = 1, tx_queues = 1;  // defaults: one per worker polling the port
  uint16_t rx_descriptors = 1024, tx_descriptors = 1024;
};

struct GatewayConfig {
  // The address every pod uses as its default gateway, answered by proxy ARP / NDP
  // (Calico's routed model uses 169.254.1.1 and fe80::1 on every workload interface).
  policy::IpAddr ipv4;           // default 169.254.1.1
  policy::IpAddr ipv6;           // default fe80::1
  MacAddress mac{};              // default ee:ee:ee:ee:ee:ee, as Calico
};

enum class PolicySourceKind : uint8_t { Directory, Kubernetes };

struct PolicySourceConfig {
  PolicySourceKind kind = PolicySourceKind::Directory;
  std::string directory;             // Directory: manifests or scenario files, watched
  std::optional<std::string> kubeconfig;  // Kubernetes: unset means in-cluster
  uint32_t debounce_ms = 100;        // changes closer together than this are one snapshot
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
};

struct AdminConfig {
  std::string listen = "127.0.0.1:9090";  // host:port of /metrics, /healthz, /readyz
};

struct NodeConfig {
  std::string path;                 // the file it was read from
  std::string node_name;            // whose endpoints this node judges
  EalConfig eal;
  uint32_t mbufs = 8191;            // mbuf pool size (per socket)
  std::vector<WorkerConfig> workers;
  std::vector<PortConfig> ports;    // at least one; at most one uplink
  GatewayConfig gateway;
  PolicySourceConfig policy;
  ConntrackConfig conntrack;
  AdminConfig admin;

  const PortConfig* uplink() const;
};

// Reads and validates a node file. Relative paths in it (policy.directory) are resolved
// against the file's directory.
policy::Result<NodeConfig> load_node_config(const std::string& path);
// Same, from text (for tests); `path` only names it in errors.
policy::Result<NodeConfig> parse_node_config(const std::string& text, const std::string& path);

// The plan `palisade --check` prints: lcores, workers and what they poll, ports and their
// pods, policy source, limits.
std::string describe_plan(const NodeConfig& config);

std::string format_mac(const MacAddress& mac);
std::optional<MacAddress> parse_mac(const std::string& text);

}  // namespace palisade::control
