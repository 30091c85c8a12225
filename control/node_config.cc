#include "control/node_config.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include "dataplane/hot/burst.h"
#include "policy/yaml_reader.h"

namespace palisade::control {

using policy::DecodeFailure;
using policy::Error;
using policy::ErrorCode;
using policy::IpAddr;
using policy::Result;
using policy::YamlReader;

namespace {

// Limits. Each sits here because the parser is where a bad value can still name its line.
//
// Workers receive and send bursts of kBurst packets: a ring shorter than one burst cannot
// take one.
using dataplane::kBurst;
constexpr int64_t kMinDescriptors = kBurst;
// Ring sizes are uint16_t in rte_eth_{rx,tx}_queue_setup: 32768 is the largest power of two
// that fits, and more than common NICs accept.
constexpr int64_t kMaxDescriptors = 32768;
constexpr int64_t kMinMtu = 68, kMaxMtu = 9702;
// Queues per port: one per worker, and there are fewer workers than RTE_MAX_LCORE.
constexpr int64_t kMaxQueues = RTE_MAX_LCORE;
// The mbufs each lcore may keep in its mempool cache (the dataplane's choice, as l3fwd's).
constexpr uint64_t kMempoolCache = 256;
// One mbuf with the default data room: 2176 bytes (RTE_MBUF_DEFAULT_BUF_SIZE) + 128 of struct
// rte_mbuf + 64 of mempool object header.
constexpr uint64_t kMbufBytes = 2368;
// 2^28 flows of 96 bytes, in a table 5/4 that size, is 30 GiB: past any node this runs
// on, so a bigger number is a typo.
constexpr int64_t kMaxFlows = int64_t{1} << 28;
// An idle timeout over a week keeps dead flows around for longer than nodes stay up; the
// default for established TCP is 6 hours (Cilium's).
constexpr int64_t kMaxTimeoutS = 7 * 24 * 3600;
// Below 64 MiB nothing fits (mbuf pool, conntrack, ACL tables): such a value is a unit
// mistake (GiB for MiB). 1 TiB is the other end.
constexpr int64_t kMinMemoryMb = 64;
constexpr int64_t kMaxMemoryMb = int64_t{1} << 20;
// Changes closer than this are merged into one snapshot; a minute and more would make a
// policy change look lost.
constexpr int64_t kMaxDebounceMs = 60000;

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

[[noreturn]] void fail_at(int line, const std::string& field, const std::string& message,
                          ErrorCode code = ErrorCode::InvalidField) {
  Error e;
  e.code = code;
  e.source = line > 0 ? std::to_string(line) : std::string();
  e.field = field;
  e.message = message;
  throw DecodeFailure{std::move(e)};
}

// yaml-cpp keeps both entries of a key given twice and lookups see only the first, so the
// second would be silently ignored: refuse it, wherever it is.
void reject_duplicate_keys(const YAML::Node& node, const std::string& path) {
  if (node.IsMap()) {
    std::set<std::string> seen;
    for (const auto& kv : node) {
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
      std::string child = path.empty() ? key : path + "." + key;
      if (!seen.insert(key).second) {
        fail_at(kv.first.Mark().line + 1, child, "given twice (the first would win silently)");
      }
      reject_duplicate_keys(kv.second, child);
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      reject_duplicate_keys(node[i], path + "[" + std::to_string(i) + "]");
    }
  }
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 1123 label, as Kubernetes checks namespaces: [a-z0-9]([-a-z0-9]*[a-z0-9])?, 63 at most.
bool is_dns_label(std::string_view s) {
  return !s.empty() && s.size() <= 63 && is_lower_alnum(s.front()) && is_lower_alnum(s.back()) &&
         std::ranges::all_of(s, [](char c) { return is_lower_alnum(c) || c == '-'; });
}

// RFC 1123 subdomain, as Kubernetes checks node and pod names: labels joined by dots.
bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  for (size_t start = 0;;) {
    size_t dot = s.find('.', start);
    if (!is_dns_label(s.substr(start, dot == std::string_view::npos ? dot : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

// "0000:3b:00.1" or "3b:00.1", before any ",key=value" devargs.
bool is_pci_address(std::string_view s) {
  auto hex_run = [&](size_t at, size_t n) {
    return at + n <= s.size() && std::all_of(s.begin() + at, s.begin() + at + n, is_hex);
  };
  if (s.size() == 12) {  // domain:bus:device.function
    return hex_run(0, 4) && s[4] == ':' && hex_run(5, 2) && s[7] == ':' && hex_run(8, 2) &&
           s[10] == '.' && s[11] >= '0' && s[11] <= '7';
  }
  return s.size() == 7 && hex_run(0, 2) && s[2] == ':' && hex_run(3, 2) && s[5] == '.' &&
         s[6] >= '0' && s[6] <= '7';
}

bool is_pci_port(const PortConfig& port) { return is_pci_address(device_name(port.devargs)); }

// net_vhost offers as many queues as its `queues=` devarg says (1 when absent): asking
// rte_eth_dev_configure for more fails at start.
std::optional<size_t> vhost_queue_limit(const std::string& devargs) {
  if (!devargs.starts_with("net_vhost")) {
    return std::nullopt;
  }
  size_t at = devargs.find(",queues=");
  if (at == std::string::npos) {
    return 1;
  }
  return static_cast<size_t>(std::strtoul(devargs.c_str() + at + 8, nullptr, 10));
}

std::string join_numbers(const std::vector<uint32_t>& v) {
  std::string out;
  for (uint32_t x : v) {
    out += (out.empty() ? "" : ",") + std::to_string(x);
  }
  return out;
}

uint32_t read_u32(const YamlReader& r, int64_t min, int64_t max) {
  return static_cast<uint32_t>(r.integer(min, max));
}

dataplane::Mac read_mac(const YamlReader& r) {
  std::string text = r.str();
  std::optional<dataplane::Mac> mac = parse_mac(text);
  if (!mac) {
    r.fail(quote(text) +
           " is not a MAC address (six hex bytes separated by colons, as "
           "02:00:00:00:00:01)");
  }
  if (*mac == dataplane::Mac{}) {
    r.fail(quote(text) + " is the zero address");
  }
  if (((*mac)[0] & 1) != 0) {
    r.fail(quote(text) + " is a multicast address; a station's MAC is unicast");
  }
  return *mac;
}

IpAddr read_ip(const YamlReader& r, uint8_t family) {
  std::string text = r.str();
  std::optional<IpAddr> ip = IpAddr::parse(text);
  if (!ip) {
    r.fail(quote(text) + " is not an IP address");
  }
  if (ip->family != family) {
    r.fail(quote(text) + " is an IPv" + std::to_string(ip->family) + " address; expected IPv" +
           std::to_string(family));
  }
  return *ip;
}

uint16_t read_descriptors(const YamlReader& r) {
  auto n = static_cast<uint16_t>(r.integer(kMinDescriptors, kMaxDescriptors));
  if ((n & (n - 1)) != 0) {
    r.fail(std::to_string(n) + " is not a power of two (DPDK drivers size rings in powers of two)");
  }
  return n;
}

std::string resolve_path(const std::string& node_file, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute()) {
    return p.lexically_normal().string();
  }
  return (std::filesystem::path(node_file).parent_path() / p).lexically_normal().string();
}

// "127.0.0.1:9090", "[::1]:9090", "localhost:9090".
bool is_listen_address(const std::string& s) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return false;
  }
  std::string host = s.substr(0, colon);
  std::string port = s.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::ranges::all_of(port, [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  int number = std::stoi(port);
  if (number < 1 || number > 65535) {
    return false;
  }
  if (host.front() == '[') {
    std::optional<IpAddr> ip =
        host.back() == ']' ? IpAddr::parse(host.substr(1, host.size() - 2)) : std::nullopt;
    return ip && ip->family == 6;
  }
  if (std::optional<IpAddr> ip = IpAddr::parse(host)) {
    return ip->family == 4;
  }
  std::string lower = host;
  std::ranges::transform(lower, lower.begin(), [](char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return is_dns_subdomain(lower);
}

// EAL options that a field of the node file sets: given again in extra_args, one of the two
// would be ignored (or EAL would refuse to start with a less helpful message).
std::optional<std::string> eal_option_owner(const std::string& arg) {
  struct Owned {
    std::string_view option, owner;
  };
  static constexpr Owned kOwned[] = {{"-l", "eal.lcores"},
                                     {"-c", "eal.lcores"},
                                     {"--lcores", "eal.lcores"},
                                     {"--main-lcore", "eal.main_lcore"},
                                     {"--master-lcore", "eal.main_lcore"},
                                     {"-m", "eal.memory_mb"},
                                     {"--socket-mem", "eal.memory_mb"},
                                     {"--no-huge", "eal.no_huge"},
                                     {"--file-prefix", "eal.file_prefix"},
                                     {"-a", "ports[].devargs"},
                                     {"--allow", "ports[].devargs"},
                                     {"--vdev", "ports[].devargs"},
                                     {"--no-pci", "ports[].devargs"}};
  for (const Owned& o : kOwned) {
    bool is_short = o.option.size() == 2;
    bool match = is_short ? arg.starts_with(o.option)  // "-l", "-l0-3"
                          : arg == o.option || arg.starts_with(std::string(o.option) + "=");
    if (match) {
      return std::string(o.owner);
    }
  }
  return std::nullopt;
}

EalConfig read_eal(const YamlReader& r) {
  r.allow_only({"lcores", "main_lcore", "no_huge", "memory_mb", "file_prefix", "extra_args"});
  EalConfig eal;
  YamlReader lcores = r.at("lcores");
  for (const YamlReader& item : lcores.items()) {
    uint32_t lcore = read_u32(item, 0, RTE_MAX_LCORE - 1);
    if (std::ranges::find(eal.lcores, lcore) != eal.lcores.end()) {
      item.fail("lcore " + std::to_string(lcore) + " is listed twice");
    }
    eal.lcores.push_back(lcore);
  }
  if (eal.lcores.empty()) {
    lcores.fail("no lcores: the main lcore and every worker's lcore are needed");
  }
  eal.main_lcore = eal.lcores.front();
  if (auto main = r.get("main_lcore")) {
    eal.main_lcore = read_u32(*main, 0, RTE_MAX_LCORE - 1);
    if (std::ranges::find(eal.lcores, eal.main_lcore) == eal.lcores.end()) {
      main->fail("lcore " + std::to_string(eal.main_lcore) + " is not in eal.lcores [" +
                 join_numbers(eal.lcores) + "]");
    }
  }
  if (auto v = r.get("no_huge")) {
    eal.no_huge = v->boolean();
  }
  if (auto v = r.get("memory_mb")) {
    eal.memory_mb = v->integer(kMinMemoryMb, kMaxMemoryMb);
  }
  if (auto v = r.get("file_prefix")) {
    eal.file_prefix = v->str();
    if (eal.file_prefix.empty() || !std::ranges::all_of(eal.file_prefix, [](char c) {
          return is_alnum(c) || c == '-' || c == '_' || c == '.';
        })) {
      v->fail(quote(eal.file_prefix) +
              " is not a file name prefix (letters, digits, '-', '_', '.')");
    }
  }
  if (auto v = r.get("extra_args")) {
    for (const YamlReader& item : v->items()) {
      std::string arg = item.str();
      if (auto owner = eal_option_owner(arg)) {
        item.fail(quote(arg) + " is set from " + *owner + "; set it there");
      }
      eal.extra_args.push_back(std::move(arg));
    }
  }
  return eal;
}

struct PortRead {
  std::optional<YamlReader> rx_queues, tx_queues;  // as given, checked once workers are known
};

PortConfig read_port(const YamlReader& r, const std::vector<PortConfig>& before,
                     std::vector<YamlReader>& role_nodes, PortRead& read) {
  r.allow_only({"name", "role", "devargs", "pod", "mac", "next_hop_mac", "rx_queues", "tx_queues",
                "rx_descriptors", "tx_descriptors", "mtu"});
  PortConfig port;
  YamlReader name = r.at("name");
  port.name = name.str();
  if (port.name.empty() || port.name.size() > 63 || !is_alnum(port.name.front()) ||
      !std::ranges::all_of(
          port.name, [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; })) {
    name.fail(quote(port.name) +
              " is not a port name (1 to 63 letters, digits, '-', '_', '.'; a letter or digit "
              "first)");
  }
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i].name == port.name) {
      name.fail(quote(port.name) + " is already the name of ports[" + std::to_string(i) + "]");
    }
  }

  YamlReader role = r.at("role");
  std::string role_text = role.str();
  if (role_text == "uplink") {
    port.role = PortRole::Uplink;
    for (size_t i = 0; i < before.size(); ++i) {
      if (before[i].role == PortRole::Uplink) {
        role.fail("a second uplink; ports[" + std::to_string(i) +
                  "] is already the uplink (a node has at most one)");
      }
    }
  } else if (role_text == "pod") {
    port.role = PortRole::Pod;
  } else {
    role.fail(quote(role_text) + " is not a port role (uplink or pod)");
  }
  role_nodes.push_back(role);

  YamlReader devargs = r.at("devargs");
  port.devargs = devargs.str();
  std::string device = device_name(port.devargs);
  bool pci = is_pci_address(device);
  bool vdev = !device.empty() &&
              std::ranges::all_of(device, [](char c) { return is_lower_alnum(c) || c == '_'; }) &&
              !(device.front() >= '0' && device.front() <= '9');
  if (port.devargs.find_first_of(" \t\n") != std::string::npos || (!pci && !vdev)) {
    devargs.fail(quote(port.devargs) +
                 " is neither a PCI address (0000:3b:00.1[,options]) nor a virtual device "
                 "(net_vhost0,iface=...)");
  }
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i].devargs == port.devargs) {
      devargs.fail(quote(port.devargs) + " is already the device of ports[" + std::to_string(i) +
                   "]");
    }
    if (!pci && device_name(before[i].devargs) == device) {
      devargs.fail("virtual device " + quote(device) + " is already ports[" + std::to_string(i) +
                   "] (DPDK needs one name per virtual device: net_vhost0, net_vhost1, ...)");
    }
  }

  if (port.role == PortRole::Pod) {
    if (auto pod = r.get("pod")) {
      std::string text = pod->str();
      size_t slash = text.find('/');
      if (slash == std::string::npos || !is_dns_label(text.substr(0, slash)) ||
          !is_dns_subdomain(text.substr(slash + 1))) {
        pod->fail(quote(text) + " is not namespace/name (as dev/frontend)");
      }
      port.pod = text;
    }
    port.mac = read_mac(r.at("mac"));
    if (auto hop = r.get("next_hop_mac")) {
      hop->fail("a pod port has no next hop (only the uplink does)");
    }
  } else {
    if (auto pod = r.get("pod")) {
      pod->fail("the uplink has no pod (only pod ports do)");
    }
    if (auto mac = r.get("mac")) {
      mac->fail(
          "the uplink takes no mac (its own comes from the device; did you mean "
          "next_hop_mac?)");
    }
    port.next_hop_mac = read_mac(r.at("next_hop_mac"));
  }

  read.rx_queues = r.get("rx_queues");
  read.tx_queues = r.get("tx_queues");
  if (auto v = r.get("rx_descriptors")) {
    port.rx_descriptors = read_descriptors(*v);
  }
  if (auto v = r.get("tx_descriptors")) {
    port.tx_descriptors = read_descriptors(*v);
  }
  if (auto v = r.get("mtu")) {
    // 68: the least IPv4 lets a link have (RFC 791); 1280 would be IPv6's, but an IPv4-only
    // link may go lower. 9702: the largest jumbo frame any DPDK driver accepts. Whether this
    // device takes it is its driver's answer, at start.
    port.mtu = static_cast<uint16_t>(v->integer(kMinMtu, kMaxMtu));
  }
  return port;
}

WorkerConfig read_worker(const YamlReader& r, const EalConfig& eal,
                         const std::vector<WorkerConfig>& before,
                         const std::vector<PortConfig>& ports) {
  r.allow_only({"lcore", "ports"});
  WorkerConfig w;
  YamlReader lcore = r.at("lcore");
  w.lcore = read_u32(lcore, 0, RTE_MAX_LCORE - 1);
  std::string n = std::to_string(w.lcore);
  if (std::ranges::find(eal.lcores, w.lcore) == eal.lcores.end()) {
    lcore.fail("lcore " + n + " is not in eal.lcores [" + join_numbers(eal.lcores) + "]");
  }
  if (w.lcore == eal.main_lcore) {
    lcore.fail("lcore " + n + " is the main lcore (the control plane's); a worker needs its own");
  }
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i].lcore == w.lcore) {
      lcore.fail("lcore " + n + " already runs workers[" + std::to_string(i) + "]");
    }
  }
  if (auto list = r.get("ports")) {
    for (const YamlReader& item : list->items()) {
      std::string name = item.str();
      if (std::ranges::none_of(ports, [&](const PortConfig& p) { return p.name == name; })) {
        item.fail(quote(name) + " is not the name of a port");
      }
      if (std::ranges::find(w.ports, name) != w.ports.end()) {
        item.fail(quote(name) + " is listed twice");
      }
      w.ports.push_back(std::move(name));
    }
  }
  return w;
}

