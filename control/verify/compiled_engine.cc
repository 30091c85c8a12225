#include "control/verify/compiled_engine.h"

#include <map>

#include "control/verify/compiled_evaluator.h"
#include "dataplane/acl_tables.h"
#include "dataplane/eal.h"
#include "policy/compiler.h"

namespace palisade::control {

namespace {

class CompiledEngine final : public VerdictEngine {
 public:
  std::string name() const override { return "compiled"; }

  policy::Result<bool> load(const Scenario& scenario, const policy::Snapshot& snap) override {
    if (auto eal = dataplane::start_eal_for_tools("palisadectl"); !eal) {
      return eal.error();
    }
    snap_ = &snap;
    options_ = policy::CompileOptions{};
    options_.node = scenario.node;
    views_.clear();
    // Compile once up front, so that a limit or an error is the file's, not a flow's.
    if (auto v = view(std::nullopt, {}); !v) {
      return v.error();
    }
    return true;
  }

  EngineAnswer answer(const policy::Flow& flow) override {
    EngineAnswer a;
    // A flow with an HTTP request is judged as its connection: no stage judges requests
    // yet, so a request passes exactly when its connection does (Rule::has_l7).
    // A flow that names the DNS answer for its destination sees tables in which toFQDNs
    // peers hold that address, as the dataplane's DNS snooping would have it.
    auto v = view(flow.fqdn, flow.dst);
    if (!v) {
      a.skipped = "cannot compile: " + v.error().to_string();
      return a;
    }
    CompiledVerdict cv = CompiledEvaluator(v.value()->policy, *v.value()->tables).evaluate(flow);
    a.verdict = cv.allow ? policy::Verdict::Allow : policy::Verdict::Deny;
    a.reply = a.verdict;  // conntrack: replies of an allowed connection pass
    a.by = cv.by.empty() ? "(no endpoint judged)" : cv.by;
    a.detail = a.by;
    return a;
  }

 private:
  struct View {
    policy::CompiledPolicy policy;
    std::unique_ptr<dataplane::AclTables> tables;
  };

  policy::Result<View*> view(const std::optional<std::string>& fqdn, const policy::IpAddr& dst) {
    const std::string key = fqdn ? *fqdn + "@" + dst.to_string() : std::string();
    if (auto it = views_.find(key); it != views_.end()) {
      return it->second.get();
    }
    policy::CompileOptions options = options_;
    if (fqdn) {
      options.dns.emplace_back(dst, *fqdn);
    }
    policy::Result<policy::CompiledPolicy> compiled = policy::compile(*snap_, options);
    if (!compiled) {
      return compiled.error();
    }
    auto v = std::make_unique<View>();
    v->policy = std::move(compiled).value();
    auto tables = dataplane::AclTables::build(v->policy);
    if (!tables) {
      return tables.error();
    }
    v->tables = std::move(tables).value();
    View* raw = v.get();
    views_[key] = std::move(v);
    return raw;
  }

  const policy::Snapshot* snap_ = nullptr;
  policy::CompileOptions options_;
  std::map<std::string, std::unique_ptr<View>> views_;
};

}  // namespace

std::unique_ptr<VerdictEngine> make_compiled_engine() { return std::make_unique<CompiledEngine>(); }

}  // namespace palisade::control
