#include "control/daemon.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>

#include "control/admin_server.h"
#include "control/latency_histogram.h"
#include "control/node_metrics.h"
#include "control/source/directory_source.h"
#include "control/source/kube/kube_source.h"
#include "dataplane/flow_report.h"
#include "policy/compile_session.h"
#include "policy/holdbacks.h"
#include "policy/snapshot.h"

namespace palisade::control {

namespace {

// What the daemon compiles: its own node's endpoints.
policy::CompileOptions compile_options(const NodeConfig& config) {
  policy::CompileOptions options;
  options.node = config.node_name;
  return options;
}

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
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
    port.mtu = p.mtu;
    dp.ports.push_back(port);
  }
  for (const WorkerConfig& w : config.workers) {
    dp.workers.push_back({w.lcore, w.ports});
  }
  dp.mbufs = config.mbufs;
  dp.gateway_mac = config.gateway.mac;
  std::copy(config.gateway.ipv6.bytes.begin(), config.gateway.ipv6.bytes.end(),
            dp.gateway_ipv6.begin());
  std::copy_n(config.gateway.ipv4.bytes.begin(), 4, dp.gateway_ipv4.begin());
  dp.conntrack_max_flows = config.conntrack.max_flows;
  dp.timeouts.tcp_syn = config.conntrack.tcp_syn_timeout;
  dp.timeouts.tcp_established = config.conntrack.tcp_established_timeout;
  dp.timeouts.tcp_closing = config.conntrack.tcp_closing_timeout;
  dp.timeouts.udp = config.conntrack.udp_timeout;
  dp.timeouts.icmp = config.conntrack.icmp_timeout;
  dp.timeouts.other = config.conntrack.other_timeout;
  dp.rejudge_established = config.conntrack.rejudge_established;
  dp.conntrack_state_file = config.conntrack.state_file;
  dp.tcp_window_tracking = config.conntrack.tcp_window_tracking;
  dp.tcp_loose_pickup = config.conntrack.tcp_loose_pickup;
  return dp;
}

ReadingRules reading_rules(const NodeConfig& config) {
  return {config.policy.hold_rejected, config.policy.cilium_cidr_matches_nodes};
}

policy::Result<std::unique_ptr<PolicySource>> make_policy_source(const NodeConfig& config,
                                                                 const DaemonOptions& options) {
  if (config.policy.kind == PolicySourceKind::Directory) {
    return std::unique_ptr<PolicySource>(
        new DirectorySource(config.policy.directory, reading_rules(config)));
  }
  std::optional<std::string> kubeconfig = options.kubeconfig;
  if (!kubeconfig) {
    kubeconfig = config.policy.kubeconfig;
  }
  if (!kubeconfig && std::getenv("KUBERNETES_SERVICE_HOST") == nullptr) {
    kubeconfig = kube::default_kubeconfig();  // $KUBECONFIG, ~/.kube/config
  }
  policy::Result<kube::ClusterAccess> access =
      kubeconfig ? kube::kubeconfig_access(*kubeconfig) : kube::in_cluster_access();
  if (!access) {
    return access.error();
  }
  if (access->insecure_skip_tls_verify) {
    std::cout << "palisade: WARNING: " << access->origin
              << " skips verifying the API server's certificate\n";
  }
  kube::KubeSourceOptions ko;
  ko.reflector = options.reflector;
  ko.rules = reading_rules(config);
  return std::unique_ptr<PolicySource>(new kube::KubeSource(*access, ko));
}

namespace {

class Daemon {
 public:
  Daemon(const NodeConfig& config, const DaemonOptions& options, dataplane::Dataplane& dp,
         std::unique_ptr<PolicySource> source, AdminServer* admin)
      : config_(config),
        options_(options),
        dp_(dp),
        source_(std::move(source)),
        admin_(admin),
        session_(compile_options(config)) {}

  int run() {
    std::cout << "palisade: policy source: " << source_->describe() << "\n";
    if (auto w = source_->start(); !w) {
      std::cout << "palisade: " << w.error().to_string() << " (changes will not be seen)\n";
    }
    apply();
    const auto start = Clock::now();
    auto last_stats = start;
    auto last_admin = start - std::chrono::hours(1);
    while (g_stop == 0) {
      if (options_.duration_s > 0 && ms_since(start) >= options_.duration_s * 1000) {
        break;
      }
      if (source_->wait_for_change(20, static_cast<int>(config_.policy.debounce_ms)) ||
          source_->pending()) {
        apply();
        last_admin = start - std::chrono::hours(1);  // show the change at once
      }
      drain();
      dp_.housekeeping();
      note_health();
      if (admin_ != nullptr && ms_since(last_admin) >= 1000) {
        publish_admin();
        last_admin = Clock::now();
      }
      if (options_.stats_interval_s > 0 &&
          ms_since(last_stats) >= options_.stats_interval_s * 1000) {
        print_stats();
        last_stats = Clock::now();
      }
    }
    drain();
    print_stats();
    return 0;
  }

