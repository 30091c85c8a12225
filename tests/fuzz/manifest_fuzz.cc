// Fuzzes manifest decoding: any byte stream decodes into objects or errors that name a
// field or a line, and never crashes, hangs or leaks; decoded objects build a snapshot.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "policy/decode.h"
#include "policy/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace palisade::policy;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<Decoded> decoded = decode_stream(text, DecodeOptions{"fuzz.yaml", true});
  std::vector<Object> objects;
  for (Decoded& d : decoded) {
    if (d.object) {
      objects.push_back(std::move(d.object).value());
    } else if (d.object.error().source.empty()) {
      std::abort();  // every error says where it comes from
    }
  }
  SnapshotBuild build = build_snapshot(objects);
  (void)build;
  return 0;
}
