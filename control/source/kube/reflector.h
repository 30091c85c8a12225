// Reflector: keeps one kind's objects flowing from the API server, the way client-go's
// reflector does: list (in pages, one consistent resourceVersion), then watch from that
// resourceVersion; a watch that ends or drops is resumed from the last resourceVersion seen
// (bookmarks included); a resourceVersion the server no longer has (410 Gone / Expired)
// means a fresh list. Failures back off exponentially with jitter, honouring Retry-After.
// A kind the server does not serve (its CRD is not installed: 404) is reported once and
// looked for again every `missing_recheck_s`.
//
// Thread: each Reflector runs its own thread; everything it learns goes to its sink.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "control/source/kube/api_client.h"
#include "control/source/kube/watched_kinds.h"

namespace palisade::control::kube {

struct KindEvent {
  enum class Type : uint8_t {
    Listed,   // objects: the whole kind as of a consistent list (replaces what was known)
    Upsert,   // objects[0] was added or modified
    Delete,   // objects[0] was deleted
    Missing,  // the kind is not served: none of its objects exist
  };
  size_t kind = 0;  // index into watched_kinds()
  Type type = Type::Upsert;
  std::vector<nlohmann::json> objects;  // complete objects: kind and apiVersion filled in
  std::chrono::steady_clock::time_point arrived;
};

enum class ReflectorState : uint8_t { Starting, Listing, Watching, BackingOff, Missing, Stopped };
const char* reflector_state_name(ReflectorState s);

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void deliver(KindEvent event) = 0;
  // A state change, with a line for the log ("pods: list failed: HTTP 500: ...").
  virtual void state_changed(size_t kind, ReflectorState state, const std::string& line) = 0;
};

struct ReflectorOptions {
  int page_size = 500;
  int watch_timeout_s = 300;  // asked of the server; each watch gets up to +50% jitter
  int read_timeout_s = 0;     // silence that ends a watch; 0: watch timeout + 30 s
  double backoff_initial_s = 0.25;
  double backoff_max_s = 30;
  int missing_recheck_s = 30;
  ApiTimeouts timeouts;
};

class Reflector {
 public:
  Reflector(size_t kind, const ClusterAccess& access, const ReflectorOptions& options,
            EventSink& sink);
  ~Reflector();  // stops
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  void start();
  void stop();

  // Counters, for tests and metrics.
  uint64_t lists() const { return lists_.load(); }
  uint64_t watches() const { return watches_.load(); }
  uint64_t relists_after_expiry() const { return expired_.load(); }
  uint64_t failures() const { return failures_total_.load(); }
  uint64_t bad_events() const { return bad_events_.load(); }

 private:
  enum class WatchEnd : uint8_t { Ended, Expired, Failed, Stopped };

  void run();
  // A full list into one Listed event; false on failure (already reported).
  bool list();
  WatchEnd watch();
  // Waits `seconds` unless stopped first; false when stopped.
  bool sleep_for(double seconds);
  void back_off(const std::string& why, std::optional<int> retry_after_s);
  void set_state(ReflectorState s, const std::string& line);
  bool stopping() const { return stop_.load(); }
  nlohmann::json complete(nlohmann::json object) const;

  const size_t kind_index_;
  const WatchedKind& kind_;
  ClusterAccess access_;
  ReflectorOptions options_;
  EventSink& sink_;
  std::unique_ptr<ApiClient> client_;
  std::string resource_version_;
  uint32_t consecutive_failures_ = 0;
  ReflectorState state_ = ReflectorState::Starting;
  bool reported_missing_ = false;  // the kind's absence was delivered and logged

  std::atomic<bool> stop_{false};
  std::mutex sleep_mutex_;
  std::condition_variable sleep_cv_;
  std::thread thread_;

  std::atomic<uint64_t> lists_{0}, watches_{0}, expired_{0}, failures_total_{0}, bad_events_{0};
};

}  // namespace palisade::control::kube
