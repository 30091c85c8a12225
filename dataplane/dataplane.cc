#include "dataplane/dataplane.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "dataplane/queue_plan.h"

namespace palisade::dataplane {

namespace {

policy::Error port_error(const std::string& port, const std::string& what, int rc) {
  return policy::Error{policy::ErrorCode::Unsupported,
                       "ports",
                       port,
                       {},
                       what + ": " + rte_strerror(rc < 0 ? -rc : rc)};
}

}  // namespace

policy::Result<bool> start_eal(const std::vector<std::string>& args) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  argv.reserve(copy.size());
  for (std::string& a : copy) {
    argv.push_back(a.data());
  }
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    return policy::Error{policy::ErrorCode::Unsupported,
                         "eal",
                         {},
                         {},
                         std::string("DPDK EAL did not start: ") + rte_strerror(rte_errno)};
  }
  return true;
}

Dataplane::Dataplane(const DataplaneConfig& config)
    : config_(config),
      publisher_(static_cast<uint32_t>(std::max<size_t>(config.workers.size(), 1))),
      tables_(TableCacheOptions{.max_size = config.acl_max_size}) {}

policy::Result<std::unique_ptr<Dataplane>> Dataplane::start(const DataplaneConfig& config) {
  std::unique_ptr<Dataplane> dp(new Dataplane(config));
  const auto workers = static_cast<uint16_t>(config.workers.size());
  if (workers == 0) {
    return policy::Error{policy::ErrorCode::MissingField, "workers", {}, {}, "no worker"};
  }
  // DPDK object names are process-wide: a serial keeps two Dataplanes of one process apart.
  static std::atomic<uint32_t> serial{0};
  const std::string suffix = std::to_string(getpid()) + "-" + std::to_string(serial++);
  dp->pool_ = rte_pktmbuf_pool_create(("palisade-mbufs-" + suffix).c_str(), config.mbufs, 256, 0,
                                      RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  if (dp->pool_ == nullptr) {
    return policy::Error{policy::ErrorCode::LimitExceeded,
                         "mbufs",
                         {},
                         {},
                         "cannot create a pool of " + std::to_string(config.mbufs) +
                             " mbufs: " + rte_strerror(rte_errno)};
  }
  dp->roles_.gateway_mac = config.gateway_mac;
  dp->roles_.gateway_ipv6 = config.gateway_ipv6;
  dp->roles_.gateway_ipv4 = config.gateway_ipv4;

  // Which worker polls which port, and with which rx queue (dataplane/queue_plan.h).
  std::vector<std::vector<std::string>> worker_ports;
  for (uint32_t w = 0; w < workers; ++w) {
    worker_ports.push_back(config.workers[w].ports);
  }
  std::vector<std::string> port_names;
  for (const DataplaneConfig::Port& port : config.ports) {
    port_names.push_back(port.name);
  }
  const std::vector<size_t> pollers = poller_counts(worker_ports, port_names);
  size_t port_index = 0;
  for (const DataplaneConfig::Port& port : config.ports) {
    uint16_t id = 0;
    if (rte_eth_dev_get_port_by_name(port.device.c_str(), &id) != 0) {
      return policy::Error{policy::ErrorCode::NotFound, "ports", port.name, "device",
                           "no DPDK port named \"" + port.device + "\" (is its devargs right?)"};
    }
    dp->port_ids_.emplace_back(port.name, id);
    const auto rx_queues = static_cast<uint16_t>(std::max<size_t>(pollers[port_index++], 1));
    rte_eth_conf conf{};
    // Frames larger than one mbuf arrive and leave as chains where the device can do it
    // (jumbo frames, vhost-user mergeable buffers); the worker parses a chain's headers in
    // its first segment and forwards the chain whole.
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(id, &info) == 0) {
      conf.rxmode.offloads |= info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER;
      conf.txmode.offloads |= info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    }
    if (int rc = rte_eth_dev_configure(id, rx_queues, workers, &conf); rc != 0) {
      return port_error(port.name,
                        "configure " + std::to_string(rx_queues) + " rx and " +
                            std::to_string(workers) + " tx queues",
                        rc);
    }
    if (port.mtu) {
      // Frames larger than an mbuf need Rx scatter (asked for above where offered); a driver
      // that cannot take this MTU says so here, and the port does not start.
      if (int rc = rte_eth_dev_set_mtu(id, *port.mtu); rc != 0) {
        return port_error(port.name, "mtu " + std::to_string(*port.mtu), rc);
      }
    }
    uint16_t rxd = port.rx_descriptors, txd = port.tx_descriptors;
    rte_eth_dev_adjust_nb_rx_tx_desc(id, &rxd, &txd);
    const int socket = rte_eth_dev_socket_id(id);
    for (uint16_t q = 0; q < rx_queues; ++q) {
      if (int rc = rte_eth_rx_queue_setup(id, q, rxd, socket, nullptr, dp->pool_); rc != 0) {
        return port_error(port.name, "rx queue " + std::to_string(q), rc);
      }
    }
    for (uint16_t q = 0; q < workers; ++q) {
      if (int rc = rte_eth_tx_queue_setup(id, q, txd, socket, nullptr); rc != 0) {
        return port_error(port.name, "tx queue " + std::to_string(q), rc);
      }
    }
    if (int rc = rte_eth_dev_start(id); rc != 0) {
      return port_error(port.name, "start", rc);
    }
    dp->started_ports_.push_back(id);
    rte_eth_promiscuous_enable(id);  // pods address the gateway MAC, not the port's
    PortRoles::Port& role = dp->roles_.ports[id];
    role.configured = true;
    role.pod = port.pod;
    role.next_hop = port.next_hop;
    rte_ether_addr mac{};
    rte_eth_macaddr_get(id, &mac);
    std::memcpy(role.mac.data(), mac.addr_bytes, 6);
    if (!port.pod) {
      dp->roles_.uplink = id;
    }
  }
  std::vector<std::vector<PortQueue>> rx(workers);
  for (uint32_t w = 0; w < workers; ++w) {
    for (const PolledQueue& q : polled_queues(worker_ports, port_names, w)) {
      rx[w].push_back({dp->port_ids_[q.port].second, q.queue});
    }
  }

  // The shared connection table.
  const size_t ct_bytes = Conntrack::memory_size(config.conntrack_max_flows);
  if (!config.conntrack_state_file.empty()) {
    auto file = ConntrackFile::open(config.conntrack_state_file, config.conntrack_max_flows,
                                    rte_get_tsc_hz());
    if (!file) {
      return file.error();
    }
    dp->conntrack_file_ = std::move(file).value();
    const ConntrackFile& f = *dp->conntrack_file_;
    dp->conntrack_ = std::make_unique<Conntrack>(
        f.table(), config.conntrack_max_flows, config.timeouts, rte_get_tsc_hz(), f.hash_seed(),
        f.kept() ? Conntrack::Memory::Kept : Conntrack::Memory::Fresh);
    if (f.kept()) {
      const Conntrack::Recovery r = dp->conntrack_->recover();
      dp->conntrack_origin_ =
          "kept " + std::to_string(r.kept) + " connections from " + f.path() +
          " (each judged again by the first generation; dropped: " + std::to_string(r.unfinished) +
          " caught mid-update, " + std::to_string(r.inconsistent) + " inconsistent)";
    } else {
      dp->conntrack_origin_ = "new table in " + f.path() + " (" + f.why_fresh() + ")";
    }
  } else {
    dp->conntrack_memory_ = rte_zmalloc("palisade-conntrack", ct_bytes, Conntrack::kAlignment);
    if (dp->conntrack_memory_ == nullptr) {
      return policy::Error{policy::ErrorCode::LimitExceeded,
                           "conntrack",
                           {},
                           "max_flows",
                           "cannot allocate " + std::to_string(ct_bytes >> 20) + " MiB for " +
                               std::to_string(config.conntrack_max_flows) + " flows"};
    }
    // A seed per start: a pod cannot aim keys at one window of a table it cannot predict.
    const uint32_t seed = std::random_device{}();
    dp->conntrack_ = std::make_unique<Conntrack>(dp->conntrack_memory_, config.conntrack_max_flows,
                                                 config.timeouts, rte_get_tsc_hz(), seed);
    dp->conntrack_origin_ = "in process memory (lost on restart)";
  }

  for (uint32_t w = 0; w < workers; ++w) {
    rte_ring* ring = rte_ring_create_elem(
        ("palisade-flows-" + suffix + "-" + std::to_string(w)).c_str(), sizeof(FlowEvent),
        config.flow_log_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ring == nullptr) {
      return policy::Error{
          policy::ErrorCode::LimitExceeded,
          "flow log",
          {},
          {},
          std::string("cannot create the flow-log ring: ") + rte_strerror(rte_errno)};
    }
    dp->flow_logs_.push_back(ring);
    WorkerSetup setup;
    setup.id = w;
    setup.rx = rx[w];
    setup.roles = &dp->roles_;
    setup.publisher = &dp->publisher_;
    setup.conntrack = dp->conntrack_.get();
    setup.flow_log = ring;
    setup.ticks_per_second = rte_get_tsc_hz();
    setup.rejudge_established = config.rejudge_established;
    setup.tcp_window_tracking = config.tcp_window_tracking;
    setup.tcp_loose_pickup = config.tcp_loose_pickup;
    setup.stop = &dp->stop_;
    dp->workers_.push_back(std::make_unique<Worker>(setup));
  }
  if (config.launch_workers) {
    for (uint32_t w = 0; w < workers; ++w) {
      const uint32_t lcore = config.workers[w].lcore;
      if (int rc = rte_eal_remote_launch(&Worker::run, dp->workers_[w].get(), lcore); rc != 0) {
        dp->stop();
        return policy::Error{
            policy::ErrorCode::Unsupported,
            "workers",
            {},
            {},
            "cannot launch a worker on lcore " + std::to_string(lcore) + ": " + rte_strerror(-rc)};
      }
      dp->worker_lcores_.push_back(lcore);
    }
    dp->launched_ = true;
  } else {
    // Stepped workers report quiescent from the caller's thread.
    for (uint32_t w = 0; w < workers; ++w) {
      rte_rcu_qsbr_thread_register(dp->publisher_.qsbr(), w);
      rte_rcu_qsbr_thread_online(dp->publisher_.qsbr(), w);
    }
  }
  return dp;
}

