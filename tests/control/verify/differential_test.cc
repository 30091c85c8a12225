// The compiled rte_acl tables held to the reference evaluator on random clusters: for each
// case, a random cluster (tests/random/random_cluster.h) compiled for all nodes and for
// node-a, and random flows, whose verdict and `by` must agree on every classify algorithm
// that this CPU and build accept.
//
// PALISADE_TEST_SEED sets the first case's seed (case i uses seed + i); a failure prints the
// seed of its case, so PALISADE_TEST_SEED=<seed> PALISADE_DIFF_CASES=1 runs that case alone.
// For long runs: PALISADE_DIFF_CASES and PALISADE_DIFF_FQDN_CASES (cases of each test),
// PALISADE_DIFF_FLOWS (flows per case). PALISADE_DIFF_REUSE_IPS=0 stops clusters from
// having two pods that report one address (on by default; see ClusterShape::reuse_ips).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

// rte_vect_set_max_simd_bitwidth is experimental in DPDK 22.11: needed to reach AVX-512.
#define ALLOW_EXPERIMENTAL_API
#include <rte_acl.h>
#include <rte_vect.h>

#include "control/verify/compiled_evaluator.h"
#include "dataplane/acl_tables.h"
#include "dataplane/eal.h"
#include "policy/compiler.h"
#include "policy/decode.h"
#include "policy/evaluator.h"
#include "policy/rebase.h"
#include "policy/snapshot.h"
#include "tests/random/random_cluster.h"

namespace palisade {
namespace {

using control::CompiledEvaluator;
using dataplane::AclTables;
using testing::ClusterGenerator;
using testing::ClusterShape;
using testing::RandomCluster;

constexpr int kDefaultCases = 600;  // with the FQDN test, 25-40 s under `meson test`, 2 cores
constexpr int kDefaultFqdnCases = 30;
constexpr int kFlowsPerCase = 500;  // flows cost little next to compiling and building
constexpr int kFqdnFlowsPerCase = 60;
constexpr int kVerboseFailures = 3;  // cases printed in full; later ones in one line
// Rules that negate on both sides (notSelector, notNets) cross two complements: a 7-pod
// cluster can make 170k IPv6 rules and a 12 s rte_acl build. Such cases are skipped (and
// counted) past this bound per family, so that the run stays in its time.
constexpr size_t kMaxRulesPerFamily = 10'000;

struct Algorithm {
  enum rte_acl_classify_alg alg;
  const char* name;
};
constexpr Algorithm kAlgorithms[] = {
    {RTE_ACL_CLASSIFY_SCALAR, "scalar"},       {RTE_ACL_CLASSIFY_SSE, "sse"},
    {RTE_ACL_CLASSIFY_AVX2, "avx2"},           {RTE_ACL_CLASSIFY_AVX512X16, "avx512x16"},
    {RTE_ACL_CLASSIFY_AVX512X32, "avx512x32"},
};

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 0) : fallback;
}

uint64_t first_seed() {
  std::random_device rd;
  return env_u64("PALISADE_TEST_SEED", (uint64_t{rd()} << 32) ^ rd());
}

bool start_eal() {
  static bool started = false;
  if (started) {
    return true;
  }
  auto eal = dataplane::start_eal_for_tools("differential_test");
  if (!eal) {
    ADD_FAILURE() << eal.error().to_string();
    return false;
  }
  // The EAL caps vector paths at 256 bits unless told otherwise (--force-max-simd-bitwidth),
  // and rte_acl then refuses the AVX-512 methods; lift the cap so that they are held to the
  // reference too where the CPU has them.
  rte_vect_set_max_simd_bitwidth(RTE_VECT_SIMD_512);
  started = true;
  return true;
}

// One answer, reduced to what both engines must agree on, plus what explains it.
struct Answer {
  bool allow = true;
  std::string by;  // "" when no side is judged
  std::string detail;
  bool by_fqdn_rule = false;  // reference only: an egress toFQDNs rule decided
  bool operator==(const Answer& o) const { return allow == o.allow && by == o.by; }
};