std::vector<std::vector<std::string>> worker_port_names(const NodeConfig& c) {
  std::vector<std::vector<std::string>> out;
  for (const WorkerConfig& w : c.workers) {
    out.push_back(w.ports);
  }
  return out;
}

std::vector<std::string> port_names(const NodeConfig& c) {
  std::vector<std::string> out;
  for (const PortConfig& p : c.ports) {
    out.push_back(p.name);
  }
  return out;
}

// Checks that need the whole file: queues, that every port and lcore is used, mbufs.
void check_together(NodeConfig& c, const YamlReader& root,
                    const std::vector<YamlReader>& port_nodes,
                    const std::vector<PortRead>& port_reads,
                    const std::vector<YamlReader>& lcore_items) {
  const std::vector<size_t> poller_count =
      dataplane::poller_counts(worker_port_names(c), port_names(c));
  for (size_t i = 0; i < c.ports.size(); ++i) {
    PortConfig& port = c.ports[i];
    const size_t pollers = poller_count[i];
    if (pollers == 0) {
      port_nodes[i].fail("port " + quote(port.name) +
                         " is polled by no worker (name it in a worker's ports, or leave a "
                         "worker's ports out to poll every port)");
    }
    port.rx_queues = static_cast<uint16_t>(pollers);
    if (const auto& v = port_reads[i].rx_queues) {
      auto n = static_cast<size_t>(v->integer(1, kMaxQueues));
      if (n != pollers) {
        v->fail(std::to_string(n) + " rx queues, but " + std::to_string(pollers) +
                " worker(s) poll the port: each poller takes one queue, and a queue nobody "
                "polls would fill and drop what RSS sends it");
      }
    }
    port.tx_queues = static_cast<uint16_t>(c.workers.size());
    if (const auto& v = port_reads[i].tx_queues) {
      auto n = static_cast<size_t>(v->integer(1, kMaxQueues));
      if (n < c.workers.size()) {
        v->fail(std::to_string(n) + " tx queues for " + std::to_string(c.workers.size()) +
                " workers: every worker may send to every port, on a queue of its own");
      }
      port.tx_queues = static_cast<uint16_t>(n);
    }
    if (auto limit = vhost_queue_limit(port.devargs);
        limit && std::max(port.rx_queues, port.tx_queues) > *limit) {
      port_nodes[i].at("devargs").fail(
          "net_vhost offers " + std::to_string(*limit) +
          " queue(s) (queues=" + std::to_string(*limit) +
          (port.devargs.find(",queues=") == std::string::npos ? ", the default" : "") +
          "), but the port needs " + std::to_string(port.rx_queues) + " rx and " +
          std::to_string(port.tx_queues) + " tx (every worker sends on a queue of its own): add " +
          "queues=" + std::to_string(std::max(port.rx_queues, port.tx_queues)));
    }
  }
  for (const YamlReader& item : lcore_items) {
    auto lcore = static_cast<uint32_t>(item.integer(0, RTE_MAX_LCORE - 1));
    if (lcore != c.eal.main_lcore &&
        std::ranges::none_of(c.workers, [&](const WorkerConfig& w) { return w.lcore == lcore; })) {
      item.fail("lcore " + std::to_string(lcore) +
                " is neither eal.main_lcore nor a worker's lcore (EAL would start a thread that "
                "does nothing): remove it, or add a worker on it");
    }
  }
  // The pool must fill every ring and still cover what each lcore caches and holds in a
  // burst, or a port runs dry under load (the sum is l3fwd's).
  uint64_t descriptors = 0;
  for (const PortConfig& p : c.ports) {
    descriptors +=
        uint64_t{p.rx_queues} * p.rx_descriptors + uint64_t{p.tx_queues} * p.tx_descriptors;
  }
  uint64_t lcores = c.eal.lcores.size();
  uint64_t needed = descriptors + lcores * (kMempoolCache + kBurst);
  std::optional<YamlReader> mbufs = root.get("mbufs");
  int line = mbufs ? mbufs->line() : root.line();
  std::string given = mbufs ? std::to_string(c.mbufs) : "the default " + std::to_string(c.mbufs);
  if (c.mbufs < needed) {
    fail_at(line, "mbufs",
            given + " mbufs cannot fill the rings: the ports' descriptors (" +
                std::to_string(descriptors) + ") plus " + std::to_string(kMempoolCache) +
                " cached and " + std::to_string(kBurst) + " in flight per lcore (" +
                std::to_string(lcores) + " lcores) need at least " + std::to_string(needed));
  }
  uint64_t pool_mb = (uint64_t{c.mbufs} * kMbufBytes + (1u << 20) - 1) >> 20;
  if (pool_mb > c.eal.memory_mb) {
    fail_at(line, "mbufs",
            given + " mbufs take " + std::to_string(pool_mb) + " MiB (" +
                std::to_string(kMbufBytes) + " bytes each), more than eal.memory_mb (" +
                std::to_string(c.eal.memory_mb) + ")");
  }
}

