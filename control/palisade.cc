// palisade: the node daemon.
//   palisade --config node.yaml [--check] [--duration SECONDS] [--no-flow-log]
#include <boost/program_options.hpp>
#include <csignal>
#include <iostream>

#include "control/daemon.h"
#include "control/node_config.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  // A peer that closes a TLS connection must be an error on that connection, not SIGPIPE
  // killing the process (OpenSSL writes with write(2), without MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
  po::options_description desc("usage: palisade --config FILE [options]");
  desc.add_options()("help,h", "this help")("config,c", po::value<std::string>(), "the node file")(
      "check", po::bool_switch(), "validate the node file, print the plan, and exit")(
      "duration", po::value<double>()->default_value(0),
      "stop after this many seconds (0: run until SIGINT/SIGTERM)")(
      "stats-interval", po::value<double>()->default_value(10), "seconds between counter lines")(
      "no-flow-log", po::bool_switch(), "do not print a line per judged connection")(
      "admin-listen", po::value<std::string>(),
      "host:port of the admin API, overriding the node file (port 0: any free port)")(
      "kubeconfig", po::value<std::string>(),
      "with policy source kubernetes: this kubeconfig instead of the node file's")(
      "watch-read-timeout", po::value<int>(),
      "seconds of silence after which a watch is dropped and resumed (default: the watch's "
      "timeout + 30)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "palisade: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help") || !vm.count("config")) {
    std::cout << desc;
    return vm.count("help") ? 0 : 2;
  }
  auto config = palisade::control::load_node_config(vm["config"].as<std::string>());
  if (!config) {
    std::cerr << "palisade: " << config.error().to_string() << "\n";
    return 2;
  }
  if (vm["check"].as<bool>()) {
    std::cout << palisade::control::describe_plan(*config);
    return 0;
  }
  palisade::control::DaemonOptions options;
  options.duration_s = vm["duration"].as<double>();
  options.stats_interval_s = vm["stats-interval"].as<double>();
  options.log_flows = !vm["no-flow-log"].as<bool>();
  if (vm.count("admin-listen")) {
    options.admin_listen = vm["admin-listen"].as<std::string>();
  }
  if (vm.count("kubeconfig")) {
    options.kubeconfig = vm["kubeconfig"].as<std::string>();
  }
  if (vm.count("watch-read-timeout")) {
    options.reflector.read_timeout_s = vm["watch-read-timeout"].as<int>();
  }
  return palisade::control::run_daemon(*config, options);
}
