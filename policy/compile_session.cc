#include "policy/compile_session.h"

#include <algorithm>
#include <chrono>

#include "policy/resolver.h"

namespace palisade::policy {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

bool is_pod_key(const ObjectKey& key) { return key.kind == "Pod" && key.group.empty(); }

const Pod* pod_of(const Object* obj) {
  return obj == nullptr ? nullptr : std::get_if<Pod>(&obj->body);
}

// More changes than this, and one full compile is cheaper than patching one by one.
constexpr size_t kMaxIncrementalChanges = 256;

// Where a policy sits in the evaluation order, and what names it.
auto placement(const Policy& p) { return std::tie(p.kind, p.ns, p.name, p.band, p.tier, p.order); }

}  // namespace

CompileSession::CompileSession(CompileOptions options) : options_(std::move(options)) {}
CompileSession::~CompileSession() = default;

void CompileSession::release_retired() { retired_.reset(); }

std::string CompileSession::Update::describe() const {
  if (!incremental) {
    return "full compile (" + why_full + ")";
  }
  return "incremental: " + std::to_string(pods_changed) + " pod" + (pods_changed == 1 ? "" : "s") +
         " and " + std::to_string(policies_changed) + " polic" +
         (policies_changed == 1 ? "y" : "ies") + " changed; " + std::to_string(sets_made) +
         " sets made, " + std::to_string(sets_remade) + " remade, " + std::to_string(sets_freed) +
         " freed";
}

Result<CompileSession::Update> CompileSession::update(const ObjectStore& store) {
  if (!valid_) {
    return full(store, snap_ ? "the last update failed" : "first compile");
  }
  if (&store != last_store_) {
    return full(store, "another store");
  }
  std::optional<std::vector<ObjectKey>> keys = store.changed_since(store_version_);
  if (!keys) {
    return full(store, "more changes than the store remembers");
  }
  std::vector<ObjectKey> pods, policies;
  for (const ObjectKey& key : *keys) {
    if (is_pod_key(key)) {
      pods.push_back(key);
    } else if (policy_entries_.contains(key)) {
      policies.push_back(key);
    } else {
      return full(store, key.to_string() + " changed");
    }
  }
  if (keys->size() > kMaxIncrementalChanges) {
    return full(store, std::to_string(keys->size()) + " objects changed");
  }
  std::set<IpAddr> arriving;  // addresses the changed pods have now, across the batch
  for (const ObjectKey& key : pods) {
    if (std::string why = check_pod(store, key); !why.empty()) {
      return full(store, why);
    }
    const Pod* pod = pod_of(store.find(key));
    for (const IpAddr& ip : pod != nullptr && !pod->finished ? pod->ips : std::vector<IpAddr>{}) {
      if (!arriving.insert(ip).second) {
        return full(store, "two changed pods have " + ip.to_string());
      }
    }
  }
  for (const ObjectKey& key : policies) {
    if (std::string why = check_policy(store, key); !why.empty()) {
      return full(store, why);
    }
  }
  Update u;
  u.incremental = true;
  valid_ = false;  // until the update is whole
  // The snapshot is patched whole before any set is made from it.
  std::set<uint32_t> dirty, made;
  const PolicyReach reach = replace_policies(store, policies, u);
  if (Result<bool> r = apply_pods(store, pods, u, dirty, made); !r) {
    return r.error();
  }
  if (Result<bool> r = resolve_again(reach, u, dirty, made); !r) {
    return r.error();
  }
  if (Result<bool> r = remake(dirty, made, u); !r) {
    return r.error();
  }
  return conclude(store, std::move(u));
}

Result<CompileSession::Update> CompileSession::conclude(const ObjectStore& store, Update u) {
  const auto start = Clock::now();
  Result<CompiledPolicy> compiled = assemble();
  if (!compiled) {
    return compiled.error();
  }
  u.compile_ms += ms_since(start);
  u.compiled = std::move(compiled).value();
  u.snapshot_errors = snapshot_errors_;
  store_version_ = store.version();
  last_store_ = &store;
  valid_ = true;
  return u;
}

