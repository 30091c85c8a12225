// ICMP Time Exceeded for a pod's packet whose TTL or hop limit runs out at the node (the first
// hop of a traceroute from a pod). The node is the pod's router (Calico's routed model), so it
// answers as RFC 1812 4.3.2.7 / RFC 4443 3.3 say a router does: from the gateway address the
// pod routes through (169.254.1.1, fe80::1), back out of the port the packet came in on.
//
// The worker turns the packet into its error in place, and sends errors within a per-worker
// budget (RFC 1812 4.3.2.8, RFC 4443 2.4(f)): a pod looping packets with TTL 1 costs the
// worker at most kTimeExceededPerSecond errors a second; the rest are only dropped.
//
// Hot path: noexcept, no allocation; reads [frame, frame + len), writes [frame, frame +
// capacity).
#pragma once

#include <cstdint>

#include "dataplane/hot/parse.h"

namespace palisade::dataplane {

// Rewrites `frame` (len bytes, parsed as p, one untagged segment) into the Time Exceeded
// error about it: ICMP type 11 code 0 quoting the IPv4 header and the first 8 bytes after it
// (RFC 792), or ICMPv6 type 3 code 0 quoting as much of the packet as fits in 1,280 bytes
// (RFC 4443 2.4(c)); TTL or hop limit 64; to the packet's source MAC from gateway_mac.
// Returns the error's length, or 0 (the frame untouched) when no error may be sent: the
// packet is an ICMP error itself or a later fragment (RFC 1812 4.3.2.7, RFC 4443 2.4(e)),
// is tagged, or the error does not fit in `capacity`.
uint32_t make_time_exceeded(uint8_t* frame, uint32_t len, uint32_t capacity, const ParsedPacket& p,
                            const uint8_t gateway_mac[6], const uint8_t gateway_ipv4[4],
                            const uint8_t gateway_ipv6[16]) noexcept;

inline constexpr uint32_t kTimeExceededPerSecond = 1000;
inline constexpr uint32_t kTimeExceededBurst = 50;

// A token bucket of kTimeExceededBurst errors, refilled at kTimeExceededPerSecond, in TSC
// ticks. One per worker; not shared.
class TimeExceededBudget {
 public:
  explicit TimeExceededBudget(uint64_t ticks_per_second) noexcept
      : cost_(ticks_per_second / kTimeExceededPerSecond),
        capacity_(cost_ * kTimeExceededBurst),
        credit_(capacity_) {}
  // True, and one error spent, if the budget allows one at `now`.
  bool take(uint64_t now) noexcept {
    if (now > last_) {
      const uint64_t earned = now - last_;
      credit_ = earned >= capacity_ - credit_ ? capacity_ : credit_ + earned;
      last_ = now;
    }
    if (credit_ < cost_) {
      return false;
    }
    credit_ -= cost_;
    return true;
  }

 private:
  uint64_t cost_;
  uint64_t capacity_;
  uint64_t credit_;
  uint64_t last_ = 0;
};

}  // namespace palisade::dataplane
