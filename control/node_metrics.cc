#include "control/node_metrics.h"

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

namespace palisade::control {

namespace {

const char* verdict_kind_name(policy::VerdictEntry::Kind k) {
  using K = policy::VerdictEntry::Kind;
  switch (k) {
    case K::Allow:
      return "allow";
    case K::Deny:
      return "deny";
    case K::Pass:
      return "pass";
    case K::EndOfTierDeny:
      return "end_of_tier_deny";
    case K::EndOfTierPass:
      return "end_of_tier_pass";
    case K::Node:
      return "node";
    case K::Failsafe:
      return "failsafe";
  }
  return "?";
}

// A Prometheus label value: backslash, double quote and newline escaped.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

NodeSample sample_node(const std::string& node, const dataplane::Dataplane& dp,
                       ControlPlaneSample control) {
  NodeSample s;
  s.node = node;
  s.workers = dp.worker_counters();
  s.port_names = dp.port_names();
  const dataplane::DataplaneTotals totals = dp.totals();
  s.generation = totals.generation;
  s.conntrack_live = totals.conntrack_live;
  s.conntrack_capacity = dp.conntrack_capacity();
  if (const dataplane::Ruleset* rs = dp.current(); rs != nullptr && rs->counters) {
    const policy::CompiledPolicy& p = rs->policy;
    // Several entries can name the same rule (one per policy set it is compiled into; one end
    // of tier per set): they are added up under the name.
    std::map<std::tuple<std::string, std::string, int32_t>, uint64_t> by_name;
    for (uint32_t v = 1; v < p.verdicts.size(); ++v) {
      if (const uint64_t hits = rs->counters->total(v); hits != 0) {
        by_name[{p.by_name(v), verdict_kind_name(p.verdicts[v].kind), p.verdicts[v].rule}] += hits;
      }
    }
    for (const auto& [key, hits] : by_name) {
      s.verdicts.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), hits});
    }
  }
  s.control = std::move(control);
  return s;
}

std::string render_prometheus(const NodeSample& s) {
  std::ostringstream out;
  auto header = [&](const std::string& name, const char* type, const std::string& help) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  };
  header("palisade_generation", "gauge", "Policy generation in force (0: none yet)");
  out << "palisade_generation " << s.generation << "\n";
  header("palisade_ready", "gauge", "1 when a generation is in force and the source is in sync");
  out << "palisade_ready " << (s.generation > 0 && s.control.in_sync ? 1 : 0) << "\n";

  for (size_t c = 0; c < dataplane::kCounters; ++c) {
    const dataplane::CounterInfo& info = dataplane::kCounterInfo[c];
    const std::string name = "palisade_worker_" + std::string(info.name) + "_total";
    header(name, "counter", std::string(info.help));
    for (size_t w = 0; w < s.workers.size(); ++w) {
      out << name << "{worker=\"" << w << "\"} " << s.workers[w].counts[c] << "\n";
    }
  }
  header("palisade_drops_total", "counter", "Packets dropped, by worker and reason");
  for (size_t w = 0; w < s.workers.size(); ++w) {
    for (size_t r = 0; r < dataplane::kDropName.size(); ++r) {
      out << "palisade_drops_total{worker=\"" << w << "\",reason=\"" << dataplane::kDropName[r]
          << "\"} " << s.workers[w].drops[r] << "\n";
    }
  }
  for (const char* dir : {"rx", "tx"}) {
    const std::string name = std::string("palisade_port_") + dir + "_packets_total";
    header(name, "counter",
           std::string("Packets ") + (dir[0] == 'r' ? "received" : "sent") + " by port and worker");
    for (size_t port = 0; port < s.port_names.size(); ++port) {
      if (s.port_names[port].empty()) {
        continue;
      }
      for (size_t w = 0; w < s.workers.size(); ++w) {
        const uint64_t v = dir[0] == 'r' ? s.workers[w].port_rx[port] : s.workers[w].port_tx[port];
        out << name << "{port=\"" << label(s.port_names[port]) << "\",worker=\"" << w << "\"} " << v
            << "\n";
      }
    }
  }
  header("palisade_conntrack_live_flows", "gauge", "Connections tracked");
  out << "palisade_conntrack_live_flows " << s.conntrack_live << "\n";
  header("palisade_conntrack_capacity_flows", "gauge", "Connections the table can hold");
  out << "palisade_conntrack_capacity_flows " << s.conntrack_capacity << "\n";
  header("palisade_policy_verdict_hits_total", "counter",
         "Judgements by the verdict entry that decided them, in the generation in force");
  for (const VerdictHits& v : s.verdicts) {
    out << "palisade_policy_verdict_hits_total{generation=\"" << s.generation << "\",decided_by=\""
        << label(v.decided_by) << "\",kind=\"" << v.kind << "\",rule=\"" << v.rule << "\"} "
        << v.hits << "\n";
  }

  const ControlPlaneSample& c = s.control;
  header("palisade_policy_source_in_sync", "gauge",
         "1 while the policy source is in sync (0: fail-static on the last good generation)");
  out << "palisade_policy_source_in_sync{source=\"" << label(c.source) << "\"} "
      << (c.in_sync ? 1 : 0) << "\n";
  header("palisade_snapshots_published_total", "counter", "Policy generations put in force");
  out << "palisade_snapshots_published_total " << c.snapshots_published << "\n";
  header("palisade_snapshot_failures_total", "counter",
         "Snapshots that failed to compile or build (the last good one stayed in force)");
  out << "palisade_snapshot_failures_total " << c.compile_failures << "\n";
  header("palisade_snapshot_build_seconds", "gauge", "Time to build the last generation");
  out << "palisade_snapshot_build_seconds " << c.last_compile_seconds << "\n";
  header("palisade_policy_objects", "gauge", "Objects in force, and objects rejected");
  out << "palisade_policy_objects{state=\"in_force\"} " << c.objects_in_force << "\n";
  out << "palisade_policy_objects{state=\"rejected\"} " << c.objects_rejected << "\n";
  header("palisade_policies_held_back", "gauge",
         "Policies enforced narrower than written: L7 rules that admit no connection, rejected "
         "objects held as isolation");
  out << "palisade_policies_held_back{reason=\"l7_not_enforced\"} " << c.policies_l7_held << "\n";
  out << "palisade_policies_held_back{reason=\"rejected_held_isolated\"} "
      << c.policies_rejected_held << "\n";
  header("palisade_endpoints_held_isolated", "gauge",
         "Endpoints held isolated in place of a rejected policy object");
  out << "palisade_endpoints_held_isolated " << c.endpoints_held << "\n";
  if (const LatencyHistogram* h = c.event_to_enforcement) {
    const std::string name = "palisade_event_to_enforcement_seconds";
    header(name, "histogram", "From a policy source event to the generation holding it in force");
    for (size_t i = 0; i < LatencyHistogram::kBounds.size(); ++i) {
      out << name << "_bucket{le=\"" << LatencyHistogram::kBounds[i] << "\"} " << h->bucket(i)
          << "\n";
    }
    out << name << "_bucket{le=\"+Inf\"} " << h->count() << "\n";
    out << name << "_sum " << h->sum() << "\n" << name << "_count " << h->count() << "\n";
  }
  return out.str();
}