PolicySourceConfig read_policy(const YamlReader& r, const std::string& path) {
  r.allow_only({"source", "directory", "kubeconfig", "debounce_ms", "hold_rejected",
                "cilium_cidr_match_mode"});
  PolicySourceConfig p;
  if (auto source = r.get("source")) {
    std::string text = source->str();
    if (text == "directory") {
      p.kind = PolicySourceKind::Directory;
    } else if (text == "kubernetes") {
      p.kind = PolicySourceKind::Kubernetes;
    } else {
      source->fail(quote(text) + " is not a policy source (directory or kubernetes)");
    }
  }
  if (p.kind == PolicySourceKind::Directory) {
    if (!r.has("directory")) {
      fail_at(r.line(), r.path() + ".directory", "required when policy.source is directory",
              ErrorCode::MissingField);
    }
    if (auto v = r.get("kubeconfig")) {
      v->fail("only with source: kubernetes");
    }
    YamlReader dir = r.at("directory");
    p.directory = dir.str();
    if (p.directory.empty()) {
      dir.fail("empty directory");
    }
    p.directory = resolve_path(path, p.directory);
  } else {
    if (auto v = r.get("directory")) {
      v->fail("only with source: directory");
    }
    if (auto v = r.get("kubeconfig")) {
      std::string text = v->str();
      if (text.empty()) {
        v->fail("empty path (leave kubeconfig out to use the in-cluster service account)");
      }
      p.kubeconfig = resolve_path(path, text);
    }
  }
  if (auto v = r.get("debounce_ms")) {
    p.debounce_ms = read_u32(*v, 0, kMaxDebounceMs);
  }
  if (auto v = r.get("hold_rejected")) {
    p.hold_rejected = v->boolean();
  }
  if (auto v = r.get("cilium_cidr_match_mode")) {
    // As the agent's policy-cidr-match-mode: a list whose one possible entry is `nodes`.
    for (const YamlReader& mode : v->items()) {
      if (mode.str() != "nodes") {
        mode.fail(quote(mode.str()) + " is not a CIDR match mode (the one mode is nodes)");
      }
      p.cilium_cidr_matches_nodes = true;
    }
  }
  return p;
}