std::string show(const Answer& a) {
  return std::string(a.allow ? "allow" : "deny") + " by " + (a.by.empty() ? "(none)" : a.by) +
         "   [" + a.detail + "]";
}

Answer reference_answer(const policy::Snapshot& snap, const policy::Flow& flow,
                        const std::optional<std::string>& node) {
  const policy::FlowVerdict v = policy::evaluate(snap, flow, policy::EvalOptions{node});
  Answer a;
  a.allow = v.verdict == policy::Verdict::Allow;
  if (auto d = v.deciding()) {
    a.by = d->by_name();
    a.by_fqdn_rule = d->by == policy::Decision::By::Rule &&
                     d->direction == policy::Direction::Egress &&
                     d->policy->egress[static_cast<size_t>(d->rule_index)].destination.fqdns;
  }
  a.detail = "egress: " + (v.egress ? v.egress->describe() : std::string("-")) +
             "; ingress: " + (v.ingress ? v.ingress->describe() : std::string("-"));
  return a;
}

Answer compiled_answer(const policy::CompiledPolicy& compiled, const AclTables& tables,
                       const policy::Flow& flow) {
  const control::CompiledVerdict v = CompiledEvaluator(compiled, tables).evaluate(flow);
  Answer a;
  a.allow = v.allow;
  a.by = v.by;  // "" when neither address is bound to an endpoint compiled here
  a.detail = "egress: " + (v.egress ? compiled.by_name(v.egress->verdict) : std::string("-")) +
             "; ingress: " + (v.ingress ? compiled.by_name(v.ingress->verdict) : std::string("-"));
  return a;
}

// What the flows of a run covered, so that a passing run can show it compared something.
struct Coverage {
  int cases = 0, failed_cases = 0, skipped_compiles = 0;
  long comparisons = 0, flows = 0;
  long allowed = 0, denied = 0;
  std::map<std::string, long> by_kind;  // profile, node, failsafe, end of tier, rule, none
  std::map<std::string, long> by_dialect;
  std::map<std::string, long> algorithms;
  std::map<int, long> rules_per_case;   // log2 buckets of v4+v6 rule counts
  std::map<size_t, long> tiers_in_use;  // rte_acl categories for tiers, per compile

  void count(const policy::CompiledPolicy& compiled) {
    int b = 0;
    while ((size_t{1} << b) <= compiled.rules_v4.size() + compiled.rules_v6.size()) {
      ++b;
    }
    ++rules_per_case[b];
    ++tiers_in_use[compiled.tier_names.size()];
  }

  void count(const Answer& a) {
    ++flows;
    (a.allow ? allowed : denied) += 1;
    std::string kind = a.by.empty() ? "none" : a.by;
    std::string dialect;
    if (kind != "none" && kind != "profile" && kind != "node" && kind != "failsafe") {
      if (kind.ends_with("(end of tier)")) {
        kind = "end of tier";
      } else {
        dialect = kind.find("knp.") != std::string::npos    ? "kubernetes"
                  : kind.find("/cnp.") != std::string::npos ? "cilium"
                  : kind.find("ccnp.") != std::string::npos ? "cilium"
                                                            : "calico";
        kind = "rule";
      }
    }
    ++by_kind[kind];
    if (!dialect.empty()) {
      ++by_dialect[dialect];
    }
  }

  std::string summary() const {
    std::ostringstream out;
    out << cases << " cases (" << failed_cases << " failed, " << skipped_compiles
        << " compiles over " << kMaxRulesPerFamily << " rules skipped), " << flows
        << " reference answers (" << allowed << " allow, " << denied << " deny), " << comparisons
        << " comparisons\n  by:";
    for (const auto& [k, n] : by_kind) {
      out << " " << k << "=" << n;
    }
    out << "\n  rules decided by dialect:";
    for (const auto& [k, n] : by_dialect) {
      out << " " << k << "=" << n;
    }
    out << "\n  algorithms (cases x node options):";
    for (const auto& [k, n] : algorithms) {
      out << " " << k << "=" << n;
    }
    out << "\n  ACL rules per compile (power-of-2 buckets):";
    for (const auto& [k, n] : rules_per_case) {
      out << " <" << (1L << k) << ":" << n;
    }
    out << "\n  tiers in use per compile:";
    for (const auto& [k, n] : tiers_in_use) {
      out << " " << k << "=" << n;
    }
    return out.str();
  }
};

