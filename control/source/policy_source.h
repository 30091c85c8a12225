// PolicySource: where the daemon's objects come from, behind one interface: a directory of
// manifests (DirectorySource) or the Kubernetes API (KubeSource). The daemon waits for a
// change, has the source bring its store up to date, and compiles the store's objects into
// the next generation.
//
// Thread: the control thread calls everything here; a source may run threads of its own.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "policy/decode.h"
#include "policy/error.h"
#include "policy/store.h"

namespace palisade::control {

// How a source reads objects, from the node file's policy settings: the same for every
// source.
struct ReadingRules {
  // A rejected policy object with no good version holds the endpoints it selects isolated
  // (policy/store.h); policy.hold_rejected.
  bool hold_rejected = true;
  // Cilium CIDR peers also select nodes (policy/decode.h); policy.cilium_cidr_match_mode.
  bool cilium_cidr_matches_nodes = false;

  policy::DecodeOptions decode_options(std::string source, bool strict) const {
    policy::DecodeOptions o;
    o.source = std::move(source);
    o.strict = strict;
    o.cilium_cidr_matches_nodes = cilium_cidr_matches_nodes;
    return o;
  }
};

class PolicySource {
 public:
  using Clock = std::chrono::steady_clock;

  struct Update {
    std::string summary;                      // "3 files, 41 objects" / "12 events"
    std::vector<std::string> problems;        // one line per rejected or kept-last-good object
    std::vector<std::string> log;             // what else happened (a kind found missing, ...)
    std::vector<Clock::time_point> arrivals;  // when each event applied here arrived
    bool changed = true;  // what is in force changed (false: e.g. a relist of the same objects)
  };

  virtual ~PolicySource() = default;
  // Starts watching for changes.
  virtual policy::Result<bool> start() = 0;
  // Waits up to timeout_ms for a change; after the first, keeps collecting until debounce_ms
  // pass without one (bounded, so that steady churn still gets published). True when
  // something changed.
  virtual bool wait_for_change(int timeout_ms, int debounce_ms) = 0;
  // Brings the store up to date with everything received so far.
  virtual Update refresh() = 0;
  virtual const policy::ObjectStore& store() const = 0;
  // The store holds a complete view: nothing may be compiled before (a partial view would
  // allow or deny by accident).
  virtual bool synced() const = 0;
  // Still connected to what it reads; false: the last good view stays (fail-static).
  virtual bool healthy() const = 0;
  // One line for logs and /readyz: "directory /etc/palisade/policies", "in sync", ...
  virtual std::string describe() const = 0;
  virtual std::string state() const = 0;
  // Events collected but not yet applied by refresh().
  virtual bool pending() const = 0;
};

}  // namespace palisade::control
