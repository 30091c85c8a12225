#include "dataplane/hot/classify.h"

#include <algorithm>
#include <cstring>

#include "dataplane/hot/acl_key.h"

namespace palisade::dataplane {

namespace {

void classify_on(const rte_acl_ctx* ctx, const uint8_t** keys, uint32_t* results, uint32_t n,
                 uint32_t categories) noexcept {
  if (ctx == nullptr) {
    std::fill(results, results + size_t{n} * categories, 0u);
    return;
  }
  rte_acl_classify(ctx, keys, results, n, categories);
}

// Each key to the context of its set: the base's for the sets it holds, the overlay's for
// the sets rebased past them. In chunks, so that everything stays on the stack.
void classify_split(const ClassifyTables& t, size_t f, const uint8_t** keys, uint32_t* results,
                    uint32_t n) noexcept {
  constexpr uint32_t kChunk = 64;
  const uint32_t categories = t.categories;
  std::array<const uint8_t*, kChunk> base_keys, overlay_keys;
  std::array<uint32_t, kChunk> base_at, overlay_at;
  std::array<uint32_t, size_t{kChunk} * kMaxCategories> base_results, overlay_results;
  for (uint32_t done = 0; done < n; done += kChunk) {
    const uint32_t m = std::min(kChunk, n - done);
    uint32_t nb = 0, no = 0;
    for (uint32_t i = 0; i < m; ++i) {
      rte_be32_t set_be;
      std::memcpy(&set_be, keys[done + i] + offsetof(AclKeyV4, set_id), sizeof(set_be));
      if (rte_be_to_cpu_32(set_be) >= t.overlay_first_set) {
        overlay_keys[no] = keys[done + i];
        overlay_at[no++] = done + i;
      } else {
        base_keys[nb] = keys[done + i];
        base_at[nb++] = done + i;
      }
    }
    classify_on(t.base[f], base_keys.data(), base_results.data(), nb, categories);
    classify_on(t.overlay[f], overlay_keys.data(), overlay_results.data(), no, categories);
    for (uint32_t k = 0; k < nb; ++k) {
      std::memcpy(results + size_t{base_at[k]} * categories, &base_results[size_t{k} * categories],
                  categories * sizeof(uint32_t));
    }
    for (uint32_t k = 0; k < no; ++k) {
      std::memcpy(results + size_t{overlay_at[k]} * categories,
                  &overlay_results[size_t{k} * categories], categories * sizeof(uint32_t));
    }
  }
}

}  // namespace

void classify(const ClassifyTables& tables, uint8_t family, const uint8_t** keys, uint32_t* results,
              uint32_t n) noexcept {
  const size_t f = family == 4 ? 0 : 1;
  if (tables.overlay_first_set != 0) {
    classify_split(tables, f, keys, results, n);
    return;
  }
  classify_on(tables.base[f], keys, results, n, tables.categories);
}

}  // namespace palisade::dataplane
