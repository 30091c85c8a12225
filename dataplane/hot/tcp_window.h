// TCP window tracking: whether a segment lies in the window its connection has opened, and
// what it opens next, as Linux's conntrack does (net/netfilter/nf_conntrack_proto_tcp.c,
// tcp_in_window, after Guido van Rooij's "Real Stateful TCP Packet Filtering in IP Filter").
// Without it, any segment with a connection's addresses and ports would pass: an off-path
// RST or data injection would need only the ports.
//
// Each direction (side) of a connection keeps, in sequence space:
//   end     the highest sequence number it has sent, plus the segment's length (td_end);
//   maxend  the highest it may send: its peer's last ack plus the peer's window (td_maxend);
//   maxwin  the largest window it has advertised, scaled (td_maxwin); 0: not seen yet;
//   scale   its window scale, from its SYN when both SYNs carried the option (RFC 7323).
// A segment from `sender` to `receiver`, seq..end, acking `ack`, is in the window when
//   I    seq <= sender.maxend                      (not beyond what the receiver allowed)
//   II   end >  sender.end - receiver.maxwin       (not older than a window's worth)
//   III  ack <= receiver.end                       (does not ack what was never sent)
//   IV   ack >= receiver.end - max(sender.maxwin, 66000)   (not a stale ack)
// and then advances sender.end, sender.maxwin, receiver.maxend (and receiver.maxwin when it
// was passed). A segment without ACK counts as acking receiver.end. An RST is judged as any
// segment: in the window, or dropped (so a blind RST needs to guess a window's worth of the
// sequence space, as in Linux). The first SYN sets its side; the first segment of the other
// side sets that one (the SYN-ACK). A connection picked up mid-stream (the node file's
// conntrack.tcp_loose_pickup) has no scale to go by: as Linux does (BE_LIBERAL), nothing
// of it is checked.
//
// Threads: the two directions of a connection may be carried by two workers at once. Each
// field is a 32-bit atomic, and each update is a compare-and-swap that only moves it forward
// in sequence space (or the window up), so concurrent updates never move one back. A check
// may read a bound a few packets old; since a peer can only ack or answer what has left this
// node, and its answer crosses the network, the bound it needs has long been stored.
#pragma once

#include <atomic>
#include <cstdint>

