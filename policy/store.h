// ObjectStore: the objects in force, keyed by kind/namespace/name, with the rule for bad
// input in one place:
//   - a new object that fails to decode is rejected; nothing of it is in force;
//   - an object that was good and is replaced by a version that fails to decode keeps its
//     last good version in force (and the report says so), so that a bad edit never opens or
//     closes traffic by surprise;
//   - a new policy object that fails to decode holds the endpoints its selector selects
//     isolated, in the directions it names, until a good version arrives (Decoded::held),
//     so that a rejected default-deny never leaves pods open; set_hold_rejected(false)
//     turns this off (the node file's `policy.hold_rejected`);
//   - deleting an object removes it, whatever state it was in.
// Thread: not thread-safe; the control thread owns it.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/decode.h"

namespace palisade::policy {

class ObjectStore {
 public:
  enum class Outcome : uint8_t { Added, Updated, Rejected, KeptLastGood, Deleted, NotFound };
  struct Report {
    Outcome outcome;
    std::optional<ObjectKey> key;
    std::optional<Error> error;  // Rejected, KeptLastGood
    // Rejected: what is held in its place ("holds its endpoints isolated (ingress)"), or
    // why nothing is.
    std::string hold;
    std::string to_string() const;
  };
  // A rejected policy object's isolation, in force in its place (see above).
  struct Held {
    Object object;  // body: the held policies
    Error error;
  };

  void set_hold_rejected(bool hold) { hold_rejected_ = hold; }
  bool hold_rejected() const { return hold_rejected_; }

  Report apply(Decoded decoded);
  Report remove(const ObjectKey& key);

  // Every object in force, ordered by key (so snapshots do not depend on arrival order):
  // the good ones and the isolation held for rejected ones.
  std::vector<Object> objects() const;
  // The object in force under `key` (good or held), or nullptr.
  const Object* find(const ObjectKey& key) const;
  // The keys of the objects added, replaced or deleted since version() was `version`, each
  // once, in key order; nullopt when the store no longer remembers that far back (it keeps
  // the last kJournalLength changes), so that a caller then starts over from objects().
  std::optional<std::vector<ObjectKey>> changed_since(uint64_t version) const;
  static constexpr size_t kJournalLength = 1 << 16;
  // Objects whose latest version is invalid, with that version's error.
  const std::map<ObjectKey, Error>& invalid() const { return invalid_; }
  // Rejected policy objects whose isolation is in force in their place.
  const std::map<ObjectKey, Held>& held() const { return held_; }
  // Good objects in force (held isolation not counted).
  size_t size() const { return good_.size(); }
  // Moves whenever what is in force changes (an object added, replaced or deleted), so that
  // a caller can tell a batch of updates that changed nothing (a relist) from one that did.
  uint64_t version() const { return version_; }

 private:
  std::map<ObjectKey, Object> good_;
  std::map<ObjectKey, Error> invalid_;
  std::map<ObjectKey, Held> held_;
  bool hold_rejected_ = true;
  uint64_t version_ = 0;
  std::deque<ObjectKey> journal_;  // the key each of the last versions changed

  void changed(const ObjectKey& key);
  std::string hold(const ObjectKey& key, Decoded& decoded);
};

const char* outcome_name(ObjectStore::Outcome o);

}  // namespace palisade::policy
