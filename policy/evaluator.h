// The reference evaluator: the verdict for the first packet of a connection, straight from
// the model, written to be obviously right rather than fast. The compiled tables and the
// dataplane are held to it. docs/semantics.md is its specification.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/snapshot.h"

namespace palisade::policy {

struct HttpRequest {
  std::string method, path, host;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Flow {
  IpAddr src, dst;
  uint8_t protocol = ipproto::kTcp;
  uint16_t src_port = 0, dst_port = 0;
  std::optional<uint8_t> icmp_type, icmp_code;
  std::optional<HttpRequest> http;  // an L7 request on the connection
  std::optional<std::string> fqdn;  // the DNS name that resolved to dst
};

enum class Verdict : uint8_t { Allow, Deny };

// What decided one direction of a flow.
struct Decision {
  enum class By : uint8_t {
    Rule,       // a rule of `policy` (index `rule_index` in its list for the direction)
    EndOfTier,  // policies of `tier` applied, none decided: the tier's default action
    Profile,    // no tier decided
    Node,       // a node's traffic to its own pod
    Failsafe,   // a failsafe port of a host endpoint
  };
  Verdict verdict = Verdict::Allow;
  By by = By::Profile;
  Direction direction = Direction::Ingress;
  const Endpoint* endpoint = nullptr;  // the endpoint judged
  std::string tier;
  const Policy* policy = nullptr;
  int rule_index = -1;
  std::vector<std::string> logged;  // Log rules passed on the way, as TIER/POLICY#INDEX

  // How scenarios and `palisadectl explain` name it: TIER/NAMESPACE/NAME, TIER/NAME,
  // TIER/(end of tier), profile, node, failsafe.
  std::string by_name() const;
  // by_name, plus the rule and its origin: "default/prod/knp.default.db rule 0 (spec.ingress[0])"
  std::string describe() const;
};

struct FlowVerdict {
  Verdict verdict = Verdict::Allow;
  std::optional<Decision> egress;   // the source's egress, when the source is judged here
  std::optional<Decision> ingress;  // the destination's ingress, when it is judged here
  // The decision `by` speaks of: the side that denied, else the destination's ingress, else
  // the source's egress; nullopt when neither side is an endpoint judged here.
  std::optional<Decision> deciding() const;
};

struct EvalOptions {
  std::optional<std::string> node;  // judge only this node's endpoints; all when unset
};

FlowVerdict evaluate(const Snapshot& snap, const Flow& flow, const EvalOptions& options = {});

// One direction alone, for explain and for tests.
Decision judge(const Snapshot& snap, const Endpoint& ep, Direction dir, const Flow& flow);

}  // namespace palisade::policy
