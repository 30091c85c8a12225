#include "policy/rebase.h"

#include <functional>
#include <string>
#include <utility>

namespace palisade::policy {

namespace {

// The indexes of each set's rules in one family's list, in list order (rule order decides
// nothing in rte_acl, priorities do, but equal lists are found faster in the same order).
std::vector<std::vector<uint32_t>> rules_by_set(const CompiledPolicy& p, uint8_t family) {
  std::vector<std::vector<uint32_t>> out(p.sets.size() + 1);
  const std::vector<AclRule>& rules = p.rules(family);
  for (uint32_t i = 0; i < rules.size(); ++i) {
    out[rules[i].set_id].push_back(i);
  }
  return out;
}

uint64_t mix(uint64_t h, uint64_t v) {
  // splitmix64's finalizer over the running value: every input bit moves every output bit.
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBull;
  return h ^ (h >> 31);
}

uint64_t hash_cidr(uint64_t h, const Cidr& c) {
  uint64_t hi = 0, lo = 0;
  for (size_t i = 0; i < 8; ++i) {
    hi = hi << 8 | c.addr.bytes[i];
    lo = lo << 8 | c.addr.bytes[8 + i];
  }
  return mix(mix(mix(h, hi), lo), uint64_t{c.addr.family} << 8 | c.prefix_len);
}

// A policy's view of one of its sets: the rule lists and how verdicts are named.
struct SetView {
  const CompiledPolicy& policy;
  const std::vector<std::vector<uint32_t>>& v4;
  const std::vector<std::vector<uint32_t>>& v6;
  const std::vector<uint64_t>& policy_name_hashes;
};

uint64_t hash_verdict(const SetView& view, uint32_t verdict) {
  const VerdictEntry& v = view.policy.verdicts[verdict];
  uint64_t h = mix(uint64_t{static_cast<uint8_t>(v.kind)} << 32 | v.tier,
                   static_cast<uint64_t>(static_cast<int64_t>(v.rule)));
  return mix(h, v.policy < 0 ? 0 : view.policy_name_hashes[static_cast<size_t>(v.policy)]);
}

uint64_t hash_set(const SetView& view, uint32_t id) {
  const PolicySet& set = view.policy.sets[id - 1];
  uint64_t h = mix(static_cast<uint64_t>(set.direction), set.profile_allows ? 1 : 2);
  for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
    const std::vector<uint32_t>& indexes = (family == 4 ? view.v4 : view.v6)[id];
    h = mix(h, uint64_t{family} << 32 | indexes.size());
    for (uint32_t i : indexes) {
      const AclRule& r = view.policy.rules(family)[i];
      h = mix(h, uint64_t{r.proto_first} << 56 | uint64_t{r.proto_last} << 48 |
                     uint64_t{r.category} << 40 | static_cast<uint32_t>(r.priority));
      h = mix(h, uint64_t{r.sport.first} << 48 | uint64_t{r.sport.last} << 32 |
                     uint64_t{r.dport.first} << 16 | r.dport.last);
      h = hash_cidr(hash_cidr(h, r.src), r.dst);
      h = mix(h, hash_verdict(view, r.verdict));
    }
  }
  return h;
}

bool same_verdict(const CompiledPolicy& a, uint32_t va, const CompiledPolicy& b, uint32_t vb) {
  const VerdictEntry& x = a.verdicts[va];
  const VerdictEntry& y = b.verdicts[vb];
  if (x.kind != y.kind || x.tier != y.tier || x.rule != y.rule ||
      (x.policy < 0) != (y.policy < 0)) {
    return false;
  }
  return x.policy < 0 || a.policy_names[static_cast<size_t>(x.policy)] ==
                             b.policy_names[static_cast<size_t>(y.policy)];
}

bool same_set(const SetView& a, uint32_t ida, const SetView& b, uint32_t idb) {
  const PolicySet& sa = a.policy.sets[ida - 1];
  const PolicySet& sb = b.policy.sets[idb - 1];
  if (sa.direction != sb.direction || sa.profile_allows != sb.profile_allows) {
    return false;
  }
  for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
    const std::vector<uint32_t>& ia = (family == 4 ? a.v4 : a.v6)[ida];
    const std::vector<uint32_t>& ib = (family == 4 ? b.v4 : b.v6)[idb];
    if (ia.size() != ib.size()) {
      return false;
    }
    for (size_t k = 0; k < ia.size(); ++k) {
      const AclRule& x = a.policy.rules(family)[ia[k]];
      const AclRule& y = b.policy.rules(family)[ib[k]];
      if (x.proto_first != y.proto_first || x.proto_last != y.proto_last || x.src != y.src ||
          x.dst != y.dst || x.sport != y.sport || x.dport != y.dport || x.category != y.category ||
          x.priority != y.priority || !same_verdict(a.policy, x.verdict, b.policy, y.verdict)) {
        return false;
      }
    }
  }
  return true;
}

