#include "dataplane/acl_fields.h"

namespace palisade::dataplane {

std::vector<rte_acl_field_def> acl_key_fields(uint8_t family) {
  const size_t words = family == 4 ? kAddressWords4 : kAddressWords6;
  const uint32_t src_offset = family == 4 ? offsetof(AclKeyV4, src) : offsetof(AclKeyV6, src);
  const uint32_t dst_offset = family == 4 ? offsetof(AclKeyV4, dst) : offsetof(AclKeyV6, dst);
  const uint32_t port_offset = family == 4 ? offsetof(AclKeyV4, sport) : offsetof(AclKeyV6, sport);
  std::vector<rte_acl_field_def> defs;
  uint8_t field = 0;
  uint8_t input = 0;
  // A range on the protocol, so that notProtocol is one or two rules, not 255.
  defs.push_back({RTE_ACL_FIELD_TYPE_RANGE, 1, field++, input++, 0});
  defs.push_back({RTE_ACL_FIELD_TYPE_MASK, 4, field++, input++, offsetof(AclKeyV4, set_id)});
  for (size_t w = 0; w < words; ++w) {
    defs.push_back(
        {RTE_ACL_FIELD_TYPE_MASK, 4, field++, input++, static_cast<uint32_t>(src_offset + 4 * w)});
  }
  for (size_t w = 0; w < words; ++w) {
    defs.push_back(
        {RTE_ACL_FIELD_TYPE_MASK, 4, field++, input++, static_cast<uint32_t>(dst_offset + 4 * w)});
  }
  defs.push_back({RTE_ACL_FIELD_TYPE_RANGE, 2, field++, input, port_offset});
  defs.push_back({RTE_ACL_FIELD_TYPE_RANGE, 2, field++, input, port_offset + 2});
  return defs;
}

}  // namespace palisade::dataplane