 private:
  // Brings the source's store up to date and, when it holds a complete view that changed,
  // compiles it and puts it in force (or keeps the last good generation).
  void apply() {
    const auto start = Clock::now();
    PolicySource::Update u = source_->refresh();
    const double store_ms = ms_since(start);
    for (const std::string& line : u.log) {
      std::cout << "palisade: " << line << "\n";
    }
    for (const std::string& problem : u.problems) {
      std::cout << "palisade: rejected: " << problem << "\n";
    }
    if (u.changed) {
      unpublished_.insert(unpublished_.end(), u.arrivals.begin(), u.arrivals.end());
      pending_change_ = true;
    }
    if (!source_->synced()) {
      std::cout.flush();
      return;  // nothing is compiled from a partial view
    }
    if (!pending_change_ && generation_ != 0) {
      std::cout.flush();
      return;  // nothing in force changed (log lines, a relist of the same objects)
    }
    // The session patches what the changes reach, or compiles in full (what it did is in
    // the generation line).
    policy::Result<policy::CompileSession::Update> compiled = session_.update(source_->store());
    if (!compiled) {
      ++compile_failures_;
      std::cout << "palisade: policy not compiled, generation " << generation_
                << " stays in force: " << compiled.error().to_string() << "\n";
      std::cout.flush();
      return;
    }
    for (const policy::Error& e : compiled->snapshot_errors) {
      if (!compiled->incremental) {  // an incremental update changes none of them
        std::cout << "palisade: not applied: " << e.to_string() << "\n";
      }
    }
    const double snapshot_ms = compiled->snapshot_ms;
    const double compile_ms = compiled->compile_ms;
    const std::string how = compiled->describe();
    const policy::Snapshot& snapshot = *session_.snapshot();
    const size_t rules = compiled->compiled.rules_v4.size() + compiled->compiled.rules_v6.size();
    const size_t sets = compiled->compiled.sets.size();
    const std::vector<dataplane::PortBinding> bindings = bind_ports(snapshot);
    drain();  // events of the outgoing generation are named by it
    policy::Result<uint64_t> g = dp_.publish(std::move(compiled->compiled), bindings);
    if (!g) {
      ++compile_failures_;
      std::cout << "palisade: tables not built, generation " << generation_
                << " stays in force: " << g.error().to_string() << "\n";
      std::cout.flush();
      return;
    }
    const auto in_force = Clock::now();
    generation_ = *g;
    ++published_;
    last_build_s_ = std::chrono::duration<double>(in_force - start).count();
    double oldest_event_ms = 0;
    for (Clock::time_point arrived : unpublished_) {
      const double waited = std::chrono::duration<double>(in_force - arrived).count();
      event_to_enforcement_.record(waited);
      oldest_event_ms = std::max(oldest_event_ms, waited * 1000);
    }
    unpublished_.clear();
    pending_change_ = false;
    std::cout << "palisade: generation " << generation_ << " in force: " << u.summary << "; "
              << snapshot.endpoints.size() << " endpoints, " << snapshot.policies.size()
              << " policies, " << rules << " rules in " << sets << " policy sets (built in "
              << static_cast<int>(ms_since(start)) << " ms: store " << static_cast<int>(store_ms)
              << ", snapshot " << static_cast<int>(snapshot_ms) << ", compile "
              << static_cast<int>(compile_ms) << ", tables "
              << static_cast<int>(dp_.current()->table_build.ms) << "; oldest event in force after "
              << static_cast<int>(oldest_event_ms) << " ms; " << how << "; "
              << dp_.current()->table_build.describe() << ")\n";
    report_holdbacks(snapshot);
    session_.release_retired();  // after the publish, out of the event's latency
    for (const std::string& pod : dp_.current()->missing_pods) {
      std::cout << "palisade: pod " << pod
                << " is bound to a port but not in the snapshot: its port forwards nothing\n";
    }
    std::cout.flush();
  }

  // Logs what the new generation enforces narrower than written, when that changed: each
  // holdback that is new, and each that is gone (policy/holdbacks.h).
  void report_holdbacks(const policy::Snapshot& snapshot) {
    const std::vector<policy::Holdback> now = policy::holdbacks(snapshot);
    std::vector<std::string> lines;
    size_t l7 = 0, rejected = 0;
    for (const policy::Holdback& h : now) {
      lines.push_back(h.to_string());
      (h.kind == policy::Holdback::Kind::L7NotEnforced ? l7 : rejected) += 1;
    }
    for (const std::string& line : lines) {
      if (std::ranges::find(holdbacks_, line) == holdbacks_.end()) {
        std::cout << "palisade: held back: " << line << "\n";
      }
    }
    for (const std::string& line : holdbacks_) {
      if (std::ranges::find(lines, line) == lines.end()) {
        std::cout << "palisade: no longer held back: " << line << "\n";
      }
    }
    holdbacks_ = std::move(lines);
    policies_l7_held_ = l7;
    policies_rejected_held_ = rejected;
    endpoints_held_ = policy::endpoints_held(now);
  }

