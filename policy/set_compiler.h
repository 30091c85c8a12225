// SetCompiler: the rule list of one policy set. What an endpoint is judged by (its
// direction, kind, node, profile, own named ports and applied policies, tier by tier) is its
// set's key; every endpoint with the same key gets the same rules, so a set's rules are made
// once, from any member. compile() makes every set of a snapshot; a CompileSession remakes
// the few that a change reaches.
//
// Thread: any; one SetCompiler per thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/compiled_policy.h"
#include "policy/compiler.h"
#include "policy/error.h"
#include "policy/peer_lowering.h"
#include "policy/resolver.h"
#include "policy/snapshot.h"

namespace palisade::policy {

struct SetKey {
  std::string text;  // equal texts, equal rules
  Direction direction = Direction::Ingress;
  bool profile_allows = true;
  std::vector<AppliedTier> applied;
};

// One set's rules, with set_id 0 and verdicts that index `verdicts` from 1, and what the
// rules read from other endpoints.
struct SetRules {
  std::vector<AclRule> v4, v6;
  std::vector<VerdictEntry> verdicts;
  PeerReads reads;
};

class SetCompiler {
 public:
  SetCompiler(const Snapshot& snap, const CompileOptions& options);

  // Set when the snapshot's tiers cannot be categories (more than kMaxTiers hold policies).
  const std::optional<Error>& error() const { return error_; }
  const std::vector<std::string>& tier_names() const { return tier_names_; }
  uint32_t num_categories() const { return num_categories_; }

  SetKey key(const Endpoint& ep, Direction dir) const;
  // The rules of the set `key` names, made for `ep`, one of its members. LimitExceeded when
  // one policy rule expands past options.max_rules_per_policy_rule.
  Result<SetRules> rules(const Endpoint& ep, const SetKey& key);

  // The snapshot's endpoints changed in place (its policies did not): address sets computed
  // from the old endpoints are dropped.
  void endpoints_changed();
  // Policies of the snapshot were replaced in place, each keeping its place in the evaluation
  // order (and its tier): the index of which policies may apply where is made again.
  void policies_changed() { index_.emplace(snap_); }

 private:
  void lower_rule(uint8_t category, int32_t priority, uint32_t verdict, const Rule& rule,
                  const Endpoint& judged);
  void lower_for_protocol(uint8_t category, int32_t priority, uint32_t verdict, const Rule& rule,
                          const Endpoint& judged, uint8_t first, uint8_t last);
  // An ICMP constraint as boxes of (types, codes), in the key's sport and dport fields.
  struct IcmpBox {
    PortSet types, codes;
  };
  static std::vector<IcmpBox> icmp_boxes(const Rule& rule);
  void emit(uint8_t category, int32_t priority, uint32_t verdict, uint8_t proto_first,
            uint8_t proto_last, const std::vector<PeerPiece>& src,
            const std::vector<PeerPiece>& dst, const std::optional<std::vector<IcmpBox>>& icmp,
            std::optional<uint8_t> ip_version = std::nullopt);
  uint32_t add_verdict(VerdictEntry v);

  const Snapshot& snap_;
  const CompileOptions& options_;
  std::optional<PeerLowering> peers_;
  std::optional<PolicyIndex> index_;
  std::optional<Error> error_;
  std::vector<std::string> tier_names_;
  uint32_t num_categories_ = 1;
  std::map<std::string, uint8_t, std::less<>> tier_category_;
  SetRules* out_ = nullptr;                   // of the set being made
  Direction direction_ = Direction::Ingress;  // of the set being made
};

// Appends one set's rules and verdicts to a policy, as set `id`.
void append_set(CompiledPolicy& out, uint32_t id, const SetRules& rules);

}  // namespace palisade::policy