// A case's objects, decoded and built into a snapshot; a failure here is the generator's.
std::unique_ptr<policy::Snapshot> build(const RandomCluster& cluster, uint64_t seed) {
  std::vector<policy::Object> objects;
  for (const std::string& text : cluster.objects) {
    YAML::Node doc;
    try {
      doc = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      ADD_FAILURE() << "seed " << seed << ": generated YAML does not parse: " << e.what() << "\n"
                    << text;
      return nullptr;
    }
    policy::Decoded d = policy::decode_document(doc, policy::DecodeOptions{"gen", true});
    if (!d.object) {
      ADD_FAILURE() << "seed " << seed << ": generated object does not decode (generator bug): "
                    << d.object.error().to_string() << "\n"
                    << text;
      return nullptr;
    }
    objects.push_back(std::move(d.object).value());
  }
  policy::SnapshotBuild b = policy::build_snapshot(objects);
  for (const policy::Error& e : b.errors) {
    ADD_FAILURE() << "seed " << seed << ": snapshot error (generator bug): " << e.to_string()
                  << "\n"
                  << cluster.yaml();
    return nullptr;
  }
  return std::move(b.snapshot);
}

struct Tables {
  policy::CompiledPolicy compiled;
  std::unique_ptr<AclTables> acl;
};

// nullopt with `skipped` set: over kMaxRulesPerFamily (in all, or from one rule);
// nullopt alone: failed (reported).
std::optional<Tables> compile_tables(const policy::Snapshot& snap, policy::CompileOptions options,
                                     uint64_t seed, const RandomCluster& cluster, bool& skipped) {
  options.max_rules = kMaxRulesPerFamily;
  options.max_rules_per_policy_rule = kMaxRulesPerFamily;
  policy::Result<policy::CompiledPolicy> compiled = policy::compile(snap, options);
  skipped = !compiled && compiled.error().code == policy::ErrorCode::LimitExceeded &&
            (compiled.error().message.find("rules exceed the limit") != std::string::npos ||
             compiled.error().message.find("this rule expands into") != std::string::npos);
  if (skipped) {
    return std::nullopt;
  }
  if (!compiled) {
    ADD_FAILURE() << "seed " << seed << ": compile failed: " << compiled.error().to_string() << "\n"
                  << cluster.yaml();
    return std::nullopt;
  }
  Tables t{std::move(compiled).value(), nullptr};
  auto acl = AclTables::build(t.compiled);
  if (!acl) {
    ADD_FAILURE() << "seed " << seed << ": AclTables::build failed: " << acl.error().to_string()
                  << "\n"
                  << cluster.yaml();
    return std::nullopt;
  }
  t.acl = std::move(acl).value();
  return t;
}

struct Mismatch {
  std::string where;  // algorithm and node option
  size_t flow_index;
  policy::Flow flow;
  Answer reference, compiled;
};

void report(const Mismatch& m, uint64_t seed, const RandomCluster& cluster, bool verbose,
            const char* cases_variable = "PALISADE_DIFF_CASES") {
  std::ostringstream out;
  out << "MISMATCH, seed " << seed << " (PALISADE_TEST_SEED=" << seed << " " << cases_variable
      << "=1 runs this case alone)\n"
      << "  " << m.where << ", flow #" << m.flow_index << ": " << testing::describe(m.flow)
      << "\n  reference: " << show(m.reference) << "\n  compiled:  " << show(m.compiled) << "\n";
  if (verbose) {
    out << "objects:\n" << cluster.yaml();
  } else {
    out << "  (objects printed for the first " << kVerboseFailures
        << " failed cases only: run this case alone to see them)\n";
  }
  ADD_FAILURE() << out.str();
}