  // The port each pod is behind: named in the node file, or discovered from the pod's
  // palisade.io/port annotation (a pod of this node naming the port). Changes are logged.
  std::vector<dataplane::PortBinding> bind_ports(const policy::Snapshot& snap) {
    std::vector<dataplane::PortBinding> out;
    std::map<std::string, std::string> now;  // port -> pod
    for (const PortConfig& p : config_.ports) {
      if (p.role != PortRole::Pod) {
        continue;
      }
      std::string pod;
      if (p.pod) {
        pod = *p.pod;
      } else {
        std::vector<std::string> claimants;
        for (const policy::Endpoint& ep : snap.endpoints) {
          if (ep.kind == policy::EndpointKind::Workload && ep.node == config_.node_name &&
              ep.port_annotation == p.name) {
            claimants.push_back(ep.ns + "/" + ep.name);
          }
        }
        if (claimants.size() > 1) {
          std::string all;
          for (const std::string& c : claimants) {
            all += (all.empty() ? "" : ", ") + c;
          }
          if (bound_[p.name] != "?" + all) {
            std::cout << "palisade: port " << p.name << " is claimed by " << claimants.size()
                      << " pods (" << all << "): bound to none, it forwards nothing\n";
          }
          now[p.name] = "?" + all;
          continue;
        }
        if (claimants.empty()) {
          now[p.name] = "";
          continue;
        }
        pod = claimants.front();
      }
      now[p.name] = pod;
      out.push_back({*dp_.port_id(p.name), pod, p.mac.value_or(dataplane::Mac{})});
    }
    for (const auto& [port, pod] : now) {
      const bool discovered = std::ranges::any_of(
          config_.ports, [&port = port](const PortConfig& p) { return p.name == port && !p.pod; });
      if (discovered && bound_[port] != pod && (pod.empty() || pod.front() != '?')) {
        std::cout << "palisade: port " << port << ": "
                  << (pod.empty() ? "no pod of this node has palisade.io/port: " + port +
                                        "; it forwards nothing"
                                  : "bound to pod " + pod + " (palisade.io/port)")
                  << "\n";
      }
    }
    bound_ = std::move(now);
    return out;
  }

  void drain() {
    dp_.drain_flow_events([&](const dataplane::FlowEvent& e) {
      const dataplane::Ruleset* rs = dp_.current();
      std::string line = dataplane::describe_flow_event(
          e, rs != nullptr && rs->generation == e.generation ? rs : nullptr);
      if (options_.log_flows) {
        std::cout << "flow: " << line << "\n";
      }
      if (admin_ != nullptr) {
        admin_->add_flow_line(std::move(line));
      }
    });
    std::cout.flush();
  }

  // Logs the moments the source is lost and found again.
  void note_health() {
    const bool healthy = source_->healthy();
    if (healthy != was_healthy_ && source_->synced()) {
      std::cout << "palisade: policy source "
                << (!healthy        ? "lost"
                    : ever_healthy_ ? "back in sync"
                                    : "in sync")
                << ": " << source_->state() << "\n";
      std::cout.flush();
      ever_healthy_ = ever_healthy_ || healthy;
    }
    if (source_->synced()) {
      was_healthy_ = healthy;
    }
  }

  ControlPlaneSample control_sample() const {
    ControlPlaneSample c;
    c.source = source_->describe();
    c.in_sync = source_->synced() && source_->healthy();
    c.source_state = source_->state();
    c.snapshots_published = published_;
    c.compile_failures = compile_failures_;
    c.last_compile_seconds = last_build_s_;
    c.objects_in_force = source_->store().size();
    c.objects_rejected = source_->store().invalid().size();
    c.policies_l7_held = policies_l7_held_;
    c.policies_rejected_held = policies_rejected_held_;
    c.endpoints_held = endpoints_held_;
    c.holdbacks = holdbacks_;
    c.event_to_enforcement = &event_to_enforcement_;
    return c;
  }

