// What the palisadectl verbs that read a running daemon share: where its admin API is
// (--admin, else the node file's admin.listen, else the default), one GET of it, and Ctrl-C
// ending a --follow or --watch loop cleanly instead of killing the process mid-line.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>

namespace palisade::control {

// --admin HOST:PORT and --config NODE.yaml.
void add_admin_options(boost::program_options::options_description& desc);
// Where the daemon's admin API is; an error message when it cannot be worked out.
std::optional<std::string> admin_address(const boost::program_options::variables_map& vm,
                                         std::string& error);
// GET http://address/path; the body, or an error naming the address.
std::optional<std::string> admin_get(const std::string& address, const std::string& path,
                                     std::string& error);
// SIGINT and SIGTERM set a flag that interrupted() reads, for loops that poll.
void catch_interrupts();
bool interrupted();

}  // namespace palisade::control