// Where the conntrack table is kept by default: on hugetlbfs with hugepages (the EAL's
// --huge-dir, else the first hugetlbfs mount), so that its entries stay on huge pages as in
// process memory; on tmpfs without.
std::string default_state_file(const EalConfig& eal) {
  const std::string name = eal.file_prefix + "-conntrack";
  if (eal.no_huge) {
    return "/dev/shm/" + name;
  }
  for (size_t i = 0; i < eal.extra_args.size(); ++i) {
    const std::string& a = eal.extra_args[i];
    if (a.starts_with("--huge-dir=")) {
      return a.substr(11) + "/" + name;
    }
    if (a == "--huge-dir" && i + 1 < eal.extra_args.size()) {
      return eal.extra_args[i + 1] + "/" + name;
    }
  }
  std::ifstream mounts("/proc/mounts");
  std::string device, dir, type;
  std::string rest;
  while (mounts >> device >> dir >> type && std::getline(mounts, rest)) {
    if (type == "hugetlbfs") {
      return dir + "/" + name;
    }
  }
  return "/dev/shm/" + name;
}

ConntrackConfig read_conntrack(const YamlReader& r, const std::string& path) {
  r.allow_only({"max_flows", "tcp_syn_timeout", "tcp_established_timeout", "tcp_closing_timeout",
                "udp_timeout", "icmp_timeout", "other_timeout", "rejudge_established", "state_file",
                "tcp_window_tracking", "tcp_loose_pickup"});
  ConntrackConfig ct;
  if (auto v = r.get("tcp_window_tracking")) {
    ct.tcp_window_tracking = v->boolean();
  }
  if (auto v = r.get("tcp_loose_pickup")) {
    ct.tcp_loose_pickup = v->boolean();
  }
  if (auto v = r.get("state_file")) {
    const std::string text = v->str();
    if (text.empty()) {
      v->fail("empty path (write none to keep the table in process memory)");
    }
    ct.state_file = text == "none" ? std::string() : resolve_path(path, text);
  }
  if (auto v = r.get("max_flows")) {
    ct.max_flows = read_u32(*v, 1, kMaxFlows);
  }
  auto timeout = [&](std::string_view key, uint32_t& out) {
    if (auto v = r.get(key)) {
      out = read_u32(*v, 1, kMaxTimeoutS);
    }
  };
  timeout("tcp_syn_timeout", ct.tcp_syn_timeout);
  timeout("tcp_established_timeout", ct.tcp_established_timeout);
  timeout("tcp_closing_timeout", ct.tcp_closing_timeout);
  timeout("udp_timeout", ct.udp_timeout);
  timeout("icmp_timeout", ct.icmp_timeout);
  timeout("other_timeout", ct.other_timeout);
  if (auto v = r.get("rejudge_established")) {
    ct.rejudge_established = v->boolean();
  }
  return ct;
}

