#include "dataplane/hot/fragment_table.h"

#include <cstring>

namespace palisade::dataplane {

FragmentTable::Key FragmentTable::key_of(const ParsedPacket& p) noexcept {
  Key k;
  k.family = p.kind == L3Kind::Ipv4 ? 4 : 6;
  // IPv4 names a datagram by (src, dst, protocol, id) (RFC 791); IPv6 by (src, dst, id)
  // alone (RFC 8200 4.5): its later fragments do not carry the upper-layer protocol.
  k.proto = k.family == 4 ? p.proto : 0;
  k.id = p.fragment_id;
  const size_t n = k.family == 4 ? 4 : 16;
  std::memcpy(k.src, p.src, n);
  std::memcpy(k.dst, p.dst, n);
  return k;
}

bool FragmentTable::same(const Key& a, const Key& b) noexcept {
  return a.family == b.family && a.proto == b.proto && a.id == b.id &&
         std::memcmp(a.src, b.src, sizeof(a.src)) == 0 &&
         std::memcmp(a.dst, b.dst, sizeof(a.dst)) == 0;
}

size_t FragmentTable::bucket_of(const Key& k) noexcept {
  // FNV-1a over the key: cheap, and the id spreads datagrams of one address pair.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const uint8_t* data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      h = (h ^ data[i]) * 1099511628211ull;
    }
  };
  mix(reinterpret_cast<const uint8_t*>(&k.id), sizeof(k.id));
  mix(&k.proto, 1);
  mix(k.src, sizeof(k.src));
  mix(k.dst, sizeof(k.dst));
  return static_cast<size_t>(h % kBuckets);
}

FragmentTable::Entry* FragmentTable::find(const Key& k, uint64_t now) noexcept {
  for (Entry& e : buckets_[bucket_of(k)]) {
    if (e.expires > now && same(e.key, k)) {
      return &e;
    }
  }
  return nullptr;
}

FragmentTable::Entry& FragmentTable::claim(const Key& k, uint64_t now) noexcept {
  std::array<Entry, kWays>& bucket = buckets_[bucket_of(k)];
  Entry* victim = &bucket[0];
  for (Entry& e : bucket) {
    if (e.expires <= now) {  // free or expired
      victim = &e;
      break;
    }
    if (e.expires < victim->expires) {
      victim = &e;  // the one closest to expiry
    }
  }
  *victim = Entry{};
  victim->key = k;
  victim->expires = now + timeout_;
  return *victim;
}

std::optional<Drop> FragmentTable::add_piece(Entry& e, uint16_t first, uint16_t end) noexcept {
  for (uint8_t i = 0; i < e.pieces; ++i) {
    if (first < e.piece[i].end && e.piece[i].first < end) {
      e.refused = true;
      return Drop::OverlappingFragment;
    }
  }
  if (e.pieces == kMaxPieces) {
    e.refused = true;
    return Drop::TooManyFragments;
  }
  e.piece[e.pieces++] = {first, end};
  return std::nullopt;
}

std::optional<Drop> FragmentTable::on_first(const ParsedPacket& p, bool allowed,
                                            uint64_t now) noexcept {
  const Key k = key_of(p);
  Entry* e = find(k, now);
  if (e != nullptr) {
    // A second first fragment of a live datagram: it overlaps the first one by definition.
    e->refused = true;
    return Drop::OverlappingFragment;
  }
  Entry& fresh = claim(k, now);
  fresh.allowed = allowed;
  return add_piece(fresh, 0, p.fragment_bytes);
}

FragmentTable::Verdict FragmentTable::on_later(const ParsedPacket& p, uint64_t now) noexcept {
  Entry* e = find(key_of(p), now);
  if (e == nullptr) {
    return {false, Drop::OrphanFragment};
  }
  if (e->refused) {
    return {false, Drop::OverlappingFragment};
  }
  // The parser has dropped fragments that end past 65,535 bytes.
  const auto end = static_cast<uint16_t>(p.fragment_offset + p.fragment_bytes);
  if (auto drop = add_piece(*e, p.fragment_offset, end)) {
    return {false, drop};
  }
  return {e->allowed, std::nullopt};
}

size_t FragmentTable::in_use(uint64_t now) const noexcept {
  size_t n = 0;
  for (const auto& bucket : buckets_) {
    for (const Entry& e : bucket) {
      n += e.expires > now ? 1 : 0;
    }
  }
  return n;
}

}  // namespace palisade::dataplane
