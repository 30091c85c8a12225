// Fuzzes the Calico selector parser: any text either parses, or fails with an error that
// names a column inside the text; a parsed selector prints to text that parses to the same
// selector, and evaluating it never crashes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policy/selector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using palisade::policy::Selector;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = Selector::parse(text);
  if (!parsed) {
    if (parsed.error().message.find("column") == std::string::npos) {
      std::abort();
    }
    return 0;
  }
  auto again = Selector::parse(parsed->to_string());
  if (!again || again->to_string() != parsed->to_string()) {
    std::abort();  // printing must round-trip
  }
  palisade::policy::Labels labels{{"app", "web"}, {"tier", ""}, {"a/b.c", "x'y"}};
  (void)parsed->matches(labels);
  return 0;
}
