// palisadectl's verbs, one file each (VERB_command.cc); palisadectl.cc dispatches to them.
// Each takes the arguments after the verb and returns the process's exit code: 0 success,
// 1 a failure it reported, 2 a command line it could not use.
#pragma once

#include <string>
#include <vector>

namespace palisade::control {

int verify_command(const std::vector<std::string>& args);    // conformance scenarios
int compile_command(const std::vector<std::string>& args);   // manifests to rte_acl tables
int stats_command(const std::vector<std::string>& args);     // a daemon's counters
int flows_command(const std::vector<std::string>& args);     // a daemon's flow lines
int policies_command(const std::vector<std::string>& args);  // a source's objects

}  // namespace palisade::control
