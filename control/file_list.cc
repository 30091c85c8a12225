#include "control/file_list.h"

#include <algorithm>
#include <filesystem>

namespace palisade::control {

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
