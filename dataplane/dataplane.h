// Dataplane: the running packet path of a node: EAL memory, mbuf pool, ports, the shared
// conntrack table, one Worker per lcore, and the Publisher through which the control thread
// puts each policy generation in force. Built from a DataplaneConfig (control/ makes one from
// the node file); the EAL must already be started.
//
// Threads: everything here is called from the control thread (the main lcore); the workers
// run on their lcores from start() until stop(). With `launch_workers` false nothing is
// launched and the caller steps the workers itself (Worker::poll), as the dataplane
// verification engine and the integration tests do.
#pragma once

#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/conntrack_file.h"
#include "dataplane/hot/conntrack.h"
#include "dataplane/hot/flow_event.h"
#include "dataplane/publisher.h"
#include "dataplane/ruleset.h"
#include "dataplane/worker.h"
#include "policy/error.h"

namespace palisade::dataplane {

struct DataplaneConfig {
  struct Port {
    std::string name;    // as the node file names it
    std::string device;  // the ethdev's name (net_vhost0, 0000:3b:00.1, a ring port's name)
    bool pod = true;
    Mac next_hop{};  // uplink
    uint16_t rx_descriptors = 1024, tx_descriptors = 1024;
    std::optional<uint16_t> mtu;  // nullopt: the device's default
  };
  struct Worker {
    uint32_t lcore = 0;
    std::vector<std::string> ports;  // empty: every port
  };
  std::vector<Port> ports;
  std::vector<Worker> workers;
  uint32_t mbufs = 8191;
  Mac gateway_mac{0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
  std::array<uint8_t, 16> gateway_ipv6{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  std::array<uint8_t, 4> gateway_ipv4{169, 254, 1, 1};
  uint32_t conntrack_max_flows = 1u << 16;
  // A file that keeps the conntrack table across restarts (dataplane/conntrack_file.h);
  // empty: the table lives in this process's memory and dies with it.
  std::string conntrack_state_file;
  ConntrackTimeouts timeouts;
  bool rejudge_established = true;
  bool tcp_window_tracking = true;
  bool tcp_loose_pickup = false;
  uint32_t flow_log_size = 4096;  // events per worker ring (a power of two)
  bool launch_workers = true;
  size_t acl_max_size = 0;
};

struct DataplaneTotals {
  CounterValues sum;  // every worker's counters added up
  uint64_t generation = 0;
  uint32_t conntrack_live = 0;
};

class Dataplane {
 public:
  static policy::Result<std::unique_ptr<Dataplane>> start(const DataplaneConfig& config);
  ~Dataplane();  // stops the workers, then the ports
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  // Builds a generation from a compiled policy and puts it in force; the previous one
  // stays in force when building fails. Returns the new generation's number.
  policy::Result<uint64_t> publish(policy::CompiledPolicy&& compiled,
                                   const std::vector<PortBinding>& bindings);
  // The generation in force (control thread only); nullptr before the first publish.
  const Ruleset* current() const { return publisher_.current(); }

  // Control-thread upkeep, called often (every few ms to 100 ms): frees retired generations
  // and ages connections out, each only once every worker has moved past it.
  void housekeeping();
  // Ends every tracked connection (the next packet of each is judged as a new one).
  // Returns once no worker can still match one. Stepped workers are polled meanwhile.
  void flush_conntrack();
  // Benchmarks only, with stepped workers (launch_workers false): window tracking on or off
  // in one run, so that its cost is measured against the same tables and connections.
  void set_tcp_window_tracking(bool on);

  // Events recorded by the workers since the last call.
  void drain_flow_events(const std::function<void(const FlowEvent&)>& fn);
  DataplaneTotals totals() const;
  // Each worker's counters, loaded without stopping it (in config order).
  std::vector<CounterValues> worker_counters() const;
  // Port names by port id ("" where no port of this node is).
  std::vector<std::string> port_names() const;
  // Where the conntrack table came from: "kept 12 connections from FILE ...", "new in FILE
  // (why)", or "in process memory". For the daemon's log.
  const std::string& conntrack_origin() const { return conntrack_origin_; }
  uint32_t conntrack_capacity() const { return config_.conntrack_max_flows; }

  std::optional<uint16_t> port_id(const std::string& name) const;
  const PortRoles& roles() const { return roles_; }
  std::vector<std::unique_ptr<Worker>>& workers() { return workers_; }
  rte_mempool* pool() const { return pool_; }

  void stop();

 private:
  explicit Dataplane(const DataplaneConfig& config);

  DataplaneConfig config_;
  rte_mempool* pool_ = nullptr;
  std::vector<uint16_t> started_ports_;
  std::vector<std::pair<std::string, uint16_t>> port_ids_;
  PortRoles roles_;
  Publisher<Ruleset> publisher_;
  TableCache tables_;  // each generation's tables, as an overlay over the last full build
  void* conntrack_memory_ = nullptr;  // rte_zmalloc'ed, when there is no state file
  std::unique_ptr<ConntrackFile> conntrack_file_;
  std::unique_ptr<Conntrack> conntrack_;
  std::string conntrack_origin_;
  std::vector<rte_ring*> flow_logs_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<uint32_t> worker_lcores_;
  std::atomic<bool> stop_{false};
  bool launched_ = false;
  uint64_t next_generation_ = 1;
  std::optional<uint64_t> expiry_token_;  // conntrack slots marked dying, waiting for RCU
  uint64_t last_expiry_scan_ = 0;         // TSC of the last mark_expired scan
};

// The EAL, from the arguments a node file gives (argv[0] included). Once per process.
policy::Result<bool> start_eal(const std::vector<std::string>& args);

}  // namespace palisade::dataplane
