// CompileSession against compile(): random clusters (tests/random/random_cluster.h) go
// through random runs of pod changes (removed, restored, relabelled, renumbered, renamed
// ports, moved to another node) and policy edits (another policy's rules or selector, a rule
// dropped, a direction turned on or off), and after each batch the session's policy must mean what
// a full compile of the same objects means: for every bound address, the same name and the
// same egress and ingress rule lists (rules, priorities, categories and the verdicts they
// lead to, by tier, policy and rule), whatever the numbering of sets and verdicts.
//
// PALISADE_TEST_SEED picks the first seed, PALISADE_SESSION_CASES the number of clusters.
#include "policy/compile_session.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <map>
#include <random>

#include "policy/compiler.h"
#include "policy/decode.h"
#include "tests/random/random_cluster.h"

namespace palisade::policy {
namespace {

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v == nullptr ? fallback : std::strtoull(v, nullptr, 10);
}

std::string verdict_name(const CompiledPolicy& p, uint32_t v) {
  const VerdictEntry& e = p.verdicts.at(v);
  std::string out = std::to_string(static_cast<int>(e.kind)) + "/";
  if (e.kind != VerdictEntry::Kind::Node && e.kind != VerdictEntry::Kind::Failsafe) {
    out += p.tier_names.at(e.tier);
  }
  out += "/" + (e.policy < 0 ? std::string("-") : p.policy_names.at(size_t(e.policy)));
  return out + "/" + std::to_string(e.rule);
}

// What each set means, independent of numbering: direction, profile and its rules, sorted.
std::vector<std::string> set_meanings(const CompiledPolicy& p) {
  std::vector<std::vector<std::string>> rules(p.sets.size() + 1);
  for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
    for (const AclRule& r : p.rules(family)) {
      rules.at(r.set_id).push_back(
          std::to_string(r.proto_first) + "-" + std::to_string(r.proto_last) + " " +
          r.src.to_string() + " " + r.dst.to_string() + " " + std::to_string(r.sport.first) + "-" +
          std::to_string(r.sport.last) + " " + std::to_string(r.dport.first) + "-" +
          std::to_string(r.dport.last) + " c" + std::to_string(r.category) + " p" +
          std::to_string(r.priority) + " " + verdict_name(p, r.verdict));
    }
  }
  std::vector<std::string> out(p.sets.size() + 1);
  for (const PolicySet& s : p.sets) {
    std::ranges::sort(rules[s.id]);
    std::string& m = out[s.id];
    m = std::string(direction_name(s.direction)) + (s.profile_allows ? " allow" : " deny");
    for (const std::string& r : rules[s.id]) {
      m += "\n  " + r;
    }
  }
  return out;
}

// Address -> "name | egress meaning | ingress meaning".
std::map<IpAddr, std::string> meaning(const CompiledPolicy& p) {
  const std::vector<std::string> sets = set_meanings(p);
  std::map<IpAddr, std::string> out;
  for (const EndpointBinding& b : p.endpoints) {
    out[b.ip] =
        b.name + "\n egress " + sets.at(b.egress_set) + "\n ingress " + sets.at(b.ingress_set);
  }
  return out;
}

// The first difference between two policies' meanings, or "".
std::string difference(const CompiledPolicy& session, const CompiledPolicy& full) {
  if (session.tier_names != full.tier_names || session.num_categories != full.num_categories) {
    return "tiers differ";
  }
  for (const CompiledPolicy* p : {&session, &full}) {
    if (!std::ranges::is_sorted(p->endpoints, {}, &EndpointBinding::ip)) {
      return "bindings are not sorted by address";
    }
  }
  const auto a = meaning(session);
  const auto b = meaning(full);
  for (const auto& [ip, m] : b) {
    auto it = a.find(ip);
    if (it == a.end()) {
      return ip.to_string() + " is bound by the full compile only";
    }
    if (it->second != m) {
      return ip.to_string() + ":\nsession: " + it->second + "\nfull: " + m;
    }
  }
  for (const auto& [ip, m] : a) {
    if (!b.contains(ip)) {
      return ip.to_string() + " is bound by the session only";
    }
  }
  return "";
}

struct Tally {
  long updates = 0, incremental = 0, sets_remade = 0, full = 0, policy_edits = 0;
};

