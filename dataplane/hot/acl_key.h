// The classify key: what a burst fills for each packet and direction, and what the rte_acl
// contexts are built to read (dataplane/acl_fields.h describes its fields to rte_acl).
//
// Byte order: the key holds network order, as rte_acl reads input; rules hold host order.
// For ICMP, the port fields carry the type (sport) and the code (dport).
#pragma once

#include <rte_byteorder.h>

#include <cstddef>
#include <cstdint>

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
static_assert(offsetof(AclKeyV4, set_id) == offsetof(AclKeyV6, set_id));

}  // namespace palisade::dataplane
