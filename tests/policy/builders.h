// One-line builders for policy tests: objects from short YAML, snapshots from objects, flows.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "policy/decode.h"
#include "policy/evaluator.h"
#include "policy/snapshot.h"

namespace palisade::policy {
// Error codes print by name in test failures.
void PrintTo(ErrorCode code, std::ostream* os);
}  // namespace palisade::policy

namespace palisade::testing {

// Decodes one YAML document strictly; a decoding error fails the calling test.
policy::Object object(const std::string& yaml);
// Decodes one YAML document strictly and returns its error; success fails the calling test.
policy::Error decode_error(const std::string& yaml);
// The internal policies one policy document lowers into.
std::vector<policy::Policy> policies(const std::string& yaml);

std::unique_ptr<policy::Snapshot> snapshot(const std::vector<std::string>& docs);

std::string ns(const std::string& name, const std::string& labels = "{}");
// A pod with one IPv4 address (and an IPv6 one when given), on node-a unless told.
std::string pod(const std::string& ns, const std::string& name, const std::string& ip,
                const std::string& labels = "{}", const std::string& extra_spec = "",
                const std::string& node = "node-a");

policy::Flow flow(const std::string& src, const std::string& dst, const std::string& proto,
                  uint16_t dport);

// "allow" or "deny", then " by " and the by-name: one string to compare in a test.
std::string verdict(const policy::Snapshot& snap, const policy::Flow& f,
                    const policy::EvalOptions& options = {});

}  // namespace palisade::testing