void Dataplane::stop() {
  stop_.store(true, std::memory_order_relaxed);
  for (uint32_t lcore : worker_lcores_) {
    rte_eal_wait_lcore(lcore);
  }
  worker_lcores_.clear();
}

Dataplane::~Dataplane() {
  stop();
  for (uint16_t id : started_ports_) {
    rte_eth_dev_stop(id);
    rte_eth_dev_close(id);  // vhost-user: unregisters, and removes a server's socket
  }
  workers_.clear();
  conntrack_.reset();
  rte_free(conntrack_memory_);
  conntrack_file_.reset();  // unmapped and unlocked; the table stays in the file
  for (rte_ring* r : flow_logs_) {
    rte_ring_free(r);
  }
  rte_mempool_free(pool_);
}

policy::Result<uint64_t> Dataplane::publish(policy::CompiledPolicy&& compiled,
                                            const std::vector<PortBinding>& bindings) {
  RulesetOptions options;
  options.workers = workers_.size();
  options.max_size = config_.acl_max_size;
  options.tables = &tables_;
  auto built = build_ruleset(next_generation_, std::move(compiled), bindings, options);
  if (!built) {
    return built.error();
  }
  const uint64_t generation = next_generation_++;
  publisher_.publish(std::move(built).value());
  return generation;
}

