// CompileSession: the compiler of a node that follows a stream of changes. It keeps the
// snapshot it compiled last, each policy set's rules with what those rules read from other
// endpoints, and each endpoint's sets, so that an update that only adds, removes or changes
// pods costs those pods and the sets whose peers they are, not the cluster:
//   - the snapshot is patched in place (Snapshot::replace_workload), not built again;
//   - a changed pod is resolved again, and its sets are found by key or made;
//   - a set is made again when a selector it read selects the pod before or after the
//     change, when it resolved a port name the pod declares, or when it read every pod's
//     address (the cluster and world entities);
//   - every other set keeps its id and rules, every other endpoint its binding.
// A policy changed in place (the same tier and order, so the same place in the evaluation
// order) is incremental too: the endpoints it may apply to, before or after, are resolved
// again, and the sets that apply it are made again.
// Anything else (a policy added or removed, a namespace, tier, network set, node or service
// account; a host-networked pod; an address that two endpoints claim) is a full compile,
// which starts the session afresh. Either way the output is the policy compile() makes of the same
// objects, up to the numbering of sets and verdicts: tests/policy/compile_session_test.cc
// holds every incremental update to that.
//
// Thread: the control thread; not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "policy/compiler.h"
#include "policy/set_compiler.h"
#include "policy/snapshot.h"
#include "policy/store.h"

namespace palisade::policy {

class CompileSession {
 public:
  explicit CompileSession(CompileOptions options = {});
  ~CompileSession();

  struct Update {
    CompiledPolicy compiled;
    std::vector<Error> snapshot_errors;  // objects left out of the snapshot (build_snapshot)
    bool incremental = false;
    std::string why_full;         // what made it a full compile
    size_t pods_changed = 0;      // incremental: pods added, removed or changed
    size_t policies_changed = 0;  // incremental: policy objects changed in place
    size_t sets_made = 0, sets_remade = 0, sets_freed = 0;
    double snapshot_ms = 0, compile_ms = 0;
    // "incremental: 1 pod changed, 2 sets made, 3 remade" or "full compile (a Tier changed)".
    std::string describe() const;
  };

  // Compiles the objects the store holds, reusing what the changes since the last update
  // left alone. After an error the session compiles the next update in full.
  Result<Update> update(const ObjectStore& store);

  // The snapshot the last successful update compiled; valid until the next update.
  const Snapshot* snapshot() const { return snap_.get(); }

  // Frees what the last full compile replaced. A caller that publishes the update first
  // keeps the free out of its latency; otherwise the next full compile frees it.
  void release_retired();

 private:
  using EndpointId = std::pair<std::string, std::string>;  // namespace, name
  struct Set {
    PolicySet meta;
    SetRules rules;
    std::vector<int32_t> policies;  // applied, by index into the snapshot's policies
    uint32_t members = 0;           // endpoint directions judged by it; 0: the id is free
    EndpointId representative;      // one of them, to make the rules from
  };
  struct Member {
    uint32_t egress = 0, ingress = 0;
    std::vector<IpAddr> bound;  // the addresses bound to it
  };
  struct Readers {
    EndpointSelector selector;
    std::set<uint32_t> sets;
  };

  Result<Update> full(const ObjectStore& store, std::string why);
  // Assembles the policy of the update and puts the session in step with the store.
  Result<Update> conclude(const ObjectStore& store, Update u);
  // Patches the snapshot for changed pods and finds the sets they reach (`dirty`), making
  // the sets of the pods that arrived (`made`).
  Result<bool> apply_pods(const ObjectStore& store, const std::vector<ObjectKey>& keys,
                          Update& update, std::set<uint32_t>& dirty, std::set<uint32_t>& made);
  // Replaces changed policies in the snapshot, in place; says where they may apply.
  struct PolicyReach {
    std::set<int32_t> changed;         // indexes into the snapshot's policies
    std::set<std::string> namespaces;  // where they may apply, before or after
    bool unconfined = false;           // anywhere
  };
  PolicyReach replace_policies(const ObjectStore& store, const std::vector<ObjectKey>& keys,
                               Update& update);
  // Resolves again the endpoints the changed policies may apply to, and finds the sets that
  // apply them.
  Result<bool> resolve_again(const PolicyReach& reach, Update& update, std::set<uint32_t>& dirty,
                             std::set<uint32_t>& made);
  // Why a change cannot be applied alone ("" when it can).
  std::string check_pod(const ObjectStore& store, const ObjectKey& key) const;
  std::string check_policy(const ObjectStore& store, const ObjectKey& key) const;
  Result<bool> remake(const std::set<uint32_t>& dirty, const std::set<uint32_t>& made,
                      Update& update);
  Result<uint32_t> join(const Endpoint& ep, Direction dir, Update* update);
  void leave(uint32_t id, const EndpointId& member, Update* update);
  void bind(const Endpoint& ep, Member& m, const std::vector<IpAddr>& owned);
  void unbind(const EndpointId& id);
  void add_readers(uint32_t id);
  void drop_readers(uint32_t id);
  const Endpoint* find_endpoint(const EndpointId& id) const;
  Result<CompiledPolicy> assemble() const;

  CompileOptions options_;
  std::unique_ptr<Snapshot> snap_;
  std::unique_ptr<SetCompiler> compiler_;
  bool valid_ = false;
  const ObjectStore* last_store_ = nullptr;  // what store_version_ is a version of
  uint64_t store_version_ = 0;
  std::vector<Error> snapshot_errors_;
  std::set<EndpointId> host_network_pods_;
  std::vector<std::string> policy_names_;
  // The snapshot's policies each policy object lowered into, by index.
  std::map<ObjectKey, std::vector<size_t>> policy_entries_;

  std::vector<Set> sets_;  // sets_[id - 1]
  std::vector<uint32_t> free_ids_;
  std::unordered_map<std::string, uint32_t> id_by_key_;
  std::map<std::string, Readers> selector_readers_;  // by the selector's cache key
  std::map<std::string, std::set<uint32_t>> port_name_readers_;
  std::set<uint32_t> pod_address_readers_;

  std::map<EndpointId, Member> members_;  // the endpoints judged on this node
  std::map<IpAddr, uint32_t> claims_;     // how many endpoints (any node) claim each address
  std::map<IpAddr, EndpointBinding> bindings_;

  struct Retired {
    std::unique_ptr<Snapshot> snap;
    std::unique_ptr<SetCompiler> compiler;  // reads snap: freed first
    std::vector<Set> sets;
    std::unordered_map<std::string, uint32_t> id_by_key;
    std::map<std::string, Readers> selector_readers;
    std::map<std::string, std::set<uint32_t>> port_name_readers;
    std::map<EndpointId, Member> members;
    std::map<IpAddr, uint32_t> claims;
    std::map<IpAddr, EndpointBinding> bindings;
    std::map<ObjectKey, std::vector<size_t>> policy_entries;
  };
  std::unique_ptr<Retired> retired_;
};

}  // namespace palisade::policy
