// Which files a command-line argument stands for (a file itself, or a directory's
// manifests), and reading one whole.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace palisade::control {

// A directory stands for its *.yaml, *.yml and *.json files, sorted by name so that runs are
// reproducible; anything else stands for itself.
std::vector<std::string> manifest_files(const std::string& arg);

// The file's bytes, or nullopt when it cannot be opened or read (the caller says why, in
// its own terms).
std::optional<std::string> read_file(const std::string& path);

}  // namespace palisade::control
