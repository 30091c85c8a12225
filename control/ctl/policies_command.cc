// `palisadectl policies [--kubeconfig FILE | --in-cluster | FILE|DIR...] [--watch]`: reads a
// policy source the way the daemon does (a directory of manifests, or the Kubernetes API) and
// prints the objects in force and those rejected, with why, and what is enforced narrower
// than written (policy/holdbacks.h: L7 rules, rejected policies held as isolation).
#include <algorithm>
#include <chrono>
#include <iostream>
#include <set>
#include <thread>

#include "control/ctl/admin_client.h"
#include "control/ctl/command_line.h"
#include "control/ctl/commands.h"
#include "control/source/directory_source.h"
#include "control/source/kube/kube_source.h"
#include "policy/holdbacks.h"
#include "policy/snapshot.h"

namespace palisade::control {

namespace po = boost::program_options;

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
    auto access = vm.count("kubeconfig")
                      ? kube::kubeconfig_access(vm["kubeconfig"].as<std::string>())
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
  std::vector<std::string> shown_holdbacks;
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
  while (!interrupted()) {
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
    const std::vector<policy::Object> objects = source->store().objects();
    for (const policy::Object& o : objects) {
      now.insert(o.key);
      const char* held =
          source->store().held().contains(o.key) ? " held isolated in place of it (rejected)" : "";
      if (first) {
        std::cout << o.key.to_string() << " (" << o.source << ")" << held << "\n";
      } else if (!shown.contains(o.key)) {
        std::cout << "+ " << o.key.to_string() << held << "\n";
      }
    }
    std::vector<std::string> holdbacks;
    for (const policy::Holdback& h : policy::holdbacks(*policy::build_snapshot(objects).snapshot)) {
      holdbacks.push_back(h.to_string());
    }
    for (const std::string& line : holdbacks) {
      if (first || std::ranges::find(shown_holdbacks, line) == shown_holdbacks.end()) {
        std::cout << "held back: " << line << "\n";
      }
    }
    if (!first) {
      for (const std::string& line : shown_holdbacks) {
        if (std::ranges::find(holdbacks, line) == holdbacks.end()) {
          std::cout << "no longer held back: " << line << "\n";
        }
      }
    }
    shown_holdbacks = std::move(holdbacks);
    if (!first) {
      for (const policy::ObjectKey& k : shown) {
        if (!now.contains(k)) {
          std::cout << "- " << k.to_string() << "\n";
        }
      }
    }
    if (first) {
      std::cout << source->store().size() << " objects in force, "
                << source->store().invalid().size() << " rejected ("
                << source->store().held().size() << " held as isolation), "
                << shown_holdbacks.size() << " held back; " << source->state() << "\n";
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
    while (!changed && !interrupted() && (duration <= 0 || elapsed() < duration)) {
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
