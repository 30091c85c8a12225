// The classify key's fields as rte_acl is told them when a context is built: the key itself
// (dataplane/hot/acl_key.h) is what a burst fills. Both families come from one description
// (acl_key_fields): IPv6 addresses are four 32-bit fields, since rte_acl fields are at most 32
// bits wide for masks. Rules hold host order; keys hold network order.
#pragma once

#include <rte_acl.h>
#include <rte_byteorder.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dataplane/hot/acl_key.h"

namespace palisade::dataplane {

// Field indexes of a rule, in order: proto, set id, src words, dst words, sport, dport.
inline constexpr size_t kAddressWords4 = 1, kAddressWords6 = 4;
inline constexpr size_t field_count(uint8_t family) {
  return 4 + 2 * (family == 4 ? kAddressWords4 : kAddressWords6);
}
inline constexpr size_t kMaxKeyFields = field_count(6);
static_assert(kMaxKeyFields <= RTE_ACL_MAX_FIELDS);

// The rte_acl field definitions of one family's key.
std::vector<rte_acl_field_def> acl_key_fields(uint8_t family);

}  // namespace palisade::dataplane
