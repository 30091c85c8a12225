// The classify key: what the packet path fills for each packet and direction, and what the
// rte_acl contexts are built to read. Both families come from one description
// (acl_key_fields): IPv6 addresses are four 32-bit fields, since rte_acl fields are at most
// 32 bits wide for masks.
//
// Byte order: the key holds network order, as rte_acl reads input; rules hold host order.
// For ICMP, the port fields carry the type (sport) and the code (dport).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <rte_acl.h>
#include <rte_byteorder.h>

namespace palisade::dataplane {

// rte_acl reads the first byte alone, then 4-byte groups: proto, then 3 bytes of padding.
struct AclKeyV4 {
  uint8_t proto;
  uint8_t pad[3];
  rte_be32_t set_id;
  rte_be32_t src;
  rte_be32_t dst;
  rte_be16_t sport;
  rte_be16_t dport;
};
static_assert(sizeof(AclKeyV4) == 20 && offsetof(AclKeyV4, sport) == 16);

struct AclKeyV6 {
  uint8_t proto;
  uint8_t pad[3];
  rte_be32_t set_id;
  uint8_t src[16];
  uint8_t dst[16];
  rte_be16_t sport;
  rte_be16_t dport;
};
static_assert(sizeof(AclKeyV6) == 44 && offsetof(AclKeyV6, sport) == 40);

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
