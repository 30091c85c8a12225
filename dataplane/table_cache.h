// TableCache: the rte_acl tables of successive policy generations, built incrementally on the
// control thread. Each generation's policy is rebased onto the last policy built in full
// (policy/rebase.h): the sets it shares with that base keep the base's tables, and only the
// sets that differ are built, into a small overlay. An update that changes a few sets costs a
// build of their rules, not of every rule of the node.
//
// A full build replaces the base when there is none yet, when the tiers (categories) changed,
// or when the overlay would pass its bound (rules that differ from the base, which grows as
// the cluster drifts from it, and costs time in every overlay build and a split per burst).
//
// Thread: control thread only. Errors leave the cache as it was.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "dataplane/acl_tables.h"
#include "policy/compiled_policy.h"
#include "policy/error.h"
#include "policy/rebase.h"

namespace palisade::dataplane {

struct TableCacheOptions {
  size_t max_size = 0;  // rte_acl max_size per context; 0: no bound
  // The overlay may hold up to max(min_overlay_rules, base rules * max_overlay_share) rules
  // before a full build makes a new base. rte_acl builds at roughly 25 us a rule whatever
  // the context's size, so an overlay of half the base costs half a full build, and a
  // smaller bound would turn the broad changes (a pod that most sets admit) into full builds.
  size_t min_overlay_rules = 2048;
  double max_overlay_share = 0.5;
};

// What one build did, for the logs and /metrics.
struct TableBuild {
  bool full = true;            // a new base; otherwise an overlay over the current base
  std::string why_full;        // what made it a full build
  policy::RebaseStats rebase;  // for an overlay: sets reused, sets and rules in the overlay
  size_t base_rules = 0;       // rules in the base tables
  double ms = 0;               // rebase and rte_acl builds
  std::string describe() const;
};

class TableCache {
 public:
  explicit TableCache(TableCacheOptions options = {}) : options_(options) {}

  // Tables for `policy` (a full compile). When it builds an overlay, `policy` is replaced by
  // its rebased form, which the tables' set ids and verdict indexes follow.
  policy::Result<std::unique_ptr<AclTables>> build(policy::CompiledPolicy& policy,
                                                   TableBuild* info = nullptr);
  // Forgets the base: the next build is a full one.
  void reset();

 private:
  TableCacheOptions options_;
  std::optional<policy::BaseIndex> index_;
  std::shared_ptr<const AclTables::Base> base_tables_;
};

}  // namespace palisade::dataplane
