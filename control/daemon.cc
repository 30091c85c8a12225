#include "control/daemon.h"

#include <csignal>
#include <filesystem>
#include <chrono>
#include <iostream>

#include "control/directory_source.h"
#include "control/flow_report.h"
#include "policy/compiler.h"
#include "policy/snapshot.h"

namespace palisade::control {

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

dataplane::DataplaneConfig dataplane_config(const NodeConfig& config) {
  dataplane::DataplaneConfig dp;
  for (const PortConfig& p : config.ports) {
    dataplane::DataplaneConfig::Port port;
    port.name = p.name;
    port.device = device_name(p.devargs);
    port.pod = p.role == PortRole::Pod;
    if (p.next_hop_mac) {
      port.next_hop = *p.next_hop_mac;
    }
    port.rx_descriptors = p.rx_descriptors;
    port.tx_descriptors = p.tx_descriptors;
    dp.ports.push_back(port);
  }
  for (const WorkerConfig& w : config.workers) {
    dp.workers.push_back({w.lcore, w.ports});
  }
  dp.mbufs = config.mbufs;
  dp.gateway_mac = config.gateway.mac;
  std::copy(config.gateway.ipv6.bytes.begin(), config.gateway.ipv6.bytes.end(),
            dp.gateway_ipv6.begin());
  dp.conntrack_max_flows = config.conntrack.max_flows;
  dp.timeouts.tcp_syn = config.conntrack.tcp_syn_timeout;
  dp.timeouts.tcp_established = config.conntrack.tcp_established_timeout;
  dp.timeouts.tcp_closing = config.conntrack.tcp_closing_timeout;
  dp.timeouts.udp = config.conntrack.udp_timeout;
  dp.timeouts.icmp = config.conntrack.icmp_timeout;
  dp.timeouts.other = config.conntrack.other_timeout;
  dp.rejudge_established = config.conntrack.rejudge_established;
  return dp;
}

namespace {

class Daemon {
 public:
  Daemon(const NodeConfig& config, const DaemonOptions& options, dataplane::Dataplane& dp)
      : config_(config), options_(options), dp_(dp), source_(config.policy.directory) {
    for (const PortConfig& p : config.ports) {
      if (p.role != PortRole::Pod) {
        continue;
      }
      if (!p.pod) {
        std::cout << "palisade: port " << p.name
                  << ": no pod named; discovery by annotation is not supported yet, so the "
                     "port forwards nothing\n";
        continue;
      }
      bindings_.push_back({*dp.port_id(p.name), *p.pod, p.mac.value_or(dataplane::Mac{})});
    }
  }

  // Reads the source, compiles, and puts the result in force (or keeps the last good one).
  void apply() {
    const auto start = std::chrono::steady_clock::now();
    DirectorySource::Reload r = source_.reload();
    for (const std::string& problem : r.problems) {
      std::cout << "palisade: rejected: " << problem << "\n";
    }
    policy::SnapshotBuild build = policy::build_snapshot(source_.store().objects());
    policy::CompileOptions options;
    options.node = config_.node_name;
    policy::Result<policy::CompiledPolicy> compiled = policy::compile(*build.snapshot, options);
    if (!compiled) {
      std::cout << "palisade: policy not compiled, generation " << generation_
                << " stays in force: " << compiled.error().to_string() << "\n";
      return;
    }
    const size_t rules = compiled->rules_v4.size() + compiled->rules_v6.size();
    const size_t sets = compiled->sets.size();
    drain();  // events of the outgoing generation are named by it
    policy::Result<uint64_t> g = dp_.publish(std::move(compiled).value(), *build.snapshot,
                                             bindings_);
    if (!g) {
      std::cout << "palisade: tables not built, generation " << generation_
                << " stays in force: " << g.error().to_string() << "\n";
      return;
    }
    generation_ = *g;
    std::cout << "palisade: generation " << generation_ << " in force: " << r.files
              << " files, " << r.objects << " objects, " << build.snapshot->endpoints.size()
              << " endpoints, " << build.snapshot->policies.size() << " policies, " << rules
              << " rules in " << sets << " policy sets (" << static_cast<int>(ms_since(start))
              << " ms)\n";
    for (const std::string& pod : dp_.current()->missing_pods) {
      std::cout << "palisade: pod " << pod
                << " is bound to a port but not in the snapshot: its port forwards nothing\n";
    }
    std::cout.flush();
  }