// Compares every flow on every algorithm the tables accept; the first mismatch stops it.
std::optional<Mismatch> compare(Tables& t, const std::optional<std::string>& node,
                                const std::vector<policy::Flow>& flows,
                                const std::vector<Answer>& want, Coverage& cov) {
  for (const Algorithm& alg : kAlgorithms) {
    if (!t.acl->set_algorithm(alg.alg)) {
      continue;
    }
    ++cov.algorithms[alg.name];
    for (size_t i = 0; i < flows.size(); ++i) {
      Answer got = compiled_answer(t.compiled, *t.acl, flows[i]);
      ++cov.comparisons;
      if (!(got == want[i])) {
        return Mismatch{std::string(alg.name) + ", node " + node.value_or("(all)"), i, flows[i],
                        want[i], got};
      }
    }
  }
  return std::nullopt;
}

// One case: false when it failed (reported already).
bool run_case(uint64_t seed, Coverage& cov, bool verbose) {
  ClusterGenerator gen(seed, ClusterShape{.reuse_ips = env_u64("PALISADE_DIFF_REUSE_IPS", 1) != 0});
  const RandomCluster cluster = gen.cluster();
  std::unique_ptr<policy::Snapshot> snap = build(cluster, seed);
  if (snap == nullptr) {
    return false;
  }
  std::vector<policy::Flow> flows;
  static const int n_flows = static_cast<int>(env_u64("PALISADE_DIFF_FLOWS", kFlowsPerCase));
  for (int i = 0; i < n_flows; ++i) {
    flows.push_back(gen.flow(cluster));
  }
  for (const std::optional<std::string>& node :
       {std::optional<std::string>(), std::optional<std::string>("node-a")}) {
    bool skipped = false;
    std::optional<Tables> t =
        compile_tables(*snap, policy::CompileOptions{node, {}}, seed, cluster, skipped);
    if (skipped) {
      ++cov.skipped_compiles;
      continue;
    }
    if (!t) {
      return false;
    }
    cov.count(t->compiled);
    std::vector<Answer> want;
    for (const policy::Flow& f : flows) {
      want.push_back(reference_answer(*snap, f, node));
      cov.count(want.back());
    }
    if (auto m = compare(*t, node, flows, want, cov)) {
      report(*m, seed, cluster, verbose);
      return false;
    }
  }
  return true;
}

