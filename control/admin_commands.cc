#include "control/admin_commands.h"

#include <httplib.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "control/admin_server.h"
#include "control/command_line.h"
#include "control/daemon.h"
#include "control/directory_source.h"
#include "control/kube/kube_source.h"
#include "control/node_config.h"

namespace palisade::control {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void on_interrupt(int) { g_interrupted = 1; }

void catch_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void add_admin_options(po::options_description& desc) {
  desc.add_options()("admin", po::value<std::string>(),
                     "the daemon's admin address, host:port (default: the node file's, else "
                     "127.0.0.1:9090)")("config", po::value<std::string>(),
                                        "the daemon's node file, for its admin address");
}

// Where the daemon's admin API is; an error message when it cannot be worked out.
std::optional<std::string> admin_address(const po::variables_map& vm, std::string& error) {
  if (vm.count("admin")) {
    return vm["admin"].as<std::string>();
  }
  if (vm.count("config")) {
    auto config = load_node_config(vm["config"].as<std::string>());
    if (!config) {
      error = config.error().to_string();
      return std::nullopt;
    }
    return config->admin.listen;
  }
  return AdminConfig{}.listen;
}

// GET http://address/path; the body, or an error naming the address.
std::optional<std::string> admin_get(const std::string& address, const std::string& path,
                                     std::string& error) {
  auto where = split_host_port(address);
  if (!where) {
    error = where.error().to_string();
    return std::nullopt;
  }
  httplib::Client client(where->first, where->second);
  client.set_connection_timeout(3);
  client.set_read_timeout(10);
  httplib::Result res = client.Get(path);
  if (!res) {
    error = "cannot reach the daemon's admin API at " + address + ": " +
            httplib::to_string(res.error()) + " (is palisade running? --admin HOST:PORT)";
    return std::nullopt;
  }
  if (res->status != 200) {
    error = address + path + " answered " + std::to_string(res->status) + ": " + res->body;
    return std::nullopt;
  }
  return res->body;
}

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

int flows_command(const std::vector<std::string>& args) {
  po::options_description desc("flows options");
  add_admin_options(desc);
  desc.add_options()("follow,f", po::bool_switch(), "keep printing new flows")(
      "duration", po::value<double>()->default_value(0), "with --follow: stop after seconds");
  const po::variables_map vm = parse_command_line(args, desc);
  std::string error;
  std::optional<std::string> address = admin_address(vm, error);
  if (!address) {
    std::cerr << "palisadectl flows: " << error << "\n";
    return 1;
  }
  catch_interrupts();
  const bool follow = vm["follow"].as<bool>();
  const double duration = vm["duration"].as<double>();
  const auto start = std::chrono::steady_clock::now();
  uint64_t after = 0;
  do {
    std::optional<std::string> body = admin_get(*address, "/flows?after=" + std::to_string(after),
                                                error);
    if (!body) {
      std::cerr << "palisadectl flows: " << error << "\n";
      return 1;
    }
    const json lines = json::parse(*body, nullptr, false);
    if (!lines.is_array()) {
      std::cerr << "palisadectl flows: " << *address << "/flows did not answer flow lines\n";
      return 1;
    }
    for (const json& l : lines) {
      std::cout << l["line"].get<std::string>() << "\n";
      after = l["seq"].get<uint64_t>();
    }
    std::cout.flush();
    if (follow) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  } while (follow && g_interrupted == 0 &&
           (duration <= 0 || std::chrono::steady_clock::now() - start <
                                 std::chrono::duration<double>(duration)));
  return 0;
}

int policies_command(const std::vector<std::string>& args) {
  po::options_description desc("policies options");
  desc.add_options()("kubeconfig", po::value<std::string>(),
                     "read the Kubernetes API with this kubeconfig")(
      "in-cluster", po::bool_switch(), "read the Kubernetes API as the pod's service account")(
      "watch", po::bool_switch(), "keep printing what changes")(
      "duration", po::value<double>()->default_value(0), "with --watch: stop after seconds")(
      "sync-timeout", po::value<double>()->default_value(60),
      "seconds to wait for the first complete view")(
      "watch-timeout", po::value<int>()->default_value(300),
      "seconds each watch asks the API server for (then it is resumed)")(
      "read-timeout", po::value<int>()->default_value(0),
      "seconds of silence that end a watch (0: the watch timeout + 30)")(
      "missing-recheck", po::value<int>()->default_value(30),
      "seconds between looks for a kind the API server does not serve")(
      "files", po::value<std::vector<std::string>>(), "a directory or file of manifests");
  const po::variables_map vm = parse_command_line(args, desc);
  std::unique_ptr<PolicySource> source;
  if (vm.count("kubeconfig") || vm["in-cluster"].as<bool>()) {
    auto access = vm.count("kubeconfig") ? kube::kubeconfig_access(vm["kubeconfig"].as<std::string>())
                                         : kube::in_cluster_access();
    if (!access) {
      std::cerr << "palisadectl policies: " << access.error().to_string() << "\n";
      return 2;
    }
    kube::KubeSourceOptions options;
    options.reflector.watch_timeout_s = vm["watch-timeout"].as<int>();
    options.reflector.read_timeout_s = vm["read-timeout"].as<int>();
    options.reflector.missing_recheck_s = vm["missing-recheck"].as<int>();
    source = std::make_unique<kube::KubeSource>(*access, options);
  } else if (vm.count("files") && vm["files"].as<std::vector<std::string>>().size() == 1) {
    source = std::make_unique<DirectorySource>(vm["files"].as<std::vector<std::string>>()[0]);
  } else {
    std::cerr << "palisadectl policies: give --kubeconfig FILE, --in-cluster, or one directory\n";
    return 2;
  }
  catch_interrupts();
  std::cout << "source: " << source->describe() << "\n";
  if (auto started = source->start(); !started) {
    std::cerr << "palisadectl policies: " << started.error().to_string() << "\n";
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::set<policy::ObjectKey> shown;
  bool first = true;
  int rc = 0;
  auto print_update = [](const PolicySource::Update& u) {
    for (const std::string& line : u.log) {
      std::cout << "source: " << line << "\n";
    }
    for (const std::string& p : u.problems) {
      std::cout << "rejected: " << p << "\n";
    }
    std::cout.flush();
  };
  print_update(source->refresh());  // a directory is read here; the API's first events follow
  while (g_interrupted == 0) {
    if (!source->synced()) {
      if (elapsed() > vm["sync-timeout"].as<double>()) {
        std::cerr << "palisadectl policies: no complete view after "
                  << vm["sync-timeout"].as<double>() << " s: " << source->state() << "\n";
        return 1;
      }
      if (source->wait_for_change(200, 20) || source->pending()) {
        print_update(source->refresh());
      }
      continue;
    }
    // Print what is in force now against what was shown.
    std::set<policy::ObjectKey> now;
    for (const policy::Object& o : source->store().objects()) {
      now.insert(o.key);
      if (first) {
        std::cout << o.key.to_string() << " (" << o.source << ")\n";
      } else if (!shown.contains(o.key)) {
        std::cout << "+ " << o.key.to_string() << "\n";
      }
    }
    if (!first) {
      for (const policy::ObjectKey& k : shown) {
        if (!now.contains(k)) {
          std::cout << "- " << k.to_string() << "\n";
        }
      }
    }
    if (first) {
      std::cout << source->store().size() << " objects in force, "
                << source->store().invalid().size() << " rejected; " << source->state() << "\n";
      rc = source->store().invalid().empty() ? 0 : 1;
    }
    std::cout.flush();
    shown = std::move(now);
    first = false;
    if (!vm["watch"].as<bool>()) {
      break;
    }
    const double duration = vm["duration"].as<double>();
    bool changed = false;
    while (!changed && g_interrupted == 0 && (duration <= 0 || elapsed() < duration)) {
      changed = source->wait_for_change(200, 20) || source->pending();
    }
    if (!changed) {
      break;
    }
    print_update(source->refresh());
  }
  return rc;
}

}  // namespace palisade::control
