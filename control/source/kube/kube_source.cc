#include "control/source/kube/kube_source.h"

#include "control/source/kube/json_yaml.h"
#include "control/source/kube/watched_kinds.h"
#include "policy/decode.h"

namespace palisade::control::kube {

KubeSource::KubeSource(const ClusterAccess& access, const KubeSourceOptions& options)
    : access_(access), options_(options) {
  const size_t kinds = watched_kinds().size();
  states_.assign(kinds, ReflectorState::Starting);
  unhealthy_since_.assign(kinds, Clock::now());
  known_.resize(kinds);
  listed_.assign(kinds, false);
  applied_versions_.resize(kinds);
  store_.set_hold_rejected(options.rules.hold_rejected);
}

KubeSource::~KubeSource() {
  // Reflectors stop in parallel: each stop() aborts its request at once.
  for (auto& r : reflectors_) {
    r->stop();
  }
}

policy::Result<bool> KubeSource::start() {
  for (size_t k = 0; k < watched_kinds().size(); ++k) {
    EventSink& sink = *this;
    reflectors_.push_back(std::make_unique<Reflector>(k, access_, options_.reflector, sink));
  }
  for (auto& r : reflectors_) {
    r->start();
  }
  return true;
}

void KubeSource::deliver(KindEvent event) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(event));
  }
  changed_.notify_all();
}

void KubeSource::state_changed(size_t kind, ReflectorState state, const std::string& line) {
  std::lock_guard lock(mutex_);
  const bool was_healthy =
      states_[kind] == ReflectorState::Watching || states_[kind] == ReflectorState::Missing;
  const bool is_healthy = state == ReflectorState::Watching || state == ReflectorState::Missing;
  if (was_healthy && !is_healthy) {
    unhealthy_since_[kind] = Clock::now();
  }
  states_[kind] = state;
  if (!line.empty()) {
    log_lines_.push_back(line);
  }
}

bool KubeSource::pending() const {
  std::lock_guard lock(mutex_);
  return !queue_.empty() || !log_lines_.empty();
}

bool KubeSource::wait_for_change(int timeout_ms, int debounce_ms) {
  std::unique_lock lock(mutex_);
  if (!changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                         [this] { return !queue_.empty(); })) {
    return !log_lines_.empty();  // state lines alone are worth a refresh (they get logged)
  }
  // Collect until quiet for debounce_ms, or for max_batch_ms in all.
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.max_batch_ms);
  for (size_t seen = queue_.size(); Clock::now() < deadline; seen = queue_.size()) {
    const auto quiet_until =
        std::min(deadline, Clock::now() + std::chrono::milliseconds(debounce_ms));
    if (!changed_.wait_until(lock, quiet_until, [&] { return queue_.size() != seen; })) {
      break;
    }
  }
  return true;
}

