// `palisadectl stats [--admin HOST:PORT | --config NODE.yaml] [--json]`: the counters of a
// running daemon (its /stats), as text or as the JSON it served.
#include <iostream>
#include <nlohmann/json.hpp>

#include "control/ctl/admin_client.h"
#include "control/ctl/command_line.h"
#include "control/ctl/commands.h"

namespace palisade::control {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

void print_stats(const json& s, std::ostream& out) {
  const json& c = s["control"];
  out << "node " << s["node"].get<std::string>() << ", generation " << s["generation"]
      << ", policy source " << c["source"].get<std::string>() << ": "
      << c["state"].get<std::string>() << "\n";
  out << "policy: " << c["objects_in_force"] << " objects in force, " << c["objects_rejected"]
      << " rejected; " << c["snapshots_published"] << " generations published, "
      << c["snapshot_failures"] << " failed; last build " << c["last_build_seconds"] << " s\n";
  if (c.contains("event_to_enforcement")) {
    const json& e = c["event_to_enforcement"];
    out << "event to enforcement: " << e["count"] << " events, p50 " << e["p50_seconds"]
        << " s, p99 " << e["p99_seconds"] << " s\n";
  }
  out << "conntrack: " << s["conntrack"]["live"] << " of " << s["conntrack"]["capacity"]
      << " flows\n";
  for (size_t w = 0; w < s["workers"].size(); ++w) {
    const json& worker = s["workers"][w];
    out << "worker " << w << ":";
    for (auto it = worker.begin(); it != worker.end(); ++it) {
      if (it.key() != "drops") {
        out << " " << it.key() << " " << it.value();
      }
    }
    out << "\n";
    if (!worker["drops"].empty()) {
      out << "  drops:";
      for (auto it = worker["drops"].begin(); it != worker["drops"].end(); ++it) {
        out << " " << it.key() << " " << it.value();
      }
      out << "\n";
    }
  }
  for (const json& p : s["ports"]) {
    out << "port " << p["name"].get<std::string>() << ": rx " << p["rx"] << ", tx " << p["tx"]
        << "\n";
  }
  for (const json& v : s["verdicts"]) {
    out << "verdict " << v["decided_by"].get<std::string>() << " (" << v["kind"].get<std::string>();
    if (v["rule"].get<int>() >= 0) {
      out << ", rule " << v["rule"];
    }
    out << "): " << v["hits"] << "\n";
  }
}

}  // namespace

int stats_command(const std::vector<std::string>& args) {
  po::options_description desc("stats options");
  add_admin_options(desc);
  desc.add_options()("json", po::bool_switch(), "print the daemon's JSON as it is");
  const po::variables_map vm = parse_command_line(args, desc);
  std::string error;
  std::optional<std::string> address = admin_address(vm, error);
  std::optional<std::string> body = address ? admin_get(*address, "/stats", error) : std::nullopt;
  if (!body) {
    std::cerr << "palisadectl stats: " << error << "\n";
    return 1;
  }
  if (vm["json"].as<bool>()) {
    std::cout << *body << "\n";
    return 0;
  }
  const json stats = json::parse(*body, nullptr, false);
  if (!stats.is_object() || !stats.contains("control")) {
    std::cerr << "palisadectl stats: " << *address << "/stats did not answer counters\n";
    return 1;
  }
  print_stats(stats, std::cout);
  return 0;
}

}  // namespace palisade::control
