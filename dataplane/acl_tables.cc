#include "dataplane/acl_tables.h"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

namespace palisade::dataplane {

static_assert(policy::kMaxCategories == kMaxCategories, "one category per tier, as rte_acl has");

using policy::AclRule;
using policy::Error;
using policy::ErrorCode;

namespace {

RTE_ACL_RULE_DEF(AclRuleBuffer, kMaxKeyFields);

uint32_t word(const policy::IpAddr& ip, size_t w) {
  return (uint32_t{ip.bytes[4 * w]} << 24) | (uint32_t{ip.bytes[4 * w + 1]} << 16) |
         (uint32_t{ip.bytes[4 * w + 2]} << 8) | uint32_t{ip.bytes[4 * w + 3]};
}

// A prefix over several 32-bit MASK fields: each word takes the part of the prefix in it.
void set_prefix(rte_acl_field* fields, const policy::Cidr& c, size_t words) {
  for (size_t w = 0; w < words; ++w) {
    const int bits = std::clamp(int{c.prefix_len} - int(32 * w), 0, 32);
    fields[w].value.u32 = word(c.addr, w);
    fields[w].mask_range.u32 = static_cast<uint32_t>(bits);
  }
}

void to_acl(const AclRule& r, uint8_t family, AclRuleBuffer& out) {
  std::memset(&out, 0, sizeof(out));
  const size_t words = family == 4 ? kAddressWords4 : kAddressWords6;
  out.data.category_mask = 1u << r.category;
  out.data.priority = r.priority;
  out.data.userdata = r.verdict;
  size_t f = 0;
  out.field[f].value.u8 = r.proto_first;
  out.field[f++].mask_range.u8 = r.proto_last;
  out.field[f].value.u32 = r.set_id;
  out.field[f++].mask_range.u32 = 32;
  set_prefix(&out.field[f], r.src, words);
  f += words;
  set_prefix(&out.field[f], r.dst, words);
  f += words;
  out.field[f].value.u16 = r.sport.first;
  out.field[f++].mask_range.u16 = r.sport.last;
  out.field[f].value.u16 = r.dport.first;
  out.field[f].mask_range.u16 = r.dport.last;
}

size_t heap_used() {
  rte_malloc_socket_stats s{};
  size_t total = 0;
  for (unsigned i = 0; i < rte_socket_count(); ++i) {
    if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &s) == 0) {
      total += s.heap_allocsz_bytes;
    }
  }
  return total;
}

std::atomic<uint64_t> g_context_serial{0};  // rte_acl_create returns an existing context by name

// One family's context over `rules`; nullptr when there are none (classify answers "no
// match" for that family). On failure nothing is left allocated.
policy::Result<rte_acl_ctx*> build_context(uint8_t family, const std::vector<AclRule>& rules,
                                           uint32_t num_categories, size_t max_size,
                                           AclTables::FamilyStats& stats) {
  stats.rules = rules.size();
  if (rules.empty()) {
    return nullptr;
  }
  const auto start = std::chrono::steady_clock::now();
  const size_t heap_before = heap_used();
  const std::string name =
      "palisade-acl" + std::to_string(family) + "-" + std::to_string(g_context_serial.fetch_add(1));
  const std::vector<rte_acl_field_def> defs = acl_key_fields(family);
  rte_acl_param param{};
  param.name = name.c_str();
  param.socket_id = SOCKET_ID_ANY;
  param.rule_size = RTE_ACL_RULE_SZ(defs.size());
  param.max_rule_num = static_cast<uint32_t>(rules.size());
  rte_acl_ctx* ctx = rte_acl_create(&param);
  if (ctx == nullptr) {
    return Error{ErrorCode::LimitExceeded,
                 "rte_acl",
                 {},
                 {},
                 "cannot create a context for " + std::to_string(rules.size()) +
                     " rules: " + rte_strerror(rte_errno)};
  }
  // Added in chunks. rte_acl reads rules at a stride of RTE_ACL_RULE_SZ(fields), which for
  // IPv4 is shorter than AclRuleBuffer: each rule is packed at that stride.
  constexpr size_t kChunk = 4096;
  const size_t stride = RTE_ACL_RULE_SZ(defs.size());
  std::vector<uint8_t> buffer(std::min(rules.size(), kChunk) * stride);
  AclRuleBuffer one;
  for (size_t i = 0; i < rules.size(); i += kChunk) {
    const size_t n = std::min(kChunk, rules.size() - i);
    for (size_t j = 0; j < n; ++j) {
      to_acl(rules[i + j], family, one);
      std::memcpy(buffer.data() + j * stride, &one, stride);
    }
    const int rc = rte_acl_add_rules(ctx, reinterpret_cast<rte_acl_rule*>(buffer.data()),
                                     static_cast<uint32_t>(n));
    if (rc != 0) {
      rte_acl_free(ctx);
      return Error{ErrorCode::InvalidField,
                   "rte_acl",
                   {},
                   {},
                   "rule #" + std::to_string(i) + "..: " + rte_strerror(-rc)};
    }
  }
  rte_acl_config cfg{};
  cfg.num_categories = num_categories;
  cfg.num_fields = static_cast<uint32_t>(defs.size());
  std::copy(defs.begin(), defs.end(), cfg.defs);
  cfg.max_size = max_size;
  if (const int rc = rte_acl_build(ctx, &cfg); rc != 0) {
    rte_acl_free(ctx);
    return Error{ErrorCode::LimitExceeded,
                 "rte_acl",
                 {},
                 {},
                 "building the IPv" + std::to_string(family) + " tables of " +
                     std::to_string(rules.size()) + " rules failed: " + rte_strerror(-rc) +
                     (max_size != 0 ? " (max_size " + std::to_string(max_size) + " bytes)" : "")};
  }
  stats.build_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  stats.memory_bytes = heap_used() - heap_before;
  return ctx;
}

