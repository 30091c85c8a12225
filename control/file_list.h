// Which files a command-line argument stands for: a file itself, or a directory's manifests.
#pragma once

#include <string>
#include <vector>

namespace palisade::control {

// A directory stands for its *.yaml, *.yml and *.json files, sorted by name so that runs are
// reproducible; anything else stands for itself.
std::vector<std::string> manifest_files(const std::string& arg);

}  // namespace palisade::control
