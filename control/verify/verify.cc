#include "control/verify/verify.h"

#include <algorithm>
#include <ostream>

#include "policy/store.h"

namespace palisade::control {

using policy::Verdict;

namespace {

const char* verdict_name(Verdict v) { return v == Verdict::Allow ? "allow" : "deny"; }

class ReferenceEngine final : public VerdictEngine {
 public:
  std::string name() const override { return "reference"; }
  policy::Result<bool> load(const Scenario& scenario, const policy::Snapshot& snap) override {
    snap_ = &snap;
    options_.node = scenario.node;
    return true;
  }
  EngineAnswer answer(const policy::Flow& flow) override {
    policy::FlowVerdict v = policy::evaluate(*snap_, flow, options_);
    EngineAnswer a;
    a.verdict = v.verdict;
    a.reply = v.verdict;  // stateful: the replies of an allowed connection pass, no others
    if (auto d = v.deciding()) {
      a.by = d->by_name();
      a.detail = d->describe();
    } else {
      a.by = "(no endpoint judged)";
      a.detail = a.by;
    }
    return a;
  }

 private:
  const policy::Snapshot* snap_ = nullptr;
  policy::EvalOptions options_;
};

// Objects the file holds on purpose to be rejected: `expect_rejected`.
bool expected(const Scenario& s, const policy::Error& e, const std::string& object_path,
              std::vector<bool>& seen) {
  for (size_t i = 0; i < s.expect_rejected.size(); ++i) {
    const ExpectedRejection& r = s.expect_rejected[i];
    if (r.object == object_path && e.field.starts_with(r.field)) {
      seen[i] = true;
      return true;
    }
  }
  return false;
}

}  // namespace

std::unique_ptr<VerdictEngine> make_reference_engine() {
  return std::make_unique<ReferenceEngine>();
}

void verify_file(const std::string& path, VerdictEngine& engine, const VerifyOptions& options,
                 std::ostream& out, VerifyTotals& totals) {
  policy::Result<Scenario> loaded = load_scenario(path);
  if (!loaded) {
    out << "FAIL " << loaded.error().to_string() << "\n";
    ++totals.failed;
    return;
  }
  const Scenario& s = loaded.value();
  if (!options.quiet) {
    out << "== " << path << (s.description.empty() ? "" : ": " + s.description) << "\n";
  }

  // Objects go through a store, as on a node: the invalid ones are rejected one by one and
  // every other object still counts.
  policy::ObjectStore store;
  std::vector<bool> seen(s.expect_rejected.size(), false);
  auto reject = [&](const policy::Error& e, const std::string& object_path) {
    if (expected(s, e, object_path, seen)) {
      ++totals.passed;
      if (!options.quiet) {
        out << "ok   rejected as expected: " << e.to_string() << "\n";
      }
    } else {
      ++totals.failed;
      out << "FAIL invalid object: " << e.to_string() << "\n";
    }
  };
  for (const policy::Decoded& d : s.objects) {
    policy::ObjectStore::Report report = store.apply(d);
    if (report.error) {
      reject(*report.error, d.key ? d.key->to_path() : std::string("?"));
    } else if (d.object) {
      if (const auto* ignored = std::get_if<policy::IgnoredKind>(&d.object->body)) {
        if (!options.quiet) {
          out << "note " << d.object->source << ": " << d.object->key.to_string() << " ignored ("
              << ignored->reason << ")\n";
        }
      }
    }
  }
  policy::SnapshotBuild build = policy::build_snapshot(
      store.objects(), s.failsafe.value_or(policy::Failsafe::calico_defaults()));
  for (const policy::Error& e : build.errors) {
    // The error's object reads "Kind ns/name"; expect_rejected spells it Kind/ns/name.
    std::string object_path = e.object;
    std::replace(object_path.begin(), object_path.end(), ' ', '/');
    reject(e, object_path);
  }
  for (size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) {
      ++totals.failed;
      out << "FAIL " << path << ": " << s.expect_rejected[i].object
          << " was expected to be rejected at " << s.expect_rejected[i].field << ", and was not\n";
    }
  }

  policy::Result<bool> ready = engine.load(s, *build.snapshot);
  if (!ready) {
    ++totals.failed;
    out << "FAIL " << path << ": " << engine.name() << " engine: " << ready.error().to_string()
        << "\n";
    return;
  }
  for (const ScenarioFlow& f : s.flows) {
    policy::Result<policy::Flow> flow = resolve_flow(s, f);
    if (!flow) {
      ++totals.failed;
      out << "FAIL " << flow.error().to_string() << "\n";
      continue;
    }
    EngineAnswer a = engine.answer(flow.value());
    if (a.skipped) {
      ++totals.skipped;
      if (!options.quiet) {
        out << "skip " << f.label() << ": " << *a.skipped << "\n";
      }
      continue;
    }
    std::string problem;
    if (a.error) {
      problem = *a.error;
    } else if (a.verdict != f.expect) {
      problem =
          std::string("expected ") + verdict_name(f.expect) + ", got " + verdict_name(a.verdict);
    } else if (f.by && *f.by != a.by) {
      problem = "expected by " + *f.by + ", got by " + a.by;
    } else if (f.reply && a.reply && *f.reply != *a.reply) {
      problem = std::string("expected reply ") + verdict_name(*f.reply) + ", got reply " +
                verdict_name(*a.reply);
    }
    const std::string line = f.label() + ": " + verdict_name(a.verdict) + " by " + a.detail;
    if (problem.empty()) {
      ++totals.passed;
      if (!options.quiet) {
        out << "ok   " << line << "\n";
      }
    } else {
      ++totals.failed;
      out << "FAIL " << path << ":" << f.line << ": " << line << " — " << problem << "\n";
    }
  }
}

}  // namespace palisade::control
