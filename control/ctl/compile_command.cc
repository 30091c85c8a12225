#include <boost/program_options.hpp>
#include <chrono>
#include <iomanip>
#include <iostream>

#include "control/ctl/command_line.h"
#include "control/ctl/commands.h"
#include "control/source/file_list.h"
#include "control/source/scenario.h"
#include "control/verify/classbench_export.h"
#include "dataplane/acl_tables.h"
#include "dataplane/eal.h"
#include "policy/compiler.h"
#include "policy/store.h"

namespace palisade::control {

namespace po = boost::program_options;

namespace {

// The objects of one argument: a scenario file's objects, a manifest file's documents, or
// every manifest of a directory as one cluster. Invalid objects are reported and left out.
bool load(const std::string& arg, policy::ObjectStore& store, std::optional<std::string>& node) {
  const std::vector<std::string> files = manifest_files(arg);
  bool ok = true;
  for (const std::string& file : files) {
    std::vector<policy::Decoded> decoded;
    policy::Result<Scenario> scenario = load_scenario(file);
    if (scenario) {
      decoded = scenario->objects;
      if (!node) {
        node = scenario->node;
      }
    } else {
      decoded = policy::decode_file(file, policy::DecodeOptions{file, true});
    }
    for (policy::Decoded& d : decoded) {
      policy::ObjectStore::Report r = store.apply(std::move(d));
      if (r.error) {
        std::cerr << "palisadectl compile: " << r.to_string() << "\n";
        ok = false;
      }
    }
  }
  return ok;
}

}  // namespace

int compile_command(const std::vector<std::string>& args) {
  po::options_description desc("compile options");
  desc.add_options()("stats", po::bool_switch(), "print statistics per address family")(
      "node", po::value<std::string>(), "compile only this node's endpoints")(
      "max-size", po::value<size_t>()->default_value(0), "rte_acl max_size in bytes (0: none)")(
      "export-classbench", po::value<std::string>(),
      "write DIR/rules4.cb, rules6.cb and trace4.cb for dpdk-test-acl")(
      "files", po::value<std::vector<std::string>>(), "scenario files, manifests or directories");
  const po::variables_map vm = parse_command_line(args, desc);
  if (!vm.count("files")) {
    std::cerr << "palisadectl compile: no file given\n";
    return 2;
  }
  if (auto eal = dataplane::start_eal_for_tools("palisadectl"); !eal) {
    std::cerr << "palisadectl compile: " << eal.error().to_string() << "\n";
    return 1;
  }
  int status = 0;
  for (const std::string& arg : vm["files"].as<std::vector<std::string>>()) {
    policy::ObjectStore store;
    std::optional<std::string> node;
    if (vm.count("node")) {
      node = vm["node"].as<std::string>();
    }
    if (!load(arg, store, node)) {
      status = 1;  // invalid objects are reported; the rest still compiles
    }
    const auto start = std::chrono::steady_clock::now();
    policy::SnapshotBuild build = policy::build_snapshot(store.objects());
    for (const policy::Error& e : build.errors) {
      std::cerr << "palisadectl compile: " << e.to_string() << "\n";
      status = 1;
    }
    policy::CompileOptions options;
    options.node = node;
    policy::Result<policy::CompiledPolicy> compiled = policy::compile(*build.snapshot, options);
    const double compile_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!compiled) {
      std::cerr << "palisadectl compile: " << arg << ": " << compiled.error().to_string() << "\n";
      status = 1;
      continue;
    }
    auto tables = dataplane::AclTables::build(compiled.value(), vm["max-size"].as<size_t>());
    if (!tables) {
      std::cerr << "palisadectl compile: " << arg << ": " << tables.error().to_string() << "\n";
      status = 1;
      continue;
    }
    const policy::CompiledPolicy& p = compiled.value();
    std::cout << arg << ": " << build.snapshot->endpoints.size() << " endpoints, "
              << build.snapshot->policies.size() << " policies, " << p.sets.size()
              << " policy sets, " << p.tier_names.size() << " tiers in " << p.num_categories
              << " categories; compiled in " << std::fixed << std::setprecision(1) << compile_ms
              << " ms\n";
    if (vm.count("export-classbench")) {
      auto counts = export_classbench(p, vm["export-classbench"].as<std::string>(), 65536);
      if (!counts) {
        std::cerr << "palisadectl compile: " << counts.error().to_string() << "\n";
        status = 1;
      } else {
        std::cout << "  ClassBench: " << counts->rules4 << " IPv4 rules, " << counts->rules6
                  << " IPv6 rules, " << counts->traces4 << " IPv4 traces in "
                  << vm["export-classbench"].as<std::string>() << "\n";
      }
    }
    if (vm["stats"].as<bool>()) {
      for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
        const auto& s = tables.value()->stats(family);
        std::cout << "  IPv" << int{family} << ": " << s.rules << " rules, built in " << s.build_ms
                  << " ms, " << std::setprecision(2) << double(s.memory_bytes) / (1 << 20) << " MiB"
                  << std::setprecision(1) << "\n";
      }
    }
  }
  return status;
}

}  // namespace palisade::control
