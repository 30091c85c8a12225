#include "control/source/file_list.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace palisade::control {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) {
    return std::nullopt;
  }
  return std::move(bytes).str();
}

std::vector<std::string> manifest_files(const std::string& arg) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(arg, ec)) {
    return {arg};
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(arg, ec)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
      files.push_back(entry.path().string());
    }
  }
  std::ranges::sort(files);
  return files;
}

}  // namespace palisade::control
