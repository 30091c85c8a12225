// Fuzzes the packet parser: any frame either parses, with every offset and length it reports
// inside the frame, or is dropped with a reason from the list; it never reads outside the
// frame (AddressSanitizer) and never crashes. The same frame is also parsed as a chain of
// mbufs whose first segment ends at every fifth byte: the parser may read only that segment,
// and must give the one-buffer answer or split_headers, nothing else.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dataplane/hot/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace palisade::dataplane;
  if (size > 65535 + 18) {
    return 0;
  }
  // A copy of exactly `size` bytes, so that a read one past the frame is caught.
  std::vector<uint8_t> frame(data, data + size);
  ParsedPacket p;
  std::optional<Drop> drop = parse_packet(frame.data(), static_cast<uint32_t>(size), p);
  for (size_t first = 0; first < size; first += 5) {
    std::vector<uint8_t> segment(data, data + first);  // exactly the first segment's bytes
    ParsedPacket q;
    const std::optional<Drop> split =
        parse_packet(segment.data(), static_cast<uint32_t>(first), static_cast<uint32_t>(size), q);
    if (split == Drop::SplitHeaders) {
      continue;
    }
    if (split != drop || (!drop && std::memcmp(&p, &q, sizeof(p)) != 0)) {
      std::abort();  // a chain must be judged as the same frame in one buffer
    }
  }
  if (drop) {
    if (static_cast<size_t>(*drop) >= static_cast<size_t>(Drop::Count)) {
      std::abort();
    }
    return 0;
  }
  if (p.l3_offset > size || p.l4_offset > size) {
    std::abort();
  }
  if (p.fragment && !p.first_fragment && p.l4_offset != 0) {
    std::abort();  // a later fragment must not claim ports
  }
  return 0;
}
