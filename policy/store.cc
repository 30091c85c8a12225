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
  return out + " [" + outcome_name(outcome) + "]";
}

ObjectStore::Report ObjectStore::apply(Decoded decoded) {
  if (decoded.object) {
    Object& obj = decoded.object.value();
    ObjectKey key = obj.key;
    invalid_.erase(key);
    const bool existed = good_.contains(key);
    good_.insert_or_assign(key, std::move(obj));
    changed(key);
    return {existed ? Outcome::Updated : Outcome::Added, key, std::nullopt};
  }
  const Error& error = decoded.object.error();
  if (!decoded.key) {
    return {Outcome::Rejected, std::nullopt, error};  // not even a name to keep it by
  }
  invalid_.insert_or_assign(*decoded.key, error);
  if (good_.contains(*decoded.key)) {
    return {Outcome::KeptLastGood, decoded.key, error};
  }
  return {Outcome::Rejected, decoded.key, error};
}

ObjectStore::Report ObjectStore::remove(const ObjectKey& key) {
  const bool had_invalid = invalid_.erase(key) > 0;
  if (good_.erase(key) > 0) {
    changed(key);
    return {Outcome::Deleted, key, std::nullopt};
  }
  if (had_invalid) {
    return {Outcome::Deleted, key, std::nullopt};
  }
  return {Outcome::NotFound, key, std::nullopt};
}

void ObjectStore::changed(const ObjectKey& key) {
  ++version_;
  journal_.push_back(key);
  if (journal_.size() > kJournalLength) {
    journal_.pop_front();
  }
}

const Object* ObjectStore::find(const ObjectKey& key) const {
  auto it = good_.find(key);
  return it == good_.end() ? nullptr : &it->second;
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
  out.reserve(good_.size());
  for (const auto& [key, obj] : good_) {
    out.push_back(obj);
  }
  return out;
}

}  // namespace palisade::policy