// Whether one pod's change can be applied alone: it is an endpoint (or none) before and
// after, and no address it has, had or gets is another endpoint's or a node's.
std::string CompileSession::check_pod(const ObjectStore& store, const ObjectKey& key) const {
  const EndpointId id{key.ns, key.name};
  const Pod* pod = pod_of(store.find(key));
  if (host_network_pods_.contains(id) || (pod != nullptr && pod->host_network && !pod->finished)) {
    return "host-networked pod " + key.scoped_name() + " changed";
  }
  const Endpoint* old = find_endpoint(id);
  std::vector<IpAddr> old_ips = old == nullptr ? std::vector<IpAddr>{} : old->ips;
  if (std::set<IpAddr>(old_ips.begin(), old_ips.end()).size() != old_ips.size()) {
    return "pod " + key.scoped_name() + " lists an address twice";
  }
  for (const IpAddr& ip : old_ips) {
    if (claims_.at(ip) != 1) {
      return "pod " + key.scoped_name() + " shares an address";
    }
  }
  if (pod == nullptr || pod->finished) {
    return "";
  }
  std::set<IpAddr> seen;
  for (const IpAddr& ip : pod->ips) {
    const auto it = claims_.find(ip);
    const bool others =
        it != claims_.end() && it->second > 0 && std::ranges::find(old_ips, ip) == old_ips.end();
    if (!seen.insert(ip).second || others || snap_->node_at(ip) != nullptr) {
      return "pod " + key.scoped_name() + " has an address another endpoint or node has";
    }
  }
  return "";
}

Result<bool> CompileSession::apply_pods(const ObjectStore& store,
                                        const std::vector<ObjectKey>& keys, Update& u,
                                        std::set<uint32_t>& dirty, std::set<uint32_t>& made) {
  if (keys.empty()) {
    return true;
  }
  auto start = Clock::now();
  std::vector<EndpointId> arrived;
  for (const ObjectKey& key : keys) {
    const EndpointId id{key.ns, key.name};
    const Endpoint* old = find_endpoint(id);
    const Object* obj = store.find(key);
    const Pod* pod = pod_of(obj);
    std::optional<Endpoint> fresh = pod == nullptr ? std::nullopt : pod_endpoint(*pod, obj->source);
    if (old == nullptr && !fresh) {
      continue;  // a pod that is no endpoint, before and after
    }
    ++u.pods_changed;
    // Sets whose rules read this pod, as it was or as it is.
    std::optional<Selectable> was, is;
    if (old != nullptr) {
      was = selectable_of(*snap_, *old);
    }
    if (fresh) {
      is = make_selectable(*snap_, *fresh);
    }
    for (const auto& [selector_key, readers] : selector_readers_) {
      if ((was && selects(*snap_, readers.selector, *was)) ||
          (is && selects(*snap_, readers.selector, *is))) {
        dirty.insert(readers.sets.begin(), readers.sets.end());
      }
    }
    for (const Endpoint* ep :
         std::initializer_list<const Endpoint*>{old, fresh ? &*fresh : nullptr}) {
      if (ep == nullptr) {
        continue;
      }
      for (const NamedPort& np : ep->named_ports) {
        if (auto it = port_name_readers_.find(np.name); it != port_name_readers_.end()) {
          dirty.insert(it->second.begin(), it->second.end());
        }
      }
    }
    if (old == nullptr || !fresh || old->ips != fresh->ips) {
      dirty.insert(pod_address_readers_.begin(), pod_address_readers_.end());
    }
    // Out with the old endpoint, in with the new.
    if (old != nullptr) {
      for (const IpAddr& ip : old->ips) {
        if (--claims_[ip] == 0) {
          claims_.erase(ip);
        }
      }
      if (auto m = members_.find(id); m != members_.end()) {
        leave(m->second.egress, id, &u);
        leave(m->second.ingress, id, &u);
        unbind(id);
      }
    }
    if (fresh) {
      for (const IpAddr& ip : fresh->ips) {
        ++claims_[ip];
      }
      arrived.push_back(id);
    }
    snap_->replace_workload(key.ns, key.name, std::move(fresh));
  }
  compiler_->endpoints_changed();
  u.snapshot_ms += ms_since(start);

  start = Clock::now();
  for (const EndpointId& id : arrived) {
    const Endpoint* ep = find_endpoint(id);
    if (options_.node && ep->node != *options_.node) {
      continue;
    }
    Member& member = members_[id];
    for (Direction dir : {Direction::Egress, Direction::Ingress}) {
      const size_t made_before = u.sets_made;
      Result<uint32_t> set = join(*ep, dir, &u);
      if (!set) {
        return set.error();
      }
      (dir == Direction::Egress ? member.egress : member.ingress) = *set;
      if (u.sets_made > made_before) {
        made.insert(*set);
      }
    }
    bind(*ep, member, ep->ips);  // check_pod() saw that no other endpoint claims them
  }
  u.compile_ms += ms_since(start);
  return true;
}