  void publish_admin() {
    const NodeSample sample = sample_node(config_.node_name, dp_, control_sample());
    AdminView view;
    const bool in_sync = source_->synced() && source_->healthy();
    view.ready = generation_ != 0 && in_sync;
    if (generation_ == 0) {
      view.readiness = "not ready: no policy generation in force yet (" + source_->state() + ")";
    } else if (!in_sync) {
      view.readiness = "not ready: generation " + std::to_string(generation_) +
                       " in force, fail-static: " + source_->state();
    } else {
      view.readiness =
          "ready: generation " + std::to_string(generation_) + " in force, " + source_->state();
    }
    // What is enforced narrower than written is ready, and said: one line each.
    for (const std::string& line : holdbacks_) {
      view.readiness += "\nheld back: " + line;
    }
    view.metrics = render_prometheus(sample);
    view.stats_json = render_stats_json(sample);
    admin_->publish(std::move(view));
  }

  void print_stats() {
    const dataplane::DataplaneTotals t = dp_.totals();
    using dataplane::Counter;
    std::cout << "stats: generation " << t.generation << ", rx " << t.sum[Counter::Rx] << ", tx "
              << t.sum[Counter::Tx] << ", allowed " << t.sum[Counter::Allowed] << ", denied "
              << t.sum[Counter::Denied] << ", conntrack hits " << t.sum[Counter::ConntrackHits]
              << ", live flows " << t.conntrack_live << ", arp " << t.sum[Counter::ArpReplies]
              << ", nd " << t.sum[Counter::NdReplies];
    if (const uint64_t n = t.sum[Counter::DroppedAfterAllow]; n != 0) {
      std::cout << ", dropped after allow " << n;
    }
    for (size_t i = 0; i < t.sum.drops.size(); ++i) {
      if (t.sum.drops[i] != 0) {
        std::cout << ", " << dataplane::kDropName[i] << " " << t.sum.drops[i];
      }
    }
    std::cout << "\n";
    std::cout.flush();
  }

  const NodeConfig& config_;
  DaemonOptions options_;
  dataplane::Dataplane& dp_;
  std::unique_ptr<PolicySource> source_;
  AdminServer* admin_;
  policy::CompileSession session_;
  uint64_t generation_ = 0;
  uint64_t published_ = 0;
  uint64_t compile_failures_ = 0;
  double last_build_s_ = 0;
  bool was_healthy_ = false;  // as last logged
  bool ever_healthy_ = false;
  std::vector<Clock::time_point> unpublished_;  // arrivals of events not yet in force
  std::vector<std::string> holdbacks_;          // of the generation in force (report_holdbacks)
  size_t policies_l7_held_ = 0, policies_rejected_held_ = 0, endpoints_held_ = 0;
  bool pending_change_ = false;  // the store changed since the last publish
  LatencyHistogram event_to_enforcement_;
  std::map<std::string, std::string> bound_;  // port -> pod ("" none, "?..." contested)
};

// A vhost-user server socket left behind by a daemon that did not exit cleanly makes the
// next start fail ("Address already in use"): remove it, and create the socket's directory.
void prepare_vhost_sockets(const NodeConfig& config) {
  namespace fs = std::filesystem;
  for (const PortConfig& p : config.ports) {
    const size_t at = p.devargs.find("iface=");
    if (p.devargs.rfind("net_vhost", 0) != 0 || at == std::string::npos) {
      continue;
    }
    const size_t end = p.devargs.find(',', at);
    const fs::path sock = p.devargs.substr(at + 6, end == std::string::npos ? end : end - at - 6);
    std::error_code ec;
    if (sock.has_parent_path()) {
      fs::create_directories(sock.parent_path(), ec);
    }
    // In client mode the socket is the pod's: never remove it.
    if (p.devargs.find("client=1") == std::string::npos && fs::is_socket(sock, ec)) {
      fs::remove(sock, ec);
    }
  }
}

}  // namespace

int run_daemon(const NodeConfig& config, const DaemonOptions& options) {
  policy::Result<std::unique_ptr<PolicySource>> source = make_policy_source(config, options);
  if (!source) {
    std::cerr << "palisade: " << config.path << ": policy source: " << source.error().to_string()
              << "\n";
    return 2;
  }
  std::unique_ptr<AdminServer> admin;
  const std::string listen = options.admin_listen.value_or(config.admin.listen);
  if (!listen.empty()) {
    auto started = AdminServer::start(listen);
    if (!started) {
      std::cerr << "palisade: " << config.path << ": " << started.error().to_string() << "\n";
      return 2;
    }
    admin = std::move(started).value();
    std::cout << "palisade: admin API on http://" << listen.substr(0, listen.rfind(':')) << ":"
              << admin->port() << " (/healthz /readyz /metrics /stats /flows)\n";
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
  std::cout << "palisade: conntrack: " << dp.value()->conntrack_origin() << "\n";
  Daemon daemon(config, options, *dp.value(), std::move(source).value(), admin.get());
  const int rc = daemon.run();
  dp.value().reset();
  return rc;
}

}  // namespace palisade::control
