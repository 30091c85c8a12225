// LpmPool: the rte_lpm tables of /32 routes behind the endpoint table, kept from one
// generation to the next.
//
// Why: an rte_lpm's tbl24 is 64 MiB whatever it holds, and the EAL heap zeroes what it frees,
// so a table created and freed per generation costs tens of ms of memset and page faults on
// the control thread. A pooled table keeps its routes instead, and the next generation's is
// made from it by a diff: the addresses gone are deleted, the new ones added, and the others
// keep their next hops (slots), which index the generation's own array of sets.
//
// Thread: any, under the pool's mutex. A table comes back to the pool only when the endpoint
// table that used it is destroyed, after the RCU grace period of its generation: no worker can
// read it then, so changing it is safe.
#pragma once

#include <rte_lpm.h>

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace palisade::dataplane {

struct PooledLpm {
  rte_lpm* lpm = nullptr;
  uint32_t max_rules = 0, tbl8s = 0;               // what it was created for
  std::unordered_map<uint32_t, uint32_t> slot_of;  // host-order address -> next hop
  std::vector<uint32_t> free_slots;                // of addresses deleted, for reuse
  uint32_t slots = 0;                              // next hops handed out: [0, slots)

  PooledLpm() = default;
  PooledLpm(const PooledLpm&) = delete;
  PooledLpm& operator=(const PooledLpm&) = delete;
  ~PooledLpm();
};

// A table that routes exactly `addresses` (host order, distinct), each to a next hop below
// its `slots`; a pooled one when one fits. nullptr when none can be made (rte_errno says why).
std::unique_ptr<PooledLpm> take_lpm(const std::vector<uint32_t>& addresses);
// Back to the pool (or freed, when the pool is full).
void give_back_lpm(std::unique_ptr<PooledLpm> lpm);

}  // namespace palisade::dataplane
