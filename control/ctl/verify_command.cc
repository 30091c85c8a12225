// `palisadectl verify [--engine reference|compiled|dataplane|all] [--quiet] FILE|DIR...`: runs
// conformance scenarios through the chosen engines and compares each flow's answer with its
// expectation; prints a line per flow, then 'N passed, N failed'; exits 1 if any failed.
#include <boost/program_options.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "control/ctl/command_line.h"
#include "control/ctl/commands.h"
#include "control/source/file_list.h"
#include "control/verify/compiled_engine.h"
#include "control/verify/dataplane_engine.h"
#include "control/verify/verify.h"

namespace palisade::control {

namespace po = boost::program_options;

namespace {

// Directories expand to their manifests; an empty directory is an error, not a silent pass.
std::vector<std::string> expand(const std::vector<std::string>& args, bool& ok) {
  std::vector<std::string> out;
  for (const std::string& arg : args) {
    std::vector<std::string> files = manifest_files(arg);
    if (files.empty()) {
      std::cerr << "palisadectl: " << arg << ": no .yaml files in this directory\n";
      ok = false;
    }
    out.insert(out.end(), files.begin(), files.end());
  }
  return out;
}

}  // namespace

int verify_command(const std::vector<std::string>& args) {
  po::options_description desc("verify options");
  desc.add_options()("engine", po::value<std::string>()->default_value("reference"),
                     "reference | compiled | dataplane | all")(
      "quiet,q", po::bool_switch(), "print only failures and the totals")(
      "files", po::value<std::vector<std::string>>(), "scenario files or directories");
  const po::variables_map vm = parse_command_line(args, desc);
  if (!vm.count("files")) {
    std::cerr << "palisadectl verify: no scenario file given\n"
              << "usage: palisadectl verify [--engine reference|compiled|dataplane|all] [--quiet] "
                 "FILE|DIR...\n";
    return 2;
  }
  const std::string engine_name = vm["engine"].as<std::string>();
  std::vector<std::unique_ptr<VerdictEngine>> engines;
  if (engine_name == "reference" || engine_name == "all") {
    engines.push_back(make_reference_engine());
  }
  if (engine_name == "compiled" || engine_name == "all") {
    engines.push_back(make_compiled_engine());
  }
  if (engine_name == "dataplane" || engine_name == "all") {
    engines.push_back(make_dataplane_engine());
  }
  if (engines.empty()) {
    std::cerr << "palisadectl verify: engine \"" << engine_name
              << "\" is not available in this build (reference, compiled, dataplane, all)\n";
    return 2;
  }
  bool ok = true;
  std::vector<std::string> files = expand(vm["files"].as<std::vector<std::string>>(), ok);
  VerifyOptions options;
  options.quiet = vm["quiet"].as<bool>();
  VerifyTotals totals;
  for (auto& engine : engines) {
    if (engines.size() > 1) {
      std::cout << "=== engine " << engine->name() << "\n";
    }
    for (const std::string& file : files) {
      verify_file(file, *engine, options, std::cout, totals);
    }
  }
  if (!ok) {
    ++totals.failed;
  }
  std::cout << totals.passed << " passed, " << totals.failed << " failed";
  if (totals.skipped > 0) {
    std::cout << ", " << totals.skipped << " skipped";
  }
  std::cout << "\n";
  return totals.failed == 0 ? 0 : 1;
}

}  // namespace palisade::control