std::string CompileSession::check_policy(const ObjectStore& store, const ObjectKey& key) const {
  const Object* obj = store.find(key);
  const auto* lowered = obj == nullptr ? nullptr : std::get_if<std::vector<Policy>>(&obj->body);
  if (lowered == nullptr) {
    return key.to_string() + " removed";
  }
  const std::vector<size_t>& entries = policy_entries_.at(key);
  if (lowered->size() != entries.size()) {
    return key.to_string() + " changed its number of rule bands";
  }
  for (size_t j = 0; j < entries.size(); ++j) {
    if (placement((*lowered)[j]) != placement(snap_->policies[entries[j]])) {
      return key.to_string() + " moved in the evaluation order";
    }
  }
  return "";
}

CompileSession::PolicyReach CompileSession::replace_policies(const ObjectStore& store,
                                                             const std::vector<ObjectKey>& keys,
                                                             Update& u) {
  PolicyReach reach;
  if (keys.empty()) {
    return reach;
  }
  const auto start = Clock::now();
  for (const ObjectKey& key : keys) {
    const auto& lowered = std::get<std::vector<Policy>>(store.find(key)->body);
    const std::vector<size_t>& entries = policy_entries_.at(key);
    for (size_t j = 0; j < entries.size(); ++j) {
      Policy& in_force = snap_->policies[entries[j]];
      for (const Policy* p : std::initializer_list<const Policy*>{&in_force, &lowered[j]}) {
        if (p->applies_to.scope.kind == Scope::Kind::Namespace) {
          reach.namespaces.insert(p->applies_to.scope.ns);
        } else {
          reach.unconfined = true;
        }
      }
      in_force = lowered[j];
      reach.changed.insert(static_cast<int32_t>(entries[j]));
    }
    ++u.policies_changed;
  }
  compiler_->policies_changed();
  u.snapshot_ms += ms_since(start);
  return reach;
}

Result<bool> CompileSession::resolve_again(const PolicyReach& reach, Update& u,
                                           std::set<uint32_t>& dirty, std::set<uint32_t>& made) {
  if (reach.changed.empty()) {
    return true;
  }
  const auto& changed = reach.changed;
  const auto& namespaces = reach.namespaces;
  const bool unconfined = reach.unconfined;
  const auto start = Clock::now();
  // The sets that apply a changed policy have new rules, whoever their members are now.
  for (const Set& set : sets_) {
    if (set.members > 0 &&
        std::ranges::any_of(set.policies, [&](int32_t p) { return changed.contains(p); })) {
      dirty.insert(set.meta.id);
    }
  }
  // Each endpoint the changed policies may apply to is resolved again.
  std::vector<EndpointId> reached;
  for (const auto& [id, member] : members_) {
    if (unconfined || namespaces.contains(id.first)) {
      reached.push_back(id);
    }
  }
  for (const EndpointId& id : reached) {
    const Endpoint* ep = find_endpoint(id);
    Member& m = members_.at(id);
    for (Direction dir : {Direction::Egress, Direction::Ingress}) {
      uint32_t& current = dir == Direction::Egress ? m.egress : m.ingress;
      const SetKey key = compiler_->key(*ep, dir);
      if (key.text == sets_[current - 1].meta.key) {
        continue;
      }
      leave(current, id, &u);
      const size_t made_before = u.sets_made;
      Result<uint32_t> set = join(*ep, dir, &u);
      if (!set) {
        return set.error();
      }
      current = *set;
      if (u.sets_made > made_before) {
        made.insert(*set);
      }
    }
    for (const IpAddr& ip : m.bound) {
      bindings_[ip].egress_set = m.egress;
      bindings_[ip].ingress_set = m.ingress;
    }
  }
  u.compile_ms += ms_since(start);
  return true;
}

// Sets whose rules the changes reach are made again, from any member.
Result<bool> CompileSession::remake(const std::set<uint32_t>& dirty, const std::set<uint32_t>& made,
                                    Update& u) {
  const auto start = Clock::now();
  for (uint32_t id : dirty) {
    Set& set = sets_[id - 1];
    if (set.members == 0 || made.contains(id)) {
      continue;  // freed, or made from this snapshot already
    }
    const Endpoint* member = find_endpoint(set.representative);
    const SetKey key = compiler_->key(*member, set.meta.direction);
    Result<SetRules> rules = compiler_->rules(*member, key);
    if (!rules) {
      return rules.error();
    }
    drop_readers(id);
    set.rules = std::move(rules).value();
    add_readers(id);
    ++u.sets_remade;
  }
  u.compile_ms += ms_since(start);
  return true;
}

