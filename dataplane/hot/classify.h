// What a burst is classified against: one generation's rte_acl contexts, one per address
// family, and for a generation rebased onto an earlier one's tables (policy/rebase.h) an
// overlay context holding the sets from overlay_first_set on. Made and owned by
// dataplane/acl_tables; read-only while published (rte_acl_classify is thread-safe on a built
// context), so workers classify on it concurrently.
#pragma once

#include <rte_acl.h>

#include <array>
#include <cstdint>

namespace palisade::dataplane {

// rte_acl's limit (RTE_ACL_MAX_CATEGORIES): one category per tier plus the exceptions.
inline constexpr uint32_t kMaxCategories = 16;
static_assert(kMaxCategories == RTE_ACL_MAX_CATEGORIES);

struct ClassifyTables {
  std::array<const rte_acl_ctx*, 2> base{};     // [0] IPv4, [1] IPv6; null: no rules
  std::array<const rte_acl_ctx*, 2> overlay{};  // only with overlay_first_set != 0
  uint32_t overlay_first_set = 0;               // 0: every set's rules are in base
  uint32_t categories = 1;                      // results per key
};

// Classifies n keys of one family (AclKeyV4* or AclKeyV6* as bytes); writes n * categories
// results, 0 where a category had no match. With an overlay, each key goes to the one
// context that holds its set's rules.
void classify(const ClassifyTables& tables, uint8_t family, const uint8_t** keys, uint32_t* results,
              uint32_t n) noexcept;

}  // namespace palisade::dataplane