void free_contexts(const std::array<rte_acl_ctx*, 2>& contexts) {
  for (rte_acl_ctx* ctx : contexts) {
    if (ctx != nullptr) {
      rte_acl_free(ctx);
    }
  }
}

}  // namespace

class AclTables::Base {
 public:
  Base(const Base&) = delete;
  Base& operator=(const Base&) = delete;
  Base() = default;
  ~Base() { free_contexts(contexts); }

  std::array<rte_acl_ctx*, 2> contexts{};
  uint32_t sets = 0;  // of the policy built: a rebased policy's overlay starts past them
  uint32_t num_categories = 1;
};

policy::Result<std::unique_ptr<AclTables>> AclTables::build(const policy::CompiledPolicy& policy,
                                                            size_t max_size) {
  if (policy.overlay_first_set != 0) {
    return Error{ErrorCode::InvalidField,
                 "rte_acl",
                 {},
                 {},
                 "a rebased policy is built over its base's tables (AclTables::build_over)"};
  }
  std::unique_ptr<AclTables> t(new AclTables());
  t->num_categories_ = policy.num_categories;
  auto base = std::make_shared<Base>();
  base->sets = static_cast<uint32_t>(policy.sets.size());
  base->num_categories = policy.num_categories;
  for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
    const size_t f = family == 4 ? 0 : 1;
    auto ctx =
        build_context(family, policy.rules(family), policy.num_categories, max_size, t->stats_[f]);
    if (!ctx) {
      return ctx.error();
    }
    base->contexts[f] = *ctx;
  }
  t->base_ = std::move(base);
  t->refresh_view();
  return t;
}

policy::Result<std::unique_ptr<AclTables>> AclTables::build_over(
    std::shared_ptr<const Base> base, const policy::CompiledPolicy& rebased, size_t max_size) {
  if (base == nullptr || rebased.overlay_first_set != base->sets + 1 ||
      rebased.num_categories != base->num_categories) {
    return Error{
        ErrorCode::InvalidField, "rte_acl", {}, {}, "the policy was not rebased onto these tables"};
  }
  std::unique_ptr<AclTables> t(new AclTables());
  t->num_categories_ = rebased.num_categories;
  t->base_ = std::move(base);
  if (rebased.sets.size() < rebased.overlay_first_set) {
    t->refresh_view();
    return t;  // every set is one of the base's: no overlay, and no split per key
  }
  t->overlay_first_set_ = rebased.overlay_first_set;
  for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
    const size_t f = family == 4 ? 0 : 1;
    std::vector<AclRule> overlay;
    for (const AclRule& r : rebased.rules(family)) {
      if (r.set_id >= rebased.overlay_first_set) {
        overlay.push_back(r);
      }
    }
    auto ctx = build_context(family, overlay, rebased.num_categories, max_size, t->stats_[f]);
    if (!ctx) {
      return ctx.error();
    }
    t->overlay_[f] = *ctx;
  }
  t->refresh_view();
  return t;
}

AclTables::~AclTables() { free_contexts(overlay_); }

rte_acl_ctx* AclTables::context(uint8_t family) const {
  return base_ == nullptr ? nullptr : base_->contexts[family == 4 ? 0 : 1];
}

void AclTables::classify(uint8_t family, const uint8_t** keys, uint32_t* results,
                         uint32_t n) const {
  dataplane::classify(view_, family, keys, results, n);
}

void AclTables::refresh_view() {
  view_.base = {context(4), context(6)};
  view_.overlay = {overlay_[0], overlay_[1]};
  view_.overlay_first_set = overlay_first_set_;
  view_.categories = num_categories_;
}

bool AclTables::set_algorithm(enum rte_acl_classify_alg alg) {
  std::array<rte_acl_ctx*, 4> all{context(4), context(6), overlay_[0], overlay_[1]};
  for (rte_acl_ctx* ctx : all) {
    if (ctx != nullptr && rte_acl_set_ctx_classify(ctx, alg) != 0) {
      return false;
    }
  }
  return true;
}

void fill_key(AclKeyV4& key, uint8_t proto, uint32_t set_id, const policy::IpAddr& src,
              const policy::IpAddr& dst, uint16_t sport, uint16_t dport) {
  std::memset(&key, 0, sizeof(key));
  key.proto = proto;
  key.set_id = rte_cpu_to_be_32(set_id);
  std::memcpy(&key.src, src.bytes.data(), 4);
  std::memcpy(&key.dst, dst.bytes.data(), 4);
  key.sport = rte_cpu_to_be_16(sport);
  key.dport = rte_cpu_to_be_16(dport);
}

void fill_key(AclKeyV6& key, uint8_t proto, uint32_t set_id, const policy::IpAddr& src,
              const policy::IpAddr& dst, uint16_t sport, uint16_t dport) {
  std::memset(&key, 0, sizeof(key));
  key.proto = proto;
  key.set_id = rte_cpu_to_be_32(set_id);
  std::memcpy(key.src, src.bytes.data(), 16);
  std::memcpy(key.dst, dst.bytes.data(), 16);
  key.sport = rte_cpu_to_be_16(sport);
  key.dport = rte_cpu_to_be_16(dport);
}

}  // namespace palisade::dataplane