Result<uint32_t> CompileSession::join(const Endpoint& ep, Direction dir, Update* u) {
  SetKey key = compiler_->key(ep, dir);
  const EndpointId member{ep.ns, ep.name};
  if (auto it = id_by_key_.find(key.text); it != id_by_key_.end()) {
    ++sets_[it->second - 1].members;
    return it->second;
  }
  Result<SetRules> rules = compiler_->rules(ep, key);
  if (!rules) {
    return rules.error();
  }
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    sets_.emplace_back();
    id = static_cast<uint32_t>(sets_.size());
  }
  Set& set = sets_[id - 1];
  set.meta = PolicySet{id, dir, key.profile_allows, key.text};
  set.rules = std::move(rules).value();
  set.policies.clear();
  for (const AppliedTier& t : key.applied) {
    for (const Policy* p : t.policies) {
      set.policies.push_back(static_cast<int32_t>(p - snap_->policies.data()));
    }
  }
  set.members = 1;
  set.representative = member;
  id_by_key_.emplace(std::move(key.text), id);
  add_readers(id);
  if (u != nullptr) {
    ++u->sets_made;
  }
  return id;
}

void CompileSession::leave(uint32_t id, const EndpointId& member, Update* u) {
  Set& set = sets_[id - 1];
  if (--set.members > 0) {
    if (set.representative == member) {
      // Another member stands for the set: any endpoint still judged by it.
      for (const auto& [id_, m] : members_) {
        if (id_ != member && (m.egress == id || m.ingress == id)) {
          set.representative = id_;
          break;
        }
      }
    }
    return;
  }
  // No endpoint is judged by it any more: its id is free, with no rules, until reused.
  drop_readers(id);
  id_by_key_.erase(set.meta.key);
  set.rules = SetRules{};
  set.policies.clear();
  set.meta.key.clear();
  free_ids_.push_back(id);
  if (u != nullptr) {
    ++u->sets_freed;
  }
}

void CompileSession::bind(const Endpoint& ep, Member& m, const std::vector<IpAddr>& owned) {
  for (const IpAddr& ip : owned) {
    bindings_[ip] =
        EndpointBinding{ip, m.egress, m.ingress, ep.ns.empty() ? ep.name : ep.ns + "/" + ep.name};
    m.bound.push_back(ip);
  }
}

void CompileSession::unbind(const EndpointId& id) {
  auto it = members_.find(id);
  for (const IpAddr& ip : it->second.bound) {
    bindings_.erase(ip);
  }
  members_.erase(it);
}

void CompileSession::add_readers(uint32_t id) {
  const PeerReads& reads = sets_[id - 1].rules.reads;
  for (const auto& [key, selector] : reads.selectors) {
    auto [it, added] = selector_readers_.try_emplace(key);
    if (added) {
      it->second.selector = *selector;  // a copy: the policy it came from may be replaced
    }
    it->second.sets.insert(id);
  }
  for (const std::string& name : reads.port_names) {
    port_name_readers_[name].insert(id);
  }
  if (reads.pod_addresses) {
    pod_address_readers_.insert(id);
  }
}

void CompileSession::drop_readers(uint32_t id) {
  const PeerReads& reads = sets_[id - 1].rules.reads;
  for (const auto& [key, selector] : reads.selectors) {
    if (auto it = selector_readers_.find(key); it != selector_readers_.end()) {
      it->second.sets.erase(id);
      if (it->second.sets.empty()) {
        selector_readers_.erase(it);
      }
    }
  }
  for (const std::string& name : reads.port_names) {
    if (auto it = port_name_readers_.find(name); it != port_name_readers_.end()) {
      it->second.erase(id);
      if (it->second.empty()) {
        port_name_readers_.erase(it);
      }
    }
  }
  pod_address_readers_.erase(id);
}

const Endpoint* CompileSession::find_endpoint(const EndpointId& id) const {
  const auto& eps = snap_->endpoints;
  const auto workloads_end = std::ranges::partition_point(
      eps, [](const Endpoint& e) { return e.kind == EndpointKind::Workload; });
  if (!id.first.empty()) {
    const auto at = std::lower_bound(
        eps.begin(), workloads_end, id, [](const Endpoint& e, const EndpointId& key) {
          return std::tie(e.ns, e.name) < std::tie(key.first, key.second);
        });
    return at != workloads_end && at->ns == id.first && at->name == id.second ? &*at : nullptr;
  }
  for (auto it = workloads_end; it != eps.end(); ++it) {
    if (it->name == id.second) {
      return &*it;
    }
  }
  return nullptr;
}