std::string render_stats_json(const NodeSample& s) {
  using nlohmann::json;
  json workers = json::array();
  for (const dataplane::CounterValues& c : s.workers) {
    json w;
    for (size_t i = 0; i < dataplane::kCounters; ++i) {
      w[std::string(dataplane::kCounterInfo[i].name)] = c.counts[i];
    }
    json drops = json::object();
    for (size_t r = 0; r < dataplane::kDropName.size(); ++r) {
      if (c.drops[r] != 0) {
        drops[std::string(dataplane::kDropName[r])] = c.drops[r];
      }
    }
    w["drops"] = drops;
    workers.push_back(w);
  }
  json ports = json::array();
  for (size_t port = 0; port < s.port_names.size(); ++port) {
    if (s.port_names[port].empty()) {
      continue;
    }
    uint64_t rx = 0, tx = 0;
    for (const dataplane::CounterValues& c : s.workers) {
      rx += c.port_rx[port];
      tx += c.port_tx[port];
    }
    ports.push_back({{"name", s.port_names[port]}, {"id", port}, {"rx", rx}, {"tx", tx}});
  }
  json verdicts = json::array();
  for (const VerdictHits& v : s.verdicts) {
    verdicts.push_back(
        {{"decided_by", v.decided_by}, {"kind", v.kind}, {"rule", v.rule}, {"hits", v.hits}});
  }
  const ControlPlaneSample& c = s.control;
  json control = {{"source", c.source},
                  {"in_sync", c.in_sync},
                  {"state", c.source_state},
                  {"snapshots_published", c.snapshots_published},
                  {"snapshot_failures", c.compile_failures},
                  {"last_build_seconds", c.last_compile_seconds},
                  {"objects_in_force", c.objects_in_force},
                  {"objects_rejected", c.objects_rejected},
                  {"policies_l7_held", c.policies_l7_held},
                  {"policies_rejected_held", c.policies_rejected_held},
                  {"endpoints_held", c.endpoints_held},
                  {"holdbacks", c.holdbacks}};
  if (const LatencyHistogram* h = c.event_to_enforcement) {
    control["event_to_enforcement"] = {{"count", h->count()},
                                       {"p50_seconds", h->quantile(0.5)},
                                       {"p99_seconds", h->quantile(0.99)}};
  }
  json out = {{"node", s.node},
              {"generation", s.generation},
              {"conntrack", {{"live", s.conntrack_live}, {"capacity", s.conntrack_capacity}}},
              {"workers", workers},
              {"ports", ports},
              {"verdicts", verdicts},
              {"control", control}};
  return out.dump(2);
}

}  // namespace palisade::control