NodeConfig read_node(const YAML::Node& doc, const std::string& path) {
  reject_duplicate_keys(doc, "");
  YamlReader root(doc, "", true);
  root.allow_only(
      {"node_name", "eal", "mbufs", "workers", "ports", "gateway", "policy", "conntrack", "admin"});
  NodeConfig c;
  c.path = path;
  YamlReader node_name = root.at("node_name");
  c.node_name = node_name.str();
  // "${NODE_NAME}": from the environment, as a DaemonSet passes spec.nodeName down.
  if (c.node_name.size() > 3 && c.node_name.starts_with("${") && c.node_name.back() == '}') {
    const std::string var = c.node_name.substr(2, c.node_name.size() - 3);
    const char* value = std::getenv(var.c_str());
    if (value == nullptr || *value == '\0') {
      node_name.fail("environment variable " + var + " is not set");
    }
    c.node_name = value;
  }
  if (!is_dns_subdomain(c.node_name)) {
    node_name.fail(quote(c.node_name) +
                   " is not a Kubernetes node name (lower-case letters, digits, '-', '.')");
  }

  YamlReader eal = root.at("eal");
  c.eal = read_eal(eal);
  std::vector<YamlReader> lcore_items = eal.at("lcores").items();
  if (auto v = root.get("mbufs")) {
    c.mbufs = read_u32(*v, 1, UINT32_MAX);
  }

  YamlReader ports = root.at("ports");
  std::vector<YamlReader> port_nodes = ports.items();
  if (port_nodes.empty()) {
    ports.fail("no ports: a node needs at least one");
  }
  std::vector<YamlReader> role_nodes;
  std::vector<PortRead> port_reads(port_nodes.size());
  for (size_t i = 0; i < port_nodes.size(); ++i) {
    c.ports.push_back(read_port(port_nodes[i], c.ports, role_nodes, port_reads[i]));
  }

  YamlReader workers = root.at("workers");
  for (const YamlReader& w : workers.items()) {
    c.workers.push_back(read_worker(w, c.eal, c.workers, c.ports));
  }
  if (c.workers.empty()) {
    workers.fail("no workers: a node needs at least one");
  }

  if (auto g = root.get("gateway")) {
    g->allow_only({"ipv4", "ipv6", "mac"});
    if (auto v = g->get("ipv4")) {
      c.gateway.ipv4 = read_ip(*v, 4);
    }
    if (auto v = g->get("ipv6")) {
      c.gateway.ipv6 = read_ip(*v, 6);
    }
    if (auto v = g->get("mac")) {
      c.gateway.mac = read_mac(*v);
    }
  }
  for (size_t i = 0; i < c.ports.size(); ++i) {
    if (c.ports[i].mac == c.gateway.mac) {
      port_nodes[i].at("mac").fail(format_mac(c.gateway.mac) +
                                   " is the gateway's MAC; the pod needs its own");
    }
  }

  c.policy = read_policy(root.at("policy"), path);
  if (auto v = root.get("conntrack")) {
    c.conntrack = read_conntrack(*v, path);
  }
  const bool state_file_given = root.get("conntrack") && root.at("conntrack").get("state_file");
  if (!state_file_given) {
    c.conntrack.state_file = default_state_file(c.eal);
  }
  if (auto a = root.get("admin")) {
    a->allow_only({"listen"});
    if (auto v = a->get("listen")) {
      c.admin.listen = v->str();
      if (!is_listen_address(c.admin.listen)) {
        v->fail(quote(c.admin.listen) +
                " is not host:port (as 127.0.0.1:9090, [::1]:9090, localhost:9090)");
      }
    }
  }
  check_together(c, root, port_nodes, port_reads, lcore_items);
  return c;
}

}  // namespace