void Dataplane::housekeeping() {
  publisher_.reclaim();
  if (expiry_token_) {
    if (rte_rcu_qsbr_check(publisher_.qsbr(), *expiry_token_, false) == 0) {
      return;  // a worker may still be comparing a dying slot's key
    }
    conntrack_->release_dying();
    expiry_token_.reset();
  }
  // A scan of the whole table (about 100 ms at a million flows): once a second is enough for
  // timeouts counted in seconds.
  const uint64_t now = rte_rdtsc();
  if (now - last_expiry_scan_ < rte_get_tsc_hz()) {
    return;
  }
  last_expiry_scan_ = now;
  if (conntrack_->mark_expired(now) != 0) {
    expiry_token_ = rte_rcu_qsbr_start(publisher_.qsbr());
  }
}

void Dataplane::set_tcp_window_tracking(bool on) {
  for (auto& w : workers_) {
    w->set_tcp_window_tracking(on);
  }
}

void Dataplane::flush_conntrack() {
  conntrack_->for_each_live([&](uint32_t index, const FlowEntry&) { conntrack_->remove(index); });
  // Removed slots become Dying here, before the grace period starts (conntrack.h).
  conntrack_->mark_expired(rte_rdtsc());
  const uint64_t token = rte_rcu_qsbr_start(publisher_.qsbr());
  while (rte_rcu_qsbr_check(publisher_.qsbr(), token, false) == 0) {
    if (!launched_) {
      for (uint32_t w = 0; w < workers_.size(); ++w) {
        rte_rcu_qsbr_quiescent(publisher_.qsbr(), w);
      }
    }
    rte_pause();
  }
  conntrack_->release_dying();
  expiry_token_.reset();
}

void Dataplane::drain_flow_events(const std::function<void(const FlowEvent&)>& fn) {
  FlowEvent batch[64];
  for (rte_ring* ring : flow_logs_) {
    unsigned n = 0;
    while ((n = rte_ring_sc_dequeue_burst_elem(ring, batch, sizeof(FlowEvent), 64, nullptr)) != 0) {
      for (unsigned i = 0; i < n; ++i) {
        fn(batch[i]);
      }
    }
  }
}

std::vector<CounterValues> Dataplane::worker_counters() const {
  std::vector<CounterValues> out;
  out.reserve(workers_.size());
  for (const auto& w : workers_) {
    out.push_back(w->counters().load());
  }
  return out;
}

std::vector<std::string> Dataplane::port_names() const {
  std::vector<std::string> names;
  for (const auto& [name, id] : port_ids_) {
    if (names.size() <= id) {
      names.resize(id + 1);
    }
    names[id] = name;
  }
  return names;
}

DataplaneTotals Dataplane::totals() const {
  DataplaneTotals t;
  for (const CounterValues& c : worker_counters()) {
    t.sum += c;
  }
  const Ruleset* rs = publisher_.current();
  t.generation = rs != nullptr ? rs->generation : 0;
  t.conntrack_live = conntrack_->live();
  return t;
}

std::optional<uint16_t> Dataplane::port_id(const std::string& name) const {
  for (const auto& [n, id] : port_ids_) {
    if (n == name) {
      return id;
    }
  }
  return std::nullopt;
}

}  // namespace palisade::dataplane
