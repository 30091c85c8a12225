// AclTables: the rte_acl contexts of one CompiledPolicy, one per address family, and the
// classify call over them. Built on the control thread; immutable once built, so workers may
// classify on them concurrently (rte_acl_classify is thread-safe for a built context).
//
// Limits: max_size bounds each context's run-time memory (rte_acl_config.max_size); a build
// that does not fit fails with LimitExceeded, and the caller keeps its previous tables.
#pragma once

#include <rte_acl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "dataplane/acl_fields.h"
#include "dataplane/hot/classify.h"
#include "policy/compiled_policy.h"
#include "policy/error.h"

namespace palisade::dataplane {

class AclTables {
 public:
  struct FamilyStats {
    size_t rules = 0;  // in the tables this build made (the overlay's, if it made one)
    double build_ms = 0;
    size_t memory_bytes = 0;  // EAL heap taken by the context (rules and tries)
  };
  // The contexts of a full build, shared by the tables of policies rebased onto it.
  class Base;

  // Needs the EAL started (rte_acl allocates from its heap). max_size 0: no bound. The
  // policy must not be a rebased one (overlay_first_set == 0).
  static policy::Result<std::unique_ptr<AclTables>> build(const policy::CompiledPolicy& policy,
                                                          size_t max_size = 0);
  // Tables for a policy rebased onto the one `base` was built from (policy/rebase.h): the
  // base's contexts are shared, and only the rules of sets from rebased.overlay_first_set on
  // are built, into an overlay context per family.
  static policy::Result<std::unique_ptr<AclTables>> build_over(
      std::shared_ptr<const Base> base, const policy::CompiledPolicy& rebased, size_t max_size = 0);
  ~AclTables();
  AclTables(const AclTables&) = delete;
  AclTables& operator=(const AclTables&) = delete;

  // What workers classify against (dataplane/hot/classify.h).
  const ClassifyTables& view() const { return view_; }
  // Classifies n keys of one family, as a worker does (dataplane/hot/classify.h).
  void classify(uint8_t family, const uint8_t** keys, uint32_t* results, uint32_t n) const;
  // The first-match result per category for a family with no rules is 0 everywhere.
  uint32_t num_categories() const { return num_categories_; }
  // Selects a classify method (SCALAR, SSE, AVX2, AVX512X16, AVX512X32); false when this CPU
  // or build lacks it. For tests that hold every method to the same expectations. Applies to
  // the base's contexts too, which other tables over the same base share.
  bool set_algorithm(enum rte_acl_classify_alg alg);
  const FamilyStats& stats(uint8_t family) const { return stats_[family == 4 ? 0 : 1]; }
  std::shared_ptr<const Base> base() const { return base_; }
  bool has_overlay() const { return overlay_first_set_ != 0; }
  // The context that holds the rules of the base sets.
  rte_acl_ctx* context(uint8_t family) const;

 private:
  AclTables() = default;
  void refresh_view();

  std::shared_ptr<const Base> base_;
  std::array<rte_acl_ctx*, 2> overlay_{};  // owned; only with overlay_first_set_ != 0
  uint32_t overlay_first_set_ = 0;
  std::array<FamilyStats, 2> stats_{};
  uint32_t num_categories_ = 1;
  ClassifyTables view_;
};

// Fills a key from a flow's fields. set_id 0 never matches a rule (sets start at 1).
void fill_key(AclKeyV4& key, uint8_t proto, uint32_t set_id, const policy::IpAddr& src,
              const policy::IpAddr& dst, uint16_t sport, uint16_t dport);
void fill_key(AclKeyV6& key, uint8_t proto, uint32_t set_id, const policy::IpAddr& src,
              const policy::IpAddr& dst, uint16_t sport, uint16_t dport);

}  // namespace palisade::dataplane