TEST(Differential, CompiledTablesMatchReferenceOnRandomClusters) {
  ASSERT_TRUE(start_eal());
  const uint64_t seed0 = first_seed();
  const int cases = static_cast<int>(env_u64("PALISADE_DIFF_CASES", kDefaultCases));
  const auto start = std::chrono::steady_clock::now();
  Coverage cov;
  for (int i = 0; i < cases; ++i) {
    ++cov.cases;
    if (!run_case(seed0 + static_cast<uint64_t>(i), cov, cov.failed_cases < kVerboseFailures)) {
      ++cov.failed_cases;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[differential] first seed " << seed0 << ", " << secs << " s\n"
            << cov.summary() << "\n";
  EXPECT_EQ(cov.failed_cases, 0) << "first seed " << seed0 << " (PALISADE_TEST_SEED=" << seed0
                                 << " PALISADE_DIFF_CASES=" << cases << " repeats this run)";
  // A run that compares nothing, or only one kind of answer, tests nothing.
  EXPECT_GT(cov.comparisons, 0);
  EXPECT_GT(cov.allowed, 0);
  EXPECT_GT(cov.denied, 0);
}

// Incremental tables (policy/rebase.h): the tables of one cluster, built in full, are the
// base; a changed cluster (a random share of its objects gone, or the gone ones back) is
// compiled in full and rebased onto it, and its overlay over the shared base tables must
// answer every flow as the reference does on the changed cluster, on every algorithm. A policy
// rebased onto itself must reuse every set and build no overlay.
TEST(Differential, RebasedTablesMatchReferenceAfterChanges) {
  ASSERT_TRUE(start_eal());
  const uint64_t seed0 = first_seed();
  const int cases = static_cast<int>(env_u64("PALISADE_DIFF_REBASE_CASES", kDefaultCases / 3));
  Coverage cov;
  long rebased = 0, tiers_changed = 0, overlay_sets = 0, reused_sets = 0;
  for (int i = 0; i < cases; ++i) {
    const uint64_t seed = seed0 + static_cast<uint64_t>(i);
    ++cov.cases;
    ClusterGenerator gen(seed);
    const RandomCluster cluster = gen.cluster();
    RandomCluster changed = cluster;
    changed.objects.clear();
    std::mt19937_64 rng(seed ^ 0x5EBA5Eull);
    for (const std::string& text : cluster.objects) {
      // Tiers stay: a policy whose tier is gone is a snapshot error, not a change.
      if (YAML::Load(text)["kind"].as<std::string>() == "Tier" || rng() % 5 != 0) {
        changed.objects.push_back(text);
      }
    }
    std::vector<policy::Flow> flows;
    for (int f = 0; f < kFlowsPerCase; ++f) {
      flows.push_back(gen.flow(cluster));
    }
    const std::unique_ptr<policy::Snapshot> whole = build(cluster, seed);
    const std::unique_ptr<policy::Snapshot> part = build(changed, seed);
    if (whole == nullptr || part == nullptr) {
      ++cov.failed_cases;
      continue;
    }
    bool failed = false;
    for (const auto& [from, to] :
         {std::pair{whole.get(), part.get()}, std::pair{part.get(), whole.get()}}) {
      bool skipped = false;
      std::optional<Tables> base = compile_tables(*from, {}, seed, cluster, skipped);
      std::optional<Tables> fresh;
      if (!skipped && base) {
        fresh = compile_tables(*to, {}, seed, cluster, skipped);
      }
      if (skipped) {
        ++cov.skipped_compiles;
        continue;
      }
      if (!base || !fresh) {
        failed = true;
        break;
      }
      const policy::BaseIndex index(std::make_shared<const policy::CompiledPolicy>(base->compiled));
      policy::RebaseStats self;
      ASSERT_TRUE(index.rebase(base->compiled, &self).has_value()) << "seed " << seed;
      EXPECT_EQ(self.overlay_sets, 0u) << "seed " << seed << ": a policy rebased onto itself";
      EXPECT_EQ(self.reused_sets, base->compiled.sets.size()) << "seed " << seed;
      policy::RebaseStats stats;
      std::optional<policy::CompiledPolicy> onto = index.rebase(fresh->compiled, &stats);
      if (!onto) {
        ++tiers_changed;
        EXPECT_NE(fresh->compiled.tier_names, base->compiled.tier_names) << "seed " << seed;
        continue;
      }
      ++rebased;
      overlay_sets += stats.overlay_sets;
      reused_sets += stats.reused_sets;
      auto over = AclTables::build_over(base->acl->base(), *onto);
      ASSERT_TRUE(over.has_value()) << "seed " << seed << ": " << over.error().to_string();
      Tables t{std::move(*onto), std::move(over).value()};
      std::vector<Answer> want;
      for (const policy::Flow& f : flows) {
        want.push_back(reference_answer(*to, f, std::nullopt));
        cov.count(want.back());
      }
      if (auto m = compare(t, std::nullopt, flows, want, cov)) {
        m->where += to == part.get() ? ", rebased after objects were removed"
                                     : ", rebased after objects were added";
        report(*m, seed, cluster, cov.failed_cases < kVerboseFailures,
               "PALISADE_DIFF_REBASE_CASES");
        failed = true;
        break;
      }
    }
    cov.failed_cases += failed ? 1 : 0;
  }
  std::cout << "[differential rebase] first seed " << seed0 << ": " << rebased << " rebased ("
            << reused_sets << " sets reused, " << overlay_sets << " in overlays), " << tiers_changed
            << " with other tiers (full builds)\n"
            << cov.summary() << "\n";
  EXPECT_EQ(cov.failed_cases, 0) << "first seed " << seed0;
  // Both kinds of set must have been met, or the overlay split was never exercised.
  EXPECT_GT(overlay_sets, 0);
  EXPECT_GT(reused_sets, 0);
  EXPECT_GT(cov.allowed, 0);
  EXPECT_GT(cov.denied, 0);
}

// toFQDNs peers: the compiled tables hold the addresses DNS answers gave (CompileOptions::dns);
// the reference reads the name the flow carries. Flows that carry a name are compiled with
// the answer (dst, name) — several flows share one compile when no address has two names in
// it — and flows that carry none with no answers; both engines must then agree.
TEST(Differential, FqdnFlowsMatchReference) {
  ASSERT_TRUE(start_eal());
  const uint64_t seed0 = first_seed();
  const int cases = static_cast<int>(env_u64("PALISADE_DIFF_FQDN_CASES", kDefaultFqdnCases));
  Coverage cov;
  long by_fqdn_rule = 0;
  for (int c = 0; c < cases; ++c) {
    const uint64_t seed = seed0 + static_cast<uint64_t>(c);
    ++cov.cases;
    ClusterGenerator gen(seed, ClusterShape{.fqdn = true});
    const RandomCluster cluster = gen.cluster();
    std::unique_ptr<policy::Snapshot> snap = build(cluster, seed);
    if (snap == nullptr) {
      ++cov.failed_cases;
      continue;
    }
    const std::optional<std::string> node =
        seed % 2 == 0 ? std::nullopt : std::optional<std::string>("node-a");
    // Batch 0: flows without a name, compiled without answers. Others: one name per address.
    struct Batch {
      std::map<policy::IpAddr, std::string> dns;
      std::vector<policy::Flow> flows;
    };
    std::vector<Batch> batches(1);
    for (int i = 0; i < kFqdnFlowsPerCase; ++i) {
      const policy::Flow flow = gen.flow(cluster);
      if (!flow.fqdn) {
        batches[0].flows.push_back(flow);
        continue;
      }
      auto fits = [&](const Batch& b) {
        auto it = b.dns.find(flow.dst);
        return it == b.dns.end() || it->second == *flow.fqdn;
      };
      auto it = std::find_if(batches.begin() + 1, batches.end(), fits);
      if (it == batches.end()) {
        it = batches.insert(batches.end(), Batch{});
      }
      it->dns[flow.dst] = *flow.fqdn;
      it->flows.push_back(flow);
    }
    bool failed = false;
    for (const Batch& batch : batches) {
      if (batch.flows.empty()) {
        continue;
      }
      policy::CompileOptions options{node, {}};
      std::string answers;
      for (const auto& [ip, name] : batch.dns) {
        options.dns.emplace_back(ip, name);
        answers += (answers.empty() ? "" : ", ") + ip.to_string() + "=" + name;
      }
      bool skipped = false;
      std::optional<Tables> t = compile_tables(*snap, options, seed, cluster, skipped);
      if (skipped) {
        ++cov.skipped_compiles;
        continue;
      }
      if (!t) {
        failed = true;
        break;
      }
      cov.count(t->compiled);
      std::vector<Answer> want;
      for (const policy::Flow& f : batch.flows) {
        want.push_back(reference_answer(*snap, f, node));
        cov.count(want.back());
        by_fqdn_rule += want.back().by_fqdn_rule ? 1 : 0;
      }
      if (auto m = compare(*t, node, batch.flows, want, cov)) {
        m->where += ", dns answers {" + answers + "}";
        report(*m, seed, cluster, cov.failed_cases < kVerboseFailures, "PALISADE_DIFF_FQDN_CASES");
        failed = true;
        break;
      }
    }
    if (failed) {
      ++cov.failed_cases;
    }
  }
  std::cout << "[differential fqdn] first seed " << seed0 << "\n"
            << cov.summary() << "\n  decided by a toFQDNs rule: " << by_fqdn_rule << "\n";
  EXPECT_EQ(cov.failed_cases, 0) << "first seed " << seed0;
  EXPECT_GT(by_fqdn_rule, 0) << "no flow was ever decided by a toFQDNs rule";
}

}  // namespace
}  // namespace palisade
