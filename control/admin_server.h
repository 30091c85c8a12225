// AdminServer: the daemon's admin API over HTTP (the node file's admin.listen).
//   GET /healthz  200 while the control thread is alive (it published within the last
//                 10 s); 503 when it is stuck. For a liveness probe.
//   GET /readyz   200 once a policy generation is in force and the policy source is in
//                 sync; 503 with the reason otherwise (not ready yet, or fail-static: the
//                 API server is lost and the last good generation is being enforced).
//   GET /metrics  Prometheus text exposition (control/metrics.h).
//   GET /stats    the same counters as JSON (`palisadectl stats` reads it).
//   GET /flows?after=SEQ  the latest flow lines, oldest first, with their sequence numbers
//                 (`palisadectl flows` reads it, and follows by passing the last one seen).
//
// Threads: the HTTP server runs on its own threads and never touches the dataplane. The
// control thread renders everything into an AdminView and hands it over with publish(); the
// server answers from the last view handed over. Nothing here is on the packet path.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "policy/error.h"

namespace httplib {
class Server;
}

namespace palisade::control {

struct AdminView {
  bool ready = false;
  std::string readiness;   // why ready, or why not; then one line per holdback
  std::string metrics;     // Prometheus text
  std::string stats_json;  // JSON object
};

class AdminServer {
 public:
  // Binds `listen` ("host:port"; port 0 picks a free one) and starts serving.
  static policy::Result<std::unique_ptr<AdminServer>> start(const std::string& listen);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  uint16_t port() const { return port_; }

  void publish(AdminView view);
  // Keeps the latest `capacity` flow lines.
  void add_flow_line(std::string line);

  static constexpr size_t kFlowLines = 4096;
  static constexpr std::chrono::seconds kStalledAfter{10};

 private:
  AdminServer();
  void install_routes();

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;

  mutable std::mutex mutex_;  // guards everything below
  AdminView view_;
  std::chrono::steady_clock::time_point published_at_;
  std::deque<std::pair<uint64_t, std::string>> flows_;
  uint64_t next_flow_seq_ = 1;
};

// "host:port" into its parts; the error names the value.
policy::Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& listen);

}  // namespace palisade::control
