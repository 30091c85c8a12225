// KubeSource: the policy source of a node in a cluster. One Reflector per watched kind
// (control/source/kube/watched_kinds.h) lists and watches the API server; their events queue here
// and are applied to the object store on the control thread, each object decoded alone (a
// bad one is rejected with its name and field, or keeps its last good version; the rest
// applies).
//
// Nothing is compiled before every kind has been listed once (synced()): a partial view
// would allow or deny by accident. When the API server is lost, the store keeps its last
// view and the daemon keeps enforcing it (fail-static); healthy() and state() say so.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "control/source/kube/cluster_access.h"
#include "control/source/kube/reflector.h"
#include "control/source/policy_source.h"

namespace palisade::control::kube {

struct KubeSourceOptions {
  ReflectorOptions reflector;
  // Under steady churn a change is published after at most this long, debounce or not.
  int max_batch_ms = 1000;
  ReadingRules rules;  // the node file's policy settings
};

class KubeSource : public PolicySource, public EventSink {
 public:
  KubeSource(const ClusterAccess& access, const KubeSourceOptions& options);
  ~KubeSource() override;

  policy::Result<bool> start() override;
  bool wait_for_change(int timeout_ms, int debounce_ms) override;
  Update refresh() override;
  const policy::ObjectStore& store() const override { return store_; }
  bool synced() const override;
  bool healthy() const override;
  std::string describe() const override { return "kubernetes " + access_.server; }
  std::string state() const override;
  bool pending() const override;

  const std::vector<std::unique_ptr<Reflector>>& reflectors() const { return reflectors_; }

  // EventSink: the reflectors deliver here (from their threads); tests deliver directly.
  void deliver(KindEvent event) override;
  void state_changed(size_t kind, ReflectorState state, const std::string& line) override;

 private:
  void apply(KindEvent& event, Update& update);
  // Decodes one object and applies it; returns its key when it had one.
  std::optional<policy::ObjectKey> apply_object(size_t kind, nlohmann::json& object,
                                                Update& update);

  ClusterAccess access_;
  KubeSourceOptions options_;
  std::vector<std::unique_ptr<Reflector>> reflectors_;

  mutable std::mutex mutex_;  // guards the queue and the states below
  std::condition_variable changed_;
  std::deque<KindEvent> queue_;
  std::vector<std::string> log_lines_;
  std::vector<ReflectorState> states_;
  std::vector<Clock::time_point> unhealthy_since_;

  // Control thread only.
  policy::ObjectStore store_;
  std::vector<std::set<policy::ObjectKey>> known_;  // per kind: keys applied from it
  std::vector<bool> listed_;                        // per kind: a full view is in the store
  // Per kind: "namespace/name" -> the resourceVersion last applied and the object's key. An
  // object that comes again unchanged (a relist, a resumed watch's replay) is not decoded
  // again.
  struct Applied {
    std::string version;
    policy::ObjectKey key;
  };
  std::vector<std::map<std::string, Applied>> applied_versions_;
};

}  // namespace palisade::control::kube