Result<CompileSession::Update> CompileSession::full(const ObjectStore& store, std::string why) {
  valid_ = false;
  Update u;
  u.why_full = std::move(why);
  auto start = Clock::now();
  const std::vector<Object> objects = store.objects();
  SnapshotBuild build = build_snapshot(objects);
  std::set<EndpointId> host_network;
  for (const Object& obj : objects) {
    if (const Pod* pod = pod_of(&obj); pod != nullptr && pod->host_network && !pod->finished) {
      host_network.insert({pod->ns, pod->name});
    }
  }
  u.snapshot_ms = ms_since(start);

  start = Clock::now();
  // What the last full compile built is kept until release_retired(): freeing ~10k
  // endpoints' worth of maps takes ~20 ms at 10k pods, better spent after the publish.
  retired_ = std::make_unique<Retired>(
      Retired{std::move(snap_), std::move(compiler_), std::move(sets_), std::move(id_by_key_),
              std::move(selector_readers_), std::move(port_name_readers_), std::move(members_),
              std::move(claims_), std::move(bindings_), std::move(policy_entries_)});
  snap_ = std::move(build.snapshot);
  snapshot_errors_ = std::move(build.errors);
  host_network_pods_ = std::move(host_network);
  sets_.clear();  // moved from: empty, but say so
  free_ids_.clear();
  id_by_key_.clear();
  selector_readers_.clear();
  port_name_readers_.clear();
  pod_address_readers_.clear();
  members_.clear();
  claims_.clear();
  bindings_.clear();
  policy_names_.clear();
  // One object may lower into several policies of one name and band (a Cilium policy's
  // specs): they keep their relative order in the snapshot, so they are matched in order.
  std::map<std::tuple<PolicyKind, std::string, std::string, uint8_t>, std::vector<size_t>> at;
  for (size_t i = 0; i < snap_->policies.size(); ++i) {
    const Policy& p = snap_->policies[i];
    policy_names_.push_back(p.qualified_name());
    at[std::tuple{p.kind, p.ns, p.name, p.band}].push_back(i);
  }
  policy_entries_.clear();
  for (const Object& obj : objects) {
    const auto* lowered = std::get_if<std::vector<Policy>>(&obj.body);
    if (lowered == nullptr) {
      continue;
    }
    std::vector<size_t> entries;
    std::map<std::tuple<PolicyKind, std::string, std::string, uint8_t>, size_t> taken;
    for (const Policy& p : *lowered) {
      const auto identity = std::tuple{p.kind, p.ns, p.name, p.band};
      auto it = at.find(identity);
      size_t& next = taken[identity];
      if (it != at.end() && next < it->second.size()) {
        entries.push_back(it->second[next++]);
      }
    }
    if (entries.size() == lowered->size()) {  // else not in force (its tier is missing)
      policy_entries_.emplace(obj.key, std::move(entries));
    }
  }
  compiler_ = std::make_unique<SetCompiler>(*snap_, options_);
  if (compiler_->error()) {
    return *compiler_->error();
  }
  for (const Endpoint& ep : snap_->endpoints) {
    // An address belongs to its first endpoint, on this node or not, as endpoint_at() and
    // compile() decide; only full compiles meet an address that two endpoints claim.
    std::vector<IpAddr> owned;
    for (const IpAddr& ip : std::set<IpAddr>(ep.ips.begin(), ep.ips.end())) {
      if (++claims_[ip] == 1) {
        owned.push_back(ip);
      }
    }
    if (options_.node && ep.node != *options_.node) {
      continue;
    }
    Member& member = members_[EndpointId{ep.ns, ep.name}];
    for (Direction dir : {Direction::Egress, Direction::Ingress}) {
      Result<uint32_t> set = join(ep, dir, nullptr);
      if (!set) {
        return set.error();
      }
      (dir == Direction::Egress ? member.egress : member.ingress) = *set;
    }
    bind(ep, member, owned);
  }
  u.sets_made = sets_.size();
  u.compile_ms = ms_since(start);
  return conclude(store, std::move(u));
}

Result<CompiledPolicy> CompileSession::assemble() const {
  CompiledPolicy out;
  out.tier_names = compiler_->tier_names();
  out.num_categories = compiler_->num_categories();
  out.policy_names = policy_names_;
  out.verdicts.emplace_back();  // index 0: rte_acl's "no match"
  out.sets.reserve(sets_.size());
  for (const Set& set : sets_) {
    out.sets.push_back(set.meta);
    append_set(out, set.meta.id, set.rules);
  }
  out.endpoints.reserve(bindings_.size());
  for (const auto& [ip, binding] : bindings_) {
    out.endpoints.push_back(binding);
  }
  if (auto e = check_rule_limit(out, options_, "after the update")) {
    return *e;
  }
  return out;
}

}  // namespace palisade::policy
