// Scenario: a conformance file (SCENARIOS.md, and docs/scenarios.md for Palisade's
// additions): objects in, flows with their expected verdicts out.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "policy/decode.h"
#include "policy/evaluator.h"
#include "policy/snapshot.h"

namespace palisade::control {

struct ScenarioFlow {
  int index = 0;
  int line = 0;
  std::string src, dst;  // as written: namespace/pod or an address
  std::string proto = "TCP";
  std::optional<int> sport, dport;
  int family = 4;
  std::optional<policy::IcmpMatch> icmp;
  std::optional<policy::HttpRequest> http;
  std::optional<std::string> fqdn;
  policy::Verdict expect = policy::Verdict::Allow;
  std::optional<policy::Verdict> reply;
  std::optional<std::string> by;

  std::string label() const;  // "dev-app/frontend-1 -> dev-app/backend-1 TCP/8080"
};

struct ExpectedRejection {
  std::string object;  // Kind/namespace/name or Kind/name
  std::string field;   // a prefix of the error's field path
};

struct Scenario {
  std::string path;
  std::string description;
  std::optional<std::string> node;
  std::vector<policy::Decoded> objects;  // in file order, good and bad
  std::vector<ScenarioFlow> flows;
  std::vector<ExpectedRejection> expect_rejected;
  std::optional<policy::Failsafe> failsafe;
};

// Reads and checks the file's own structure. Objects are decoded strictly; their errors are
// kept in `objects` for the caller to report (or to match against expect_rejected).
// `options`: how its objects are decoded (the source is set to `path`).
policy::Result<Scenario> load_scenario(const std::string& path,
                                       const policy::DecodeOptions& options = {});

// The packet-level flow of a scenario flow: names resolve to the pod's first address of the
// flow's family. An unknown pod, a pod without an address of that family, or a bad address
// is an error naming the flow.
policy::Result<policy::Flow> resolve_flow(const Scenario& scenario, const ScenarioFlow& flow);

// The ephemeral source port of flows that give none.
inline constexpr uint16_t kDefaultSourcePort = 40000;

}  // namespace palisade::control
