// palisadectl: the command-line tool of Palisade.
//   palisadectl verify [--engine reference] [--quiet] FILE|DIR...
//   palisadectl compile | stats | flows | policies ... (see kUsage)
#include <boost/program_options.hpp>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "control/admin_commands.h"
#include "control/compiled_engine.h"
#include "control/dataplane_engine.h"
#include "control/command_line.h"
#include "control/file_list.h"
#include "control/verify.h"
#include "control/compile_command.h"

namespace po = boost::program_options;
using palisade::control::VerifyOptions;
using palisade::control::VerifyTotals;

namespace {

constexpr const char* kUsage =
    "usage: palisadectl COMMAND [options]\n"
    "commands:\n"
    "  verify [--engine reference|compiled|dataplane|all] [--quiet] FILE|DIR...\n"
    "      checks conformance scenarios; a directory stands for its *.yaml files.\n"
    "      Prints a line per flow, then 'N passed, N failed'; exits 1 if any failed.\n"
    "  compile [--stats] [--node NAME] [--max-size BYTES] [--export-classbench DIR] FILE|DIR...\n"
    "      compiles a scenario file, or a directory of manifests as one cluster, into\n"
    "      rte_acl tables; --stats prints rules, policy sets, categories, build time and\n"
    "      memory per address family.\n";

// Directories expand to their manifests; an empty directory is an error, not a silent pass.
std::vector<std::string> expand(const std::vector<std::string>& args, bool& ok) {
  std::vector<std::string> out;
  for (const std::string& arg : args) {
    std::vector<std::string> files = palisade::control::manifest_files(arg);
    if (files.empty()) {
      std::cerr << "palisadectl: " << arg << ": no .yaml files in this directory\n";
      ok = false;
    }
    out.insert(out.end(), files.begin(), files.end());
  }
  return out;
}

int verify(const std::vector<std::string>& args) {
  po::options_description desc("verify options");
  desc.add_options()("engine", po::value<std::string>()->default_value("reference"),
                     "reference | compiled | dataplane | all")(
      "quiet,q", po::bool_switch(), "print only failures and the totals")(
      "files", po::value<std::vector<std::string>>(), "scenario files or directories");
  const po::variables_map vm = palisade::control::parse_command_line(args, desc);
  if (!vm.count("files")) {
    std::cerr << "palisadectl verify: no scenario file given\n" << kUsage;
    return 2;
  }
  const std::string engine_name = vm["engine"].as<std::string>();
  std::vector<std::unique_ptr<palisade::control::VerdictEngine>> engines;
  if (engine_name == "reference" || engine_name == "all") {
    engines.push_back(palisade::control::make_reference_engine());
  }
  if (engine_name == "compiled" || engine_name == "all") {
    engines.push_back(palisade::control::make_compiled_engine());
  }
  if (engine_name == "dataplane" || engine_name == "all") {
    engines.push_back(palisade::control::make_dataplane_engine());
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
      palisade::control::verify_file(file, *engine, options, std::cout, totals);
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

}  // namespace

int main(int argc, char** argv) {
  // A peer that closes a TLS connection must be an error on that connection, not SIGPIPE
  // killing the process (OpenSSL writes with write(2), without MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (command == "verify") {
      return verify(args);
    }
    if (command == "compile") {
      return palisade::control::compile_command(args);
    }
    if (command == "stats") {
      return palisade::control::stats_command(args);
    }
    if (command == "flows") {
      return palisade::control::flows_command(args);
    }
    if (command == "policies") {
      return palisade::control::policies_command(args);
    }
  } catch (const po::error& e) {
    std::cerr << "palisadectl " << command << ": " << e.what() << "\n";
    return 2;
  }
  std::cerr << "palisadectl: unknown command \"" << command << "\"\n" << kUsage;
  return 2;
}