const PortConfig* NodeConfig::uplink() const {
  for (const PortConfig& p : ports) {
    if (p.role == PortRole::Uplink) {
      return &p;
    }
  }
  return nullptr;
}

Result<NodeConfig> parse_node_config(const std::string& text, const std::string& path) {
  auto with_line = [&](int line) { return line > 0 ? path + ":" + std::to_string(line) : path; };
  try {
    return read_node(YAML::Load(text), path);
  } catch (const DecodeFailure& failure) {
    Error e = failure.error;
    e.source = with_line(e.source.empty() ? 0 : std::stoi(e.source));
    return e;
  } catch (const YAML::Exception& ex) {
    return Error{ErrorCode::Syntax, with_line(ex.mark.line + 1), {}, {}, ex.msg};
  }
}

Result<NodeConfig> load_node_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Error{ErrorCode::Io, path, {}, {}, "cannot read the node file"};
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_node_config(text.str(), path);
}

std::vector<dataplane::PolledQueue> polled_queues(const NodeConfig& config, size_t worker) {
  return dataplane::polled_queues(worker_port_names(config), port_names(config), worker);
}

std::vector<std::string> eal_arguments(const NodeConfig& config) {
  const EalConfig& eal = config.eal;
  std::vector<std::string> args = {"-l",           join_numbers(eal.lcores),
                                   "--main-lcore", std::to_string(eal.main_lcore),
                                   "-m",           std::to_string(eal.memory_mb)};
  if (eal.no_huge) {
    args.emplace_back("--no-huge");
  }
  args.push_back("--file-prefix");
  args.push_back(eal.file_prefix);
  if (std::ranges::none_of(config.ports, is_pci_port)) {
    args.emplace_back("--no-pci");
  }
  for (const PortConfig& p : config.ports) {
    args.push_back(is_pci_port(p) ? "-a" : "--vdev");
    args.push_back(p.devargs);
  }
  args.insert(args.end(), eal.extra_args.begin(), eal.extra_args.end());
  return args;
}

