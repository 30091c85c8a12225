// FragmentTable: later fragments carry no ports, so they follow the verdict their datagram's
// first fragment got. One table per worker (a NIC's RSS sends every fragment of a datagram,
// first included, to one queue by its addresses), fixed in size, no allocation, no lock.
//
// A datagram is identified by (family, protocol, id, source, destination). The table drops
// what it cannot vouch for: a later fragment whose first was not seen or has expired
// (orphan_fragment), pieces that overlap one another (overlapping_fragment: RFC 5722, and
// RFC 8200 4.5 for IPv6; the whole datagram is then refused), and more pieces than it tracks
// (too_many_fragments). When a bucket is full, the entry that expires first is evicted.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "dataplane/hot/drop.h"
#include "dataplane/hot/parse.h"

namespace palisade::dataplane {

class FragmentTable {
 public:
  static constexpr size_t kBuckets = 256;  // x kWays entries: 1024 datagrams in flight
  static constexpr size_t kWays = 4;
  static constexpr size_t kMaxPieces = 16;  // a 64 KiB datagram in 4 KiB pieces

  // timeout in the caller's clock units (TSC cycles on a worker).
  explicit FragmentTable(uint64_t timeout) : timeout_(timeout) {}

  // The first fragment, once its verdict is known. A drop reason if it overlaps or repeats
  // pieces already seen (then the datagram is refused whole).
  std::optional<Drop> on_first(const ParsedPacket& p, bool allowed, uint64_t now) noexcept;

  struct Verdict {
    bool allowed = false;
    std::optional<Drop> drop;  // set: drop with this reason (not a policy decision)
  };
  // A later fragment (offset > 0): the verdict of its datagram, or why it cannot have one.
  Verdict on_later(const ParsedPacket& p, uint64_t now) noexcept;

  size_t in_use(uint64_t now) const noexcept;

 private:
  struct Key {
    uint8_t family = 0, proto = 0;
    uint32_t id = 0;
    uint8_t src[16] = {}, dst[16] = {};
  };
  struct Piece {
    uint16_t first = 0, end = 0;  // [first, end) in bytes
  };
  struct Entry {
    Key key;
    uint64_t expires = 0;  // 0: free
    bool allowed = false;
    bool refused = false;  // overlap seen: every further piece is dropped
    uint8_t pieces = 0;
    std::array<Piece, kMaxPieces> piece{};
  };

  static Key key_of(const ParsedPacket& p) noexcept;
  static bool same(const Key& a, const Key& b) noexcept;
  static size_t bucket_of(const Key& k) noexcept;
  Entry* find(const Key& k, uint64_t now) noexcept;
  Entry& claim(const Key& k, uint64_t now) noexcept;
  // Adds [first, end) to the entry; a drop reason if it overlaps or there is no room.
  std::optional<Drop> add_piece(Entry& e, uint16_t first, uint16_t end) noexcept;

  uint64_t timeout_;
  std::array<std::array<Entry, kWays>, kBuckets> buckets_{};
};

}  // namespace palisade::dataplane
