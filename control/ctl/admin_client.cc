#include "control/ctl/admin_client.h"

#include <httplib.h>

#include <csignal>

#include "control/admin_server.h"
#include "control/node_config.h"

namespace palisade::control {

namespace po = boost::program_options;

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void on_interrupt(int) { g_interrupted = 1; }

}  // namespace

bool interrupted() { return g_interrupted != 0; }

void catch_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void add_admin_options(po::options_description& desc) {
  desc.add_options()("admin", po::value<std::string>(),
                     "the daemon's admin address, host:port (default: the node file's, else "
                     "127.0.0.1:9090)")("config", po::value<std::string>(),
                                        "the daemon's node file, for its admin address");
}

std::optional<std::string> admin_address(const po::variables_map& vm, std::string& error) {
  if (vm.count("admin")) {
    return vm["admin"].as<std::string>();
  }
  if (vm.count("config")) {
    auto config = load_node_config(vm["config"].as<std::string>());
    if (!config) {
      error = config.error().to_string();
      return std::nullopt;
    }
    return config->admin.listen;
  }
  return AdminConfig{}.listen;
}

std::optional<std::string> admin_get(const std::string& address, const std::string& path,
                                     std::string& error) {
  auto where = split_host_port(address);
  if (!where) {
    error = where.error().to_string();
    return std::nullopt;
  }
  httplib::Client client(where->first, where->second);
  client.set_connection_timeout(3);
  client.set_read_timeout(10);
  httplib::Result res = client.Get(path);
  if (!res) {
    error = "cannot reach the daemon's admin API at " + address + ": " +
            httplib::to_string(res.error()) + " (is palisade running? --admin HOST:PORT)";
    return std::nullopt;
  }
  if (res->status != 200) {
    error = address + path + " answered " + std::to_string(res->status) + ": " + res->body;
    return std::nullopt;
  }
  return res->body;
}

}  // namespace palisade::control