  void drain() {
    dp_.drain_flow_events([&](const dataplane::FlowEvent& e) {
      if (options_.log_flows) {
        const dataplane::Ruleset* rs = dp_.current();
        std::cout << "flow: "
                  << describe_flow_event(e, rs != nullptr && rs->generation == e.generation ? rs
                                                                                             : nullptr)
                  << "\n";
      }
    });
    std::cout.flush();
  }

  void print_stats() {
    const dataplane::DataplaneTotals t = dp_.totals();
    std::cout << "stats: generation " << t.generation << ", rx " << t.sum.rx << ", tx " << t.sum.tx
              << ", allowed " << t.sum.allowed << ", denied " << t.sum.denied
              << ", conntrack hits " << t.sum.conntrack_hits << ", live flows "
              << t.conntrack_live << ", arp " << t.sum.arp_replies << ", nd " << t.sum.nd_replies;
    for (size_t i = 0; i < t.sum.drops.size(); ++i) {
      if (t.sum.drops[i] != 0) {
        std::cout << ", " << dataplane::kDropName[i] << " " << t.sum.drops[i];
      }
    }
    std::cout << "\n";
    std::cout.flush();
  }

  int run() {
    if (auto w = source_.watch(); !w) {
      std::cout << "palisade: " << w.error().to_string() << " (changes will not be seen)\n";
    }
    apply();
    const auto start = std::chrono::steady_clock::now();
    auto last_stats = start;
    while (g_stop == 0) {
      if (options_.duration_s > 0 && ms_since(start) >= options_.duration_s * 1000) {
        break;
      }
      if (source_.wait_for_change(20, static_cast<int>(config_.policy.debounce_ms))) {
        apply();
      }
      drain();
      dp_.housekeeping();
      if (options_.stats_interval_s > 0 &&
          ms_since(last_stats) >= options_.stats_interval_s * 1000) {
        print_stats();
        last_stats = std::chrono::steady_clock::now();
      }
    }
    drain();
    print_stats();
    return 0;
  }

 private:
  const NodeConfig& config_;
  DaemonOptions options_;
  dataplane::Dataplane& dp_;
  DirectorySource source_;
  std::vector<dataplane::PortBinding> bindings_;
  uint64_t generation_ = 0;
};

}  // namespace

namespace {

// A vhost-user server socket left behind by a daemon that did not exit cleanly makes the
// next start fail ("Address already in use"): remove it, and create the socket's directory.
void prepare_vhost_sockets(const NodeConfig& config) {
  namespace fs = std::filesystem;
  for (const PortConfig& p : config.ports) {
    const size_t at = p.devargs.find("iface=");
    if (p.devargs.rfind("net_vhost", 0) != 0 || at == std::string::npos ||
        p.devargs.find("client=1") != std::string::npos) {
      continue;
    }
    const size_t end = p.devargs.find(',', at);
    const fs::path sock = p.devargs.substr(at + 6, end == std::string::npos ? end : end - at - 6);
    std::error_code ec;
    if (fs::is_socket(sock, ec)) {
      fs::remove(sock, ec);
    }
    if (sock.has_parent_path()) {
      fs::create_directories(sock.parent_path(), ec);
    }
  }
}

}  // namespace

int run_daemon(const NodeConfig& config, const DaemonOptions& options) {
  if (config.policy.kind != PolicySourceKind::Directory) {
    std::cerr << "palisade: " << config.path
              << ": policy.source: kubernetes is not supported by this build yet; use "
                 "source: directory\n";
    return 2;
  }
  prepare_vhost_sockets(config);
  std::vector<std::string> args = {"palisade"};
  for (std::string& a : eal_arguments(config)) {
    args.push_back(std::move(a));
  }
  if (auto eal = dataplane::start_eal(args); !eal) {
    std::cerr << "palisade: " << eal.error().to_string() << "\n";
    return 1;
  }
  auto dp = dataplane::Dataplane::start(dataplane_config(config));
  if (!dp) {
    std::cerr << "palisade: " << config.path << ": " << dp.error().to_string() << "\n";
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::cout << "palisade: node " << config.node_name << ", " << config.ports.size() << " ports, "
            << config.workers.size() << " workers; not ready until the first policy is in force\n";
  Daemon daemon(config, options, *dp.value());
  const int rc = daemon.run();
  dp.value().reset();
  return rc;
}

}  // namespace palisade::control
