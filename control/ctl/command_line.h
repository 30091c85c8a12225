// The command-line shape every palisadectl subcommand shares: its options, then any number of
// files (or directories) as positional arguments, gathered under "files".
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace palisade::control {

inline boost::program_options::variables_map parse_command_line(
    const std::vector<std::string>& args, const boost::program_options::options_description& desc) {
  namespace po = boost::program_options;
  po::positional_options_description pos;
  pos.add("files", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
  po::notify(vm);
  return vm;
}

}  // namespace palisade::control