std::string describe_plan(const NodeConfig& c) {
  std::ostringstream out;
  out << "node " << c.node_name << " (" << c.path << ")\n";
  out << "eal:";
  for (const std::string& a : eal_arguments(c)) {
    out << ' ' << a;
  }
  out << "\n  " << c.eal.memory_mb << " MiB of "
      << (c.eal.no_huge ? "anonymous memory (no hugepages)" : "hugepages") << ", file prefix "
      << c.eal.file_prefix << ", " << c.mbufs << " mbufs\n";
  out << "  lcore " << c.eal.main_lcore << ": main (control plane, admin API)\n";
  out << "workers:\n";
  for (size_t w = 0; w < c.workers.size(); ++w) {
    out << "  worker " << w << " on lcore " << c.workers[w].lcore << ": polls";
    const char* separator = " ";
    for (const dataplane::PolledQueue& q : polled_queues(c, w)) {
      out << separator << c.ports[q.port].name << " rx queue " << q.queue;
      separator = ", ";
    }
    out << "; sends on tx queue " << w << " of every port\n";
  }
  out << "ports:\n";
  for (const PortConfig& p : c.ports) {
    out << "  " << p.name << ": " << (p.role == PortRole::Uplink ? "uplink" : "pod") << ", "
        << (is_pci_port(p) ? "PCI device " : "virtual device ") << p.devargs << '\n';
    if (p.role == PortRole::Pod) {
      out << "    pod " << (p.pod ? *p.pod : "from the annotation palisade.io/port=" + p.name)
          << ", MAC " << (p.mac ? format_mac(*p.mac) : "?") << '\n';
    } else {
      out << "    next hop MAC " << (p.next_hop_mac ? format_mac(*p.next_hop_mac) : "?") << '\n';
    }
    out << "    " << p.rx_queues << " rx queue(s) x " << p.rx_descriptors << " descriptors, "
        << p.tx_queues << " tx queue(s) x " << p.tx_descriptors << " descriptors, MTU "
        << (p.mtu ? std::to_string(*p.mtu) : std::string("the device's default")) << '\n';
  }
  out << "gateway: " << c.gateway.ipv4.to_string() << ", " << c.gateway.ipv6.to_string() << ", MAC "
      << format_mac(c.gateway.mac) << '\n';
  if (c.policy.kind == PolicySourceKind::Directory) {
    out << "policy: directory " << c.policy.directory;
  } else {
    out << "policy: kubernetes, "
        << (c.policy.kubeconfig ? "kubeconfig " + *c.policy.kubeconfig : "in-cluster");
  }
  out << ", debounce " << c.policy.debounce_ms << " ms; a rejected policy "
      << (c.policy.hold_rejected ? "holds the endpoints it selects isolated"
                                 : "holds nothing in its place")
      << "; Cilium CIDR peers select "
      << (c.policy.cilium_cidr_matches_nodes ? "outside addresses and nodes" : "outside addresses")
      << '\n';
  const ConntrackConfig& ct = c.conntrack;
  out << "conntrack: at most " << ct.max_flows << " flows; idle timeouts (s): tcp syn "
      << ct.tcp_syn_timeout << ", tcp established " << ct.tcp_established_timeout
      << ", tcp closing " << ct.tcp_closing_timeout << ", udp " << ct.udp_timeout << ", icmp "
      << ct.icmp_timeout << ", other " << ct.other_timeout << "; established connections "
      << (ct.rejudge_established ? "re-judged by each new policy" : "keep their first verdict")
      << "; TCP windows " << (ct.tcp_window_tracking ? "tracked" : "not tracked")
      << (ct.tcp_loose_pickup ? ", connections picked up mid-stream" : "")
      << "; kept across restarts "
      << (ct.state_file.empty() ? std::string("nowhere (state_file: none)") : "in " + ct.state_file)
      << '\n';
  out << "admin: http://" << c.admin.listen << " (/metrics, /healthz, /readyz)\n";
  return out.str();
}

std::string device_name(const std::string& devargs) { return devargs.substr(0, devargs.find(',')); }

std::string format_mac(const dataplane::Mac& mac) {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  return buf;
}

std::optional<dataplane::Mac> parse_mac(const std::string& text) {
  if (text.size() != 17) {
    return std::nullopt;
  }
  dataplane::Mac mac{};
  for (size_t i = 0; i < 6; ++i) {
    const char* p = text.data() + i * 3;
    if (!is_hex(p[0]) || !is_hex(p[1]) || (i < 5 && p[2] != ':')) {
      return std::nullopt;
    }
    auto nibble = [](char c) {
      return static_cast<uint8_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    };
    mac[i] = static_cast<uint8_t>(nibble(p[0]) << 4 | nibble(p[1]));
  }
  return mac;
}

}  // namespace palisade::control
