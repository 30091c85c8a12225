// The packet path, one verb per stage, each in its own file (stage_VERB.cc). A worker runs
// them in this order on every burst it receives (dataplane/worker.cc), each taking the packets
// still in play (Burst::live) and leaving those that go on:
//
//   parse     parse and check headers; answer ARP and NDP for the gateway; guard pod ports
//             (anti-spoofing); TTL; the conntrack key
//   track     later fragments follow their first; connections looked up (flow cache, then
//             conntrack); what opens nothing is dropped; what a newer generation must judge
//   locate    where each address is (endpoint sets, local port); spoofed pod addresses from
//             the uplink dropped; established packets recorded in conntrack
//   classify  the packets to judge: the source's egress and the destination's ingress keys,
//             one rte_acl call per family, and the tier walk of each result
//   decide    both sides' outcome: hits counted, flow events recorded, connections inserted,
//             refreshed or cut
//   route     to a local pod's port or out of the uplink, with the L2 and L3 rewrite
//
// A packet dropped by a stage is freed at the end of the burst with its reason counted.
// No stage allocates, locks, throws or makes a system call.
#pragma once

#include "dataplane/hot/burst.h"
#include "dataplane/hot/generation.h"

namespace palisade::dataplane::stage {

void parse(Burst& b, const Generation& g, const BurstContext& ctx) noexcept;
void track(Burst& b, const Generation& g, const BurstContext& ctx) noexcept;
void locate(Burst& b, const Generation& g, const BurstContext& ctx) noexcept;
void classify(Burst& b, const Generation& g) noexcept;
void decide(Burst& b, const Generation& g, const BurstContext& ctx) noexcept;
void route(Burst& b, const Generation& g, const BurstContext& ctx) noexcept;

}  // namespace palisade::dataplane::stage
