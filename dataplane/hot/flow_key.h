// FlowKey: what a connection is looked up by, in the conntrack table and in a worker's flow
// cache, and the whole-word operations both make on it (compare, turn around, order).
//
// Why words: a key is 40 bytes, five 64-bit words. Comparing it byte by byte (memcmp, a call
// the compiler does not inline at this size) or building it from many narrow stores and then
// reading it back wide (a failed store-to-load forward, a dozen cycles on each read) cost
// more than the rest of an established packet's lookup. Here every operation loads the five
// words once and works on registers.
//
// Hot path: header only, noexcept, no allocation.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace palisade::dataplane {

// Addresses in network order (IPv4 in the first 4 bytes, the other 12 zero); ports in host
// order. ICMP and ICMPv6 echo put the identifier in both ports, so that a request and its
// reply are the two directions of one connection. family is 4 or 6. Every byte takes part in
// the comparison: build keys from a zeroed FlowKey.
struct alignas(8) FlowKey {
  uint8_t src[16] = {}, dst[16] = {};  //  0..31
  uint16_t sport = 0, dport = 0;       // 32..35
  uint8_t family = 0;                  // 36
  uint8_t proto = 0;                   // 37
  uint8_t zero_[2] = {};               // 38..39 always 0: part of the last word
};
static_assert(sizeof(FlowKey) == 40 && offsetof(FlowKey, sport) == 32 &&
                  offsetof(FlowKey, family) == 36,
              "five whole words, no padding: keys are compared and hashed as words");

// Word 4's layout and is_canonical's byte swaps assume the byte order of x86 and arm64.
static_assert(std::endian::native == std::endian::little);

// The five words of a key: 0-1 the source address, 2-3 the destination, 4 the ports (sport in
// the low 16 bits), family and protocol.
struct FlowKeyWords {
  uint64_t w[5];
};

// Word by word, never one 40-byte copy: GCC copies an aggregate through the stack in 16-byte
// pieces, and an 8-byte read of a 16-byte store's upper half is not forwarded (it waits for
// the store to retire). Five 8-byte loads and stores keep the words in registers.
inline uint64_t key_word(const FlowKey& k, size_t i) noexcept {
  uint64_t w;
  std::memcpy(&w, reinterpret_cast<const unsigned char*>(&k) + 8 * i, sizeof(w));
  return w;
}

inline FlowKeyWords words_of(const FlowKey& k) noexcept {
  return {{key_word(k, 0), key_word(k, 1), key_word(k, 2), key_word(k, 3), key_word(k, 4)}};
}

inline void store_words(FlowKey& k, const FlowKeyWords& words) noexcept {
  auto* bytes = reinterpret_cast<unsigned char*>(&k);
  for (size_t i = 0; i < 5; ++i) {
    std::memcpy(bytes + 8 * i, &words.w[i], sizeof(uint64_t));
  }
}

inline FlowKey key_of_words(const FlowKeyWords& words) noexcept {
  FlowKey k;
  store_words(k, words);
  return k;
}

// The same connection seen from its other end: addresses and ports swapped.
inline FlowKeyWords reversed_words(const FlowKeyWords& k) noexcept {
  const uint64_t ports = k.w[4] & 0xffffffffu;
  const uint64_t swapped = (ports >> 16) | ((ports & 0xffffu) << 16);
  return {{k.w[2], k.w[3], k.w[0], k.w[1], (k.w[4] & ~uint64_t{0xffffffffu}) | swapped}};
}

inline bool same_words(const FlowKeyWords& a, const FlowKeyWords& b) noexcept {
  return ((a.w[0] ^ b.w[0]) | (a.w[1] ^ b.w[1]) | (a.w[2] ^ b.w[2]) | (a.w[3] ^ b.w[3]) |
          (a.w[4] ^ b.w[4])) == 0;
}

// Whether `a` is `b` seen from its other end.
inline bool same_words_reversed(const FlowKeyWords& a, const FlowKeyWords& b) noexcept {
  return same_words(a, reversed_words(b));
}

// The canonical direction goes from the smaller (address, port) endpoint to the larger,
// addresses compared as memcmp would (bytes in network order, so big-endian words).
inline bool is_canonical(const FlowKeyWords& k) noexcept {
  const uint64_t src_hi = __builtin_bswap64(k.w[0]), dst_hi = __builtin_bswap64(k.w[2]);
  if (src_hi != dst_hi) {
    return src_hi < dst_hi;
  }
  const uint64_t src_lo = __builtin_bswap64(k.w[1]), dst_lo = __builtin_bswap64(k.w[3]);
  if (src_lo != dst_lo) {
    return src_lo < dst_lo;
  }
  return (k.w[4] & 0xffffu) <= ((k.w[4] >> 16) & 0xffffu);  // sport <= dport
}

}  // namespace palisade::dataplane
