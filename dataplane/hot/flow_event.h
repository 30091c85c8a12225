// FlowEvent: what a worker records when it judges a connection's first packet (or cuts an
// established one, or cannot carry one that policy allowed): a fixed-size record pushed onto the
// worker's own single-producer ring, drained by the control thread for flow logs, `palisadectl
// flows` and the main job's per-flow report. A full ring loses the event, never the packet, and
// counts the loss.
#pragma once

#include <cstdint>

#include "dataplane/hot/drop.h"

namespace palisade::dataplane {

struct FlowEvent {
  enum class Action : uint8_t { Allowed, Denied, Cut, Dropped };
  uint64_t generation;  // the policy generation that judged it
  uint8_t family;       // 4 or 6
  uint8_t proto;
  Action action;
  Drop drop;              // Action::Dropped: why (conntrack full, TTL, no route)
  uint16_t sport, dport;  // host order; ICMP: type and code
  uint16_t in_port, out_port;
  uint8_t src[16], dst[16];  // network order
  uint32_t egress_verdict;   // entries of the generation's verdict table; 0: none, or the
  uint32_t ingress_verdict;  // set's profile decided (see egress_judged/ingress_judged)
  uint8_t egress_judged, ingress_judged;  // the side is an endpoint judged here
  uint8_t egress_allow, ingress_allow;    // what the side decided
};
static_assert(sizeof(FlowEvent) == 64, "one cache line; rte_ring elements are multiples of 4");

}  // namespace palisade::dataplane
