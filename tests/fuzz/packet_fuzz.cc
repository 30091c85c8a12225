// Fuzzes the packet parser: any frame either parses, with every offset and length it reports
// inside the frame, or is dropped with a reason from the list; it never reads outside the
// frame (AddressSanitizer) and never crashes.
#include <cstdint>
#include <cstdlib>
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