namespace palisade::dataplane {

struct TcpSegment {
  uint32_t seq = 0, ack = 0;
  uint32_t window = 0;  // as sent, unscaled
  uint32_t len = 0;     // sequence space taken: data, plus 1 for SYN, plus 1 for FIN
  uint8_t flags = 0;
  uint8_t wscale = 0xff;  // from a SYN's options; 0xff: none
};

// One direction's state. 16 bytes; zero is "not seen yet".
struct TcpSide {
  uint32_t end, maxend, maxwin;
  uint8_t scale;
  uint8_t scale_offered;  // its SYN carried the window scale option
  uint8_t liberal;        // picked up mid-stream: its scale is unknown, so nothing is checked
  uint8_t reserved;
};

// A connection's two sides, indexed by FlowDir (Original, Reply).
struct alignas(32) TcpWindow {
  TcpSide side[2];
};
static_assert(sizeof(TcpWindow) == 32);

namespace tcp_window_detail {

inline bool before(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
inline bool after(uint32_t a, uint32_t b) { return before(b, a); }

inline uint32_t load(const uint32_t& f) {
  return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(f)).load(std::memory_order_relaxed);
}
inline void store(uint32_t& f, uint32_t v) {
  std::atomic_ref<uint32_t>(f).store(v, std::memory_order_relaxed);
}
// Moves a sequence number forward to v, unless another thread moved it further.
inline void advance(uint32_t& f, uint32_t v) {
  std::atomic_ref<uint32_t> a(f);
  uint32_t cur = a.load(std::memory_order_relaxed);
  while (after(v, cur) && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}
// Raises a window to v, unless it is larger already.
inline void raise(uint32_t& f, uint32_t v) {
  std::atomic_ref<uint32_t> a(f);
  uint32_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}
inline uint8_t load8(const uint8_t& f) {
  return std::atomic_ref<uint8_t>(const_cast<uint8_t&>(f)).load(std::memory_order_relaxed);
}
inline void store8(uint8_t& f, uint8_t v) {
  std::atomic_ref<uint8_t>(f).store(v, std::memory_order_relaxed);
}

}  // namespace tcp_window_detail

inline constexpr uint32_t kMaxAckWindow = 66000;  // Linux's MAXACKWINCONST
inline constexpr uint8_t kTcpFinFlag = 0x01, kTcpSynFlag = 0x02, kTcpRstFlag = 0x04,
                         kTcpAckFlag = 0x10;

namespace tcp_window_detail {

// A side's first segment, or a SYN: sets up the side (or opens it anew), as Linux's
// tcp_in_window does before its checks. Out of line: once per connection and direction.
[[gnu::noinline, gnu::cold]] inline void first_of_side(TcpSide& sender, TcpSide& receiver,
                                                       const TcpSegment& seg, bool syn,
                                                       bool has_ack) noexcept {
  const uint32_t end = seg.seq + seg.len;
  const uint32_t win = seg.window;
  if (load(sender.maxwin) == 0) {
    // The side's first segment. A SYN: its sequence space starts here, and its options
    // say whether it scales. Anything else: picked up mid-stream, history unknown.
    if (syn) {
      store(sender.end, end);
      store(sender.maxend, end);
      store(sender.maxwin, win == 0 ? 1 : win);
      if (seg.wscale != 0xff) {
        store8(sender.scale, seg.wscale);
        store8(sender.scale_offered, 1);
      }
      // RFC 7323: scaling holds only when both SYNs offered it. The first SYN's side is
      // set back when the SYN-ACK offers none.
      if (has_ack && (seg.wscale == 0xff || load8(receiver.scale_offered) == 0)) {
        store8(sender.scale, 0);
        store8(receiver.scale, 0);
      }
    } else {
      const uint32_t scaled = win << load8(sender.scale);
      const uint32_t swin = scaled == 0 ? 1 : scaled;
      store(sender.end, end);
      store(sender.maxwin, swin);
      store(sender.maxend, end + swin);
      if (load(receiver.maxwin) == 0) {
        // Nothing seen the other way yet: let this segment's ack stand for it.
        store(receiver.end, seg.ack);
        store(receiver.maxend, seg.ack);
      }
    }
  } else if (syn && !has_ack && after(end, load(sender.end))) {
    // A SYN again, with a newer initial sequence number: the connection is opened anew
    // (RFC 9293: it must only use larger sequence numbers than recently used).
    store(sender.end, end);
    store(sender.maxend, end);
    store(sender.maxwin, win == 0 ? 1 : win);
  }
}

}  // namespace tcp_window_detail

// Whether `seg`, sent from side `from` (0: the connection's original direction, 1: the
// reply) of `w`, lies in the window; updates `w` when it does. Every established segment
// calls it: each field is loaded once, and stored only when it moves.
inline bool tcp_in_window(TcpWindow& w, unsigned from, const TcpSegment& seg) noexcept {
  using namespace tcp_window_detail;
  TcpSide& sender = w.side[from];
  TcpSide& receiver = w.side[from ^ 1u];
  if (load8(sender.liberal) != 0) {
    return true;  // as Linux marks a connection it picks up mid-stream (BE_LIBERAL)
  }
  const bool syn = (seg.flags & kTcpSynFlag) != 0;
  const bool has_ack = (seg.flags & kTcpAckFlag) != 0;
  if (__builtin_expect(syn || load(sender.maxwin) == 0, 0)) {
    first_of_side(sender, receiver, seg, syn, has_ack);
    if (syn && !has_ack) {
      return true;  // an opening SYN: nothing to check it against yet
    }
  }
  const uint32_t seq = seg.seq;
  const uint32_t end = seg.seq + seg.len;
  const uint32_t s_end = load(sender.end), s_maxend = load(sender.maxend);
  const uint32_t s_maxwin = load(sender.maxwin);
  const uint32_t r_end = load(receiver.end), r_maxend = load(receiver.maxend);
  const uint32_t r_maxwin = load(receiver.maxwin);
  uint32_t ack = seg.ack;
  if (!has_ack || ((seg.flags & kTcpRstFlag) != 0 && ack == 0)) {
    ack = r_end;  // no ack to check (or a stack that sends RST+ACK with ack 0)
  }
  const uint32_t max_ack_window = s_maxwin > kMaxAckWindow ? s_maxwin : kMaxAckWindow;
  const bool in_window = !after(seq, s_maxend) &&                                // I
                         (r_maxwin == 0 || after(end, s_end - r_maxwin - 1)) &&  // II
                         !after(ack, r_end) &&                                   // III
                         after(ack, r_end - max_ack_window - 1);                 // IV
  if (!in_window) {
    return false;
  }
  const uint32_t win = syn ? seg.window : seg.window << load8(sender.scale);
  if (win > s_maxwin) {
    raise(sender.maxwin, win);
  }
  if (after(end, s_end)) {
    advance(sender.end, end);
  }
  if (r_maxwin != 0 && after(end, s_maxend)) {
    std::atomic_ref<uint32_t>(receiver.maxwin).fetch_add(end - s_maxend, std::memory_order_relaxed);
  }
  const uint32_t r_new_maxend = ack + (win == 0 ? 1 : win);
  if (after(r_new_maxend, r_maxend)) {
    advance(receiver.maxend, r_new_maxend);
  }
  return true;
}

}  // namespace palisade::dataplane
