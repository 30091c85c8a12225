// `palisadectl flows [--admin HOST:PORT | --config NODE.yaml] [--follow] [--duration S]`: the
// latest flow lines of a running daemon (its /flows), and with --follow every new one.
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "control/ctl/admin_client.h"
#include "control/ctl/command_line.h"
#include "control/ctl/commands.h"

namespace palisade::control {

namespace po = boost::program_options;
using nlohmann::json;

int flows_command(const std::vector<std::string>& args) {
  po::options_description desc("flows options");
  add_admin_options(desc);
  desc.add_options()("follow,f", po::bool_switch(), "keep printing new flows")(
      "duration", po::value<double>()->default_value(0), "with --follow: stop after seconds");
  const po::variables_map vm = parse_command_line(args, desc);
  std::string error;
  std::optional<std::string> address = admin_address(vm, error);
  if (!address) {
    std::cerr << "palisadectl flows: " << error << "\n";
    return 1;
  }
  catch_interrupts();
  const bool follow = vm["follow"].as<bool>();
  const double duration = vm["duration"].as<double>();
  const auto start = std::chrono::steady_clock::now();
  uint64_t after = 0;
  do {
    std::optional<std::string> body =
        admin_get(*address, "/flows?after=" + std::to_string(after), error);
    if (!body) {
      std::cerr << "palisadectl flows: " << error << "\n";
      return 1;
    }
    const json lines = json::parse(*body, nullptr, false);
    if (!lines.is_array()) {
      std::cerr << "palisadectl flows: " << *address << "/flows did not answer flow lines\n";
      return 1;
    }
    for (const json& l : lines) {
      std::cout << l["line"].get<std::string>() << "\n";
      after = l["seq"].get<uint64_t>();
    }
    std::cout.flush();
    if (follow) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  } while (follow && !interrupted() &&
           (duration <= 0 ||
            std::chrono::steady_clock::now() - start < std::chrono::duration<double>(duration)));
  return 0;
}

}  // namespace palisade::control
