// verify: runs conformance scenarios through an engine and compares its answers with each
// flow's expectations (SCENARIOS.md). The reference engine answers from policy/'s evaluator;
// the compiled and dataplane engines plug in through VerdictEngine.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/source/scenario.h"

namespace palisade::control {

struct EngineAnswer {
  policy::Verdict verdict = policy::Verdict::Allow;
  std::optional<policy::Verdict> reply;  // the first reply packet, when the engine knows it
  std::string by;                        // what decided, as `by` names it
  std::string detail;                    // rule and origin, for the report
  std::optional<std::string> skipped;    // why this engine cannot answer this flow
  std::optional<std::string> error;      // the engine misbehaved (a packet out of the wrong
                                         // port, altered, duplicated): a failure whatever
                                         // the verdict
};

// One way of answering "what happens to this flow". load() is called once per scenario,
// before any answer() for it.
class VerdictEngine {
 public:
  virtual ~VerdictEngine() = default;
  virtual std::string name() const = 0;
  virtual policy::Result<bool> load(const Scenario& scenario, const policy::Snapshot& snap) = 0;
  virtual EngineAnswer answer(const policy::Flow& flow) = 0;
};

std::unique_ptr<VerdictEngine> make_reference_engine();

struct VerifyTotals {
  int passed = 0;
  int failed = 0;
  int skipped = 0;
};

struct VerifyOptions {
  bool quiet = false;  // print only failures and the totals
};

// Verifies one file, printing a line per check to `out`; adds to `totals`.
void verify_file(const std::string& path, VerdictEngine& engine, const VerifyOptions& options,
                 std::ostream& out, VerifyTotals& totals);

}  // namespace palisade::control
