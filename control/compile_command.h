// `palisadectl compile [--stats] [--node NAME] FILE|DIR...`
#pragma once

#include <string>
#include <vector>

namespace palisade::control {

int compile_command(const std::vector<std::string>& args);

}  // namespace palisade::control
