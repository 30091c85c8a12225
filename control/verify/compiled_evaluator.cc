#include "control/verify/compiled_evaluator.h"

#include <array>

namespace palisade::control {

using dataplane::AclKeyV4;
using dataplane::AclKeyV6;
using dataplane::fill_key;
using policy::CompiledPolicy;

dataplane::Outcome CompiledEvaluator::judge(uint32_t set, const policy::Flow& flow) const {
  const bool icmp =
      flow.protocol == policy::ipproto::kIcmp || flow.protocol == policy::ipproto::kIcmpV6;
  const uint16_t sport = icmp ? flow.icmp_type.value_or(0) : flow.src_port;
  const uint16_t dport = icmp ? flow.icmp_code.value_or(0) : flow.dst_port;
  std::array<uint32_t, dataplane::kMaxCategories> results{};
  if (flow.src.family == 4) {
    AclKeyV4 key;
    fill_key(key, flow.protocol, set, flow.src, flow.dst, sport, dport);
    const uint8_t* keys[1] = {reinterpret_cast<const uint8_t*>(&key)};
    tables_.classify(4, keys, results.data(), 1);
  } else {
    AclKeyV6 key;
    fill_key(key, flow.protocol, set, flow.src, flow.dst, sport, dport);
    const uint8_t* keys[1] = {reinterpret_cast<const uint8_t*>(&key)};
    tables_.classify(6, keys, results.data(), 1);
  }
  return dataplane::walk(verdicts_.walk(tables_.num_categories()), set, results.data());
}

CompiledVerdict CompiledEvaluator::evaluate(const policy::Flow& flow) const {
  CompiledVerdict v;
  const policy::EndpointBinding* src = policy_.binding(flow.src);
  const policy::EndpointBinding* dst = policy_.binding(flow.dst);
  if (src != nullptr) {
    v.egress = judge(src->egress_set, flow);
    v.by = policy_.by_name(v.egress->verdict);
    if (!v.egress->allow) {
      v.allow = false;
      return v;
    }
  }
  if (dst != nullptr) {
    v.ingress = judge(dst->ingress_set, flow);
    v.by = policy_.by_name(v.ingress->verdict);
    v.allow = v.ingress->allow;
  }
  return v;
}

}  // namespace palisade::control
