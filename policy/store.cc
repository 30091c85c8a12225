#include "policy/store.h"

#include <set>

namespace palisade::policy {

const char* outcome_name(ObjectStore::Outcome o) {
  switch (o) {
    case ObjectStore::Outcome::Added:
      return "added";
    case ObjectStore::Outcome::Updated:
      return "updated";
    case ObjectStore::Outcome::Rejected:
      return "rejected";
    case ObjectStore::Outcome::KeptLastGood:
      return "invalid, last good version kept in force";
    case ObjectStore::Outcome::Deleted:
      return "deleted";
    case ObjectStore::Outcome::NotFound:
      return "not found";
  }
  return "?";
}

std::string ObjectStore::Report::to_string() const {
  std::string out = error ? error->to_string() : (key ? key->to_string() : std::string("?"));
  out += " [" + std::string(outcome_name(outcome));
  if (!hold.empty()) {
    out += "; " + hold;
  }
  return out + "]";
}

namespace {

// "ingress and egress", "ingress", "egress" over what the held policies isolate.
std::string held_directions(const std::vector<Policy>& held) {
  bool in = false, out = false;
  for (const Policy& p : held) {
    in = in || p.has_type(Direction::Ingress);
    out = out || p.has_type(Direction::Egress);
  }
  return in && out ? "ingress and egress" : in ? "ingress" : out ? "egress" : "no direction";
}

}  // namespace

std::string ObjectStore::hold(const ObjectKey& key, Decoded& decoded) {
  if (!decoded.unheld.empty()) {
    return decoded.unheld;
  }
  if (decoded.held.empty()) {
    return {};  // not a policy
  }
  if (!hold_rejected_) {
    return "nothing held in its place (policy.hold_rejected is off)";
  }
  const std::string directions = held_directions(decoded.held);
  const Error& error = decoded.object.error();
  // Replaced every time: a new version may select other endpoints with the same error.
  // (Sources apply only what changed: a file whose bytes changed, a new resourceVersion.)
  held_.insert_or_assign(key, Held{Object{key, {}, error.source, std::move(decoded.held)}, error});
  changed(key);
  return "its endpoints are held isolated (" + directions + ") until a good version arrives";
}

ObjectStore::Report ObjectStore::apply(Decoded decoded) {
  if (decoded.object) {
    Object& obj = decoded.object.value();
    ObjectKey key = obj.key;
    invalid_.erase(key);
    held_.erase(key);
    const bool existed = good_.contains(key);
    good_.insert_or_assign(key, std::move(obj));
    changed(key);
    return {existed ? Outcome::Updated : Outcome::Added, key, std::nullopt, {}};
  }
  const Error& error = decoded.object.error();
  if (!decoded.key) {
    return {Outcome::Rejected, std::nullopt, error, {}};  // not even a name to keep it by
  }
  invalid_.insert_or_assign(*decoded.key, error);
  if (good_.contains(*decoded.key)) {
    return {Outcome::KeptLastGood, decoded.key, error, {}};
  }
  const ObjectKey key = *decoded.key;
  const Error copy = error;
  std::string hold_report = hold(key, decoded);
  return {Outcome::Rejected, key, copy, std::move(hold_report)};
}

ObjectStore::Report ObjectStore::remove(const ObjectKey& key) {
  const bool had_invalid = invalid_.erase(key) > 0;
  const bool had_held = held_.erase(key) > 0;
  if (good_.erase(key) > 0 || had_held) {
    changed(key);
    return {Outcome::Deleted, key, std::nullopt, {}};
  }
  if (had_invalid) {
    return {Outcome::Deleted, key, std::nullopt, {}};
  }
  return {Outcome::NotFound, key, std::nullopt, {}};
}

void ObjectStore::changed(const ObjectKey& key) {
  ++version_;
  journal_.push_back(key);
  if (journal_.size() > kJournalLength) {
    journal_.pop_front();
  }
}

const Object* ObjectStore::find(const ObjectKey& key) const {
  if (auto it = good_.find(key); it != good_.end()) {
    return &it->second;
  }
  auto held = held_.find(key);
  return held == held_.end() ? nullptr : &held->second.object;
}

std::optional<std::vector<ObjectKey>> ObjectStore::changed_since(uint64_t version) const {
  if (version > version_ || version_ - version > journal_.size()) {
    return std::nullopt;
  }
  std::set<ObjectKey> keys(journal_.end() - static_cast<std::ptrdiff_t>(version_ - version),
                           journal_.end());
  return std::vector<ObjectKey>(keys.begin(), keys.end());
}

std::vector<Object> ObjectStore::objects() const {
  std::vector<Object> out;
  out.reserve(good_.size() + held_.size());
  auto good = good_.begin();
  auto held = held_.begin();
  while (good != good_.end() || held != held_.end()) {  // a merge, in key order
    if (held == held_.end() || (good != good_.end() && good->first < held->first)) {
      out.push_back((good++)->second);
    } else {
      out.push_back((held++)->second.object);
    }
  }
  return out;
}

}  // namespace palisade::policy