// One cluster through a run of random pod changes.
void run_case(uint64_t seed, Tally& run) {
  testing::ClusterShape shape;
  shape.reuse_ips = seed % 4 == 0;  // shared addresses make the session compile in full
  testing::ClusterGenerator gen(seed, shape);
  const testing::RandomCluster cluster = gen.cluster();
  std::mt19937_64 rng(seed ^ 0xC0FFEEull);
  ObjectStore store;
  std::vector<Object> pods, policies;
  for (const std::string& text : cluster.objects) {
    Decoded d = decode_document(YAML::Load(text), DecodeOptions{"gen", true});
    ASSERT_TRUE(d.object.has_value()) << "seed " << seed << ": " << d.object.error().to_string();
    if (std::holds_alternative<Pod>(d.object->body)) {
      pods.push_back(*d.object);
    }
    if (std::holds_alternative<std::vector<Policy>>(d.object->body)) {
      policies.push_back(*d.object);
    }
    store.apply(std::move(d));
  }
  if (pods.size() < 2) {
    return;
  }
  CompileOptions options;
  if (rng() % 2 == 0) {
    options.node = std::get<Pod>(pods[rng() % pods.size()].body).node;
  }
  CompileSession session(options);
  std::vector<Object> removed;
  auto pick = [&](auto& v) -> Object& { return v[rng() % v.size()]; };
  for (int step = 0; step < 12; ++step) {
    const int batch = 1 + static_cast<int>(rng() % 3);
    std::string what;
    for (int b = 0; b < batch && step > 0; ++b) {
      if (!policies.empty() && rng() % 4 == 0) {
        Object& edited = pick(policies);
        auto& lowered = std::get<std::vector<Policy>>(edited.body);
        const auto& others = std::get<std::vector<Policy>>(pick(policies).body);
        for (Policy& p : lowered) {
          const Policy& other = others[rng() % others.size()];
          switch (rng() % 4) {
            case 0:
              p.ingress = other.ingress;
              p.egress = other.egress;
              break;
            case 1:
              if (p.applies_to.dialect == other.applies_to.dialect) {
                p.applies_to.selector = other.applies_to.selector;
              }
              break;
            case 2:
              if (!p.ingress.empty()) {
                p.ingress.pop_back();
              }
              if (!p.egress.empty()) {
                p.egress.erase(p.egress.begin());
              }
              break;
            default:
              p.types_ingress = !p.types_ingress;
              break;
          }
        }
        what += " edited " + edited.key.to_string();
        store.apply(Decoded{edited.key, edited});
        continue;
      }
      Object changed = pick(pods);
      Pod& pod = std::get<Pod>(changed.body);
      const Pod& other = std::get<Pod>(pick(pods).body);
      switch (rng() % 6) {
        case 0:
          store.remove(changed.key);
          removed.push_back(changed);
          what += " removed " + changed.key.scoped_name();
          continue;
        case 1:
          if (removed.empty()) {
            continue;
          }
          changed = removed.back();
          removed.pop_back();
          what += " restored " + changed.key.scoped_name();
          break;
        case 2:
          pod.labels = other.labels;
          what += " relabelled " + changed.key.scoped_name();
          break;
        case 3:
          pod.named_ports = other.named_ports;
          what += " renamed ports of " + changed.key.scoped_name();
          break;
        case 4: {
          IpAddr ip = *IpAddr::parse("10.250.0.0");
          ip.bytes[2] = static_cast<uint8_t>(step);
          ip.bytes[3] = static_cast<uint8_t>(b + 1 + 8 * (seed % 16));
          pod.ips = {ip};
          what += " renumbered " + changed.key.scoped_name();
          break;
        }
        default:
          pod.node = other.node;
          what += " moved " + changed.key.scoped_name();
          break;
      }
      if (store.find(changed.key) == nullptr &&
          std::ranges::none_of(removed, [&](const Object& o) { return o.key == changed.key; }) &&
          std::get<Pod>(changed.body).ips.empty()) {
        continue;
      }
      store.apply(Decoded{changed.key, changed});
    }
    Result<CompileSession::Update> u = session.update(store);
    SnapshotBuild build = build_snapshot(store.objects());
    Result<CompiledPolicy> want = compile(*build.snapshot, options);
    ASSERT_EQ(u.has_value(), want.has_value()) << "seed " << seed << " step " << step;
    if (!want) {
      return;  // a limit crossed: both refuse alike
    }
    ++run.updates;
    u->incremental ? ++run.incremental : ++run.full;
    run.sets_remade += static_cast<long>(u->sets_remade);
    run.policy_edits += static_cast<long>(u->policies_changed);
    const std::string diff = difference(u->compiled, *want);
    ASSERT_EQ(diff, "") << "seed " << seed << " step " << step << " (" << u->describe()
                        << "):" << what;
  }
}

TEST(CompileSession, ChangesMeanWhatAFullCompileMeans) {
  const uint64_t seed0 = env_u64("PALISADE_TEST_SEED", 1);
  const uint64_t cases = env_u64("PALISADE_SESSION_CASES", 150);
  Tally run;
  for (uint64_t i = 0; i < cases; ++i) {
    run_case(seed0 + i, run);
    if (::testing::Test::HasFatalFailure()) {
      return;
    }
  }
  std::cout << "updates: " << run.updates << ", incremental: " << run.incremental
            << " (sets remade: " << run.sets_remade << ", policy edits: " << run.policy_edits
            << "), full: " << run.full << "\n";
  // The runs must exercise the incremental path, not only the full one.
  EXPECT_GT(run.incremental, run.updates / 2);
  EXPECT_GT(run.sets_remade, 0);
  EXPECT_GT(run.policy_edits, 0);
}

}  // namespace
}  // namespace palisade::policy