namespace {

// "namespace/name" and resourceVersion of an API object ("" when absent).
std::pair<std::string, std::string> name_and_version(const nlohmann::json& object) {
  const nlohmann::json& meta = object.value("metadata", nlohmann::json::object());
  auto text = [&](const char* field) {
    auto it = meta.find(field);
    return it != meta.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  return {text("namespace") + "/" + text("name"), text("resourceVersion")};
}

}  // namespace

std::optional<policy::ObjectKey> KubeSource::apply_object(size_t kind, nlohmann::json& object,
                                                          Update& update) {
  const auto [name, version] = name_and_version(object);
  auto& applied = applied_versions_[kind];
  if (!version.empty()) {
    if (auto it = applied.find(name); it != applied.end() && it->second.version == version) {
      return it->second.key;  // the version already applied: nothing changed
    }
  }
  prune_for_policy(object);
  // Strict, as files: a misspelt field in a policy must not widen it.
  policy::Decoded decoded =
      policy::decode_document(to_yaml(object), options_.rules.decode_options("api", true));
  std::optional<policy::ObjectKey> key = decoded.key;
  if (key && !version.empty()) {
    applied[name] = Applied{version, *key};
  }
  policy::ObjectStore::Report r = store_.apply(std::move(decoded));
  if (r.error) {
    update.problems.push_back(r.to_string());
  }
  return key;
}

void KubeSource::apply(KindEvent& event, Update& update) {
  std::set<policy::ObjectKey>& known = known_[event.kind];
  switch (event.type) {
    case KindEvent::Type::Listed: {
      std::set<policy::ObjectKey> now;
      for (nlohmann::json& object : event.objects) {
        if (std::optional<policy::ObjectKey> key = apply_object(event.kind, object, update)) {
          now.insert(*key);
        }
      }
      // What the list no longer holds was deleted while we were not watching.
      for (const policy::ObjectKey& key : known) {
        if (!now.contains(key)) {
          store_.remove(key);
          applied_versions_[event.kind].erase(key.ns + "/" + key.name);
        }
      }
      known = std::move(now);
      listed_[event.kind] = true;
      break;
    }
    case KindEvent::Type::Upsert:
      if (std::optional<policy::ObjectKey> key =
              apply_object(event.kind, event.objects.at(0), update)) {
        known.insert(*key);
      }
      break;
    case KindEvent::Type::Delete: {
      // Only the key matters; an object that no longer decodes is deleted all the same.
      nlohmann::json& object = event.objects.at(0);
      prune_for_policy(object);
      policy::Decoded decoded =
          policy::decode_document(to_yaml(object), policy::DecodeOptions{"api", false});
      if (decoded.key) {
        store_.remove(*decoded.key);
        known.erase(*decoded.key);
        applied_versions_[event.kind].erase(decoded.key->ns + "/" + decoded.key->name);
      } else {
        update.problems.push_back("api: a " + std::string(watched_kinds()[event.kind].kind) +
                                  " deletion without a name was ignored");
      }
      break;
    }
    case KindEvent::Type::Missing:
      for (const policy::ObjectKey& key : known) {
        store_.remove(key);
      }
      known.clear();
      applied_versions_[event.kind].clear();
      listed_[event.kind] = true;
      break;
  }
}

PolicySource::Update KubeSource::refresh() {
  std::deque<KindEvent> events;
  Update update;
  {
    std::lock_guard lock(mutex_);
    events.swap(queue_);
    update.log.swap(log_lines_);
  }
  size_t objects = 0;
  const uint64_t before = store_.version();
  for (KindEvent& e : events) {
    objects += e.objects.size();
    update.arrivals.push_back(e.arrived);
    apply(e, update);
  }
  update.changed = store_.version() != before;
  update.summary = std::to_string(events.size()) + " events, " + std::to_string(objects) +
                   " objects received; " + std::to_string(store_.size()) + " objects in force";
  return update;
}

bool KubeSource::synced() const {
  for (bool listed : listed_) {
    if (!listed) {
      return false;
    }
  }
  return true;
}

bool KubeSource::healthy() const {
  std::lock_guard lock(mutex_);
  for (ReflectorState s : states_) {
    if (s != ReflectorState::Watching && s != ReflectorState::Missing) {
      return false;
    }
  }
  return true;
}

std::string KubeSource::state() const {
  std::lock_guard lock(mutex_);
  std::string waiting, failing;
  const auto now = Clock::now();
  double longest = 0;
  for (size_t k = 0; k < states_.size(); ++k) {
    const std::string resource = watched_kinds()[k].qualified_resource();
    if (!listed_[k]) {
      waiting += (waiting.empty() ? "" : ", ") + resource;
    }
    if (states_[k] == ReflectorState::BackingOff) {
      failing += (failing.empty() ? "" : ", ") + resource;
      longest = std::max(longest, std::chrono::duration<double>(now - unhealthy_since_[k]).count());
    }
  }
  if (!waiting.empty()) {
    return "waiting for the first list of " + waiting;
  }
  if (!failing.empty()) {
    return "API server unreachable or failing for " + std::to_string(static_cast<int>(longest)) +
           " s (" + failing + "): enforcing the last good snapshot";
  }
  return "in sync with " + access_.server;
}

}  // namespace palisade::control::kube
