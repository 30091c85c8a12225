// palisadectl: the command-line tool of Palisade. One verb per file (control/ctl/*_command.cc):
//   palisadectl verify | compile | stats | flows | policies ... (see kUsage)
#include <boost/program_options.hpp>
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "control/ctl/commands.h"

namespace po = boost::program_options;

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

struct Verb {
  const char* name;
  int (*run)(const std::vector<std::string>& args);
};

constexpr Verb kVerbs[] = {
    {"verify", palisade::control::verify_command},
    {"compile", palisade::control::compile_command},
    {"stats", palisade::control::stats_command},
    {"flows", palisade::control::flows_command},
    {"policies", palisade::control::policies_command},
};

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
    for (const Verb& verb : kVerbs) {
      if (command == verb.name) {
        return verb.run(args);
      }
    }
  } catch (const po::error& e) {
    std::cerr << "palisadectl " << command << ": " << e.what() << "\n";
    return 2;
  }
  std::cerr << "palisadectl: unknown command \"" << command << "\"\n" << kUsage;
  return 2;
}