std::vector<uint64_t> name_hashes(const CompiledPolicy& p) {
  std::vector<uint64_t> out;
  out.reserve(p.policy_names.size());
  for (const std::string& name : p.policy_names) {
    out.push_back(std::hash<std::string>{}(name));
  }
  return out;
}

}  // namespace

struct BaseIndex::Lists {
  std::vector<std::vector<uint32_t>> v4, v6;
  std::vector<uint64_t> name_hashes;
};

BaseIndex::BaseIndex(std::shared_ptr<const CompiledPolicy> base)
    : base_(std::move(base)),
      lists_(std::make_shared<Lists>(
          Lists{rules_by_set(*base_, 4), rules_by_set(*base_, 6), name_hashes(*base_)})) {
  const SetView view{*base_, lists_->v4, lists_->v6, lists_->name_hashes};
  for (const PolicySet& set : base_->sets) {
    sets_by_hash_.emplace(hash_set(view, set.id), set.id);
  }
}

std::optional<CompiledPolicy> BaseIndex::rebase(const CompiledPolicy& fresh,
                                                RebaseStats* stats) const {
  const CompiledPolicy& base = *base_;
  if (base.overlay_first_set != 0 || fresh.overlay_first_set != 0 ||
      fresh.tier_names != base.tier_names || fresh.num_categories != base.num_categories) {
    return std::nullopt;
  }
  const auto fresh_v4 = rules_by_set(fresh, 4);
  const auto fresh_v6 = rules_by_set(fresh, 6);
  const std::vector<uint64_t> fresh_hashes = name_hashes(fresh);
  const SetView fresh_view{fresh, fresh_v4, fresh_v6, fresh_hashes};
  const SetView base_view{base, lists_->v4, lists_->v6, lists_->name_hashes};

  CompiledPolicy out = base;  // its rules, sets, verdicts and names keep their indexes
  const auto first = static_cast<uint32_t>(base.sets.size() + 1);
  out.overlay_first_set = first;

  std::unordered_map<std::string, int32_t> name_index;
  for (size_t i = 0; i < out.policy_names.size(); ++i) {
    name_index.emplace(out.policy_names[i], static_cast<int32_t>(i));
  }
  // A fresh verdict of an overlay set becomes an entry appended to the base's table.
  std::unordered_map<uint32_t, uint32_t> verdict_of;
  auto overlay_verdict = [&](uint32_t v) {
    auto [it, inserted] = verdict_of.emplace(v, 0);
    if (inserted) {
      VerdictEntry e = fresh.verdicts[v];
      if (e.policy >= 0) {
        const std::string& name = fresh.policy_names[static_cast<size_t>(e.policy)];
        auto [n, added] = name_index.emplace(name, static_cast<int32_t>(out.policy_names.size()));
        if (added) {
          out.policy_names.push_back(name);
        }
        e.policy = n->second;
      }
      out.verdicts.push_back(e);
      it->second = static_cast<uint32_t>(out.verdicts.size() - 1);
    }
    return it->second;
  };

  RebaseStats counted;
  std::vector<uint32_t> id_of(fresh.sets.size() + 1, 0);
  for (const PolicySet& set : fresh.sets) {
    const auto [lo, hi] = sets_by_hash_.equal_range(hash_set(fresh_view, set.id));
    for (auto it = lo; it != hi && id_of[set.id] == 0; ++it) {
      if (same_set(fresh_view, set.id, base_view, it->second)) {
        id_of[set.id] = it->second;
      }
    }
    if (id_of[set.id] != 0) {
      ++counted.reused_sets;
      continue;
    }
    const auto id = static_cast<uint32_t>(out.sets.size() + 1);
    id_of[set.id] = id;
    PolicySet moved = set;
    moved.id = id;
    out.sets.push_back(std::move(moved));
    ++counted.overlay_sets;
    for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
      std::vector<AclRule>& into = family == 4 ? out.rules_v4 : out.rules_v6;
      for (uint32_t i : (family == 4 ? fresh_v4 : fresh_v6)[set.id]) {
        AclRule r = fresh.rules(family)[i];
        r.set_id = id;
        r.verdict = overlay_verdict(r.verdict);
        into.push_back(r);
        ++counted.overlay_rules;
      }
    }
  }
  out.endpoints = fresh.endpoints;
  for (EndpointBinding& e : out.endpoints) {
    e.egress_set = id_of[e.egress_set];
    e.ingress_set = id_of[e.ingress_set];
  }
  if (stats != nullptr) {
    *stats = counted;
  }
  return out;
}

}  // namespace palisade::policy
