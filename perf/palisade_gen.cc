// palisade-gen: Palisade's traffic generator, run as a second DPDK process beside the daemon.
//
//   palisade-gen flows --config NODE.yaml --scenario FILE [--timeout-ms N]
//     Attaches a virtio-user port to every vhost-user socket of the node file (each pod's
//     side of its port, and the far side of the uplink), sends each scenario flow's first
//     packet from where its source is, and reports where it came out; then the reply, the
//     other way. Prints one line per flow and the totals; exits 1 when a flow's fate is not
//     what the reference evaluator gives for this node's share of the judgement (a flow
//     between two pods of other nodes is theirs to judge, and passes here).
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include "control/daemon.h"
#include "control/node_config.h"
#include "control/source/directory_source.h"
#include "control/source/scenario.h"
#include "control/verify/packet_craft.h"
#include "policy/evaluator.h"
#include "policy/snapshot.h"
#include "policy/store.h"

namespace po = boost::program_options;
using palisade::control::Frame;
using palisade::control::FrameSpec;
using palisade::dataplane::Mac;

namespace {

constexpr Mac kFarSideMac{0x02, 0xff, 0, 0, 0, 0x01};  // the uplink's next hop, played here

struct GenPort {
  std::string name;  // the node file's port
  bool pod = false;
  Mac mac{};  // what this side sends from
  uint16_t id = 0;
};

std::string socket_of(const std::string& devargs) {
  const size_t at = devargs.find("iface=");
  if (at == std::string::npos) {
    return "";
  }
  const size_t end = devargs.find(',', at);
  return devargs.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
}

bool send(const GenPort& port, rte_mempool* pool, const Frame& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) {
    return false;
  }
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
              frame.size());
  if (rte_eth_tx_burst(port.id, 0, &m, 1) != 1) {
    rte_pktmbuf_free(m);
    return false;
  }
  return true;
}

// Polls every port until something arrives or the timeout passes; returns the port index
// the frame came out of (-1: nothing), and its description.
int receive(std::vector<GenPort>& ports, int timeout_ms, std::string& what) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    for (size_t i = 0; i < ports.size(); ++i) {
      rte_mbuf* m[8];
      const uint16_t n = rte_eth_rx_burst(ports[i].id, 0, m, 8);
      for (uint16_t j = 0; j < n; ++j) {
        what = palisade::control::describe_frame(rte_pktmbuf_mtod(m[j], const uint8_t*),
                                                 rte_pktmbuf_data_len(m[j]));
        rte_pktmbuf_free(m[j]);
      }
      if (n != 0) {
        return static_cast<int>(i);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return -1;
}

int flows(const std::vector<std::string>& args) {
  po::options_description desc("palisade-gen flows options");
  desc.add_options()("config", po::value<std::string>()->required(), "the daemon's node file")(
      "scenario", po::value<std::string>()->required(), "the flows to send (a scenario file)")(
      "timeout-ms", po::value<int>()->default_value(300), "how long to wait for each packet")(
      "rounds", po::value<int>()->default_value(1),
      "send every flow this many times, in rounds (the ports stay up between rounds)")(
      "wait-file", po::value<std::string>(),
      "before round r, wait until the file PREFIX.r exists (a test restarts the daemon "
      "between rounds)")(
      "established", po::bool_switch(),
      "after the first round, send each TCP flow as the next data segment of the connection "
      "the first round opened (no new handshake), so that a round after a restart shows "
      "whether the daemon kept the connection")(
      "judge-by", po::value<std::string>(),
      "a directory or file of manifests read again before each round: the policy each round's "
      "verdicts are expected from (default: the scenario's objects)");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  auto config = palisade::control::load_node_config(vm["config"].as<std::string>());
  if (!config) {
    std::cerr << "palisade-gen: " << config.error().to_string() << "\n";
    return 2;
  }
  auto scenario = palisade::control::load_scenario(vm["scenario"].as<std::string>());
  if (!scenario) {
    std::cerr << "palisade-gen: " << scenario.error().to_string() << "\n";
    return 2;
  }
  const int timeout_ms = vm["timeout-ms"].as<int>();
  // What this node should do with each flow: the reference evaluator, judging only this
  // node's endpoints (a scenario's own expectations are the whole cluster's).
  // (--judge-by: read again before each round, as the daemon reads its policy directory)
  auto expected_policy = [&]() -> std::unique_ptr<palisade::policy::Snapshot> {
    if (vm.count("judge-by")) {
      palisade::control::DirectorySource source(vm["judge-by"].as<std::string>());
      for (const std::string& problem : source.reload().problems) {
        std::cerr << "palisade-gen: --judge-by: " << problem << "\n";
      }
      return palisade::policy::build_snapshot(source.store().objects()).snapshot;
    }
    palisade::policy::ObjectStore store;
    for (const palisade::policy::Decoded& d : scenario->objects) {
      store.apply(d);
    }
    return palisade::policy::build_snapshot(store.objects()).snapshot;
  };
  const bool established = vm["established"].as<bool>();
  palisade::policy::EvalOptions this_node;
  this_node.node = config->node_name;

  // The other end of every vhost-user port of the node file.
  std::vector<std::string> eal = {"palisade-gen",
                                  "--no-huge",
                                  "-m",
                                  "256",
                                  "--no-pci",
                                  "--file-prefix",
                                  "palisade-gen-" + std::to_string(getpid()),
                                  "-l",
                                  "0",
                                  "--log-level=lib.eal:error"};
  std::vector<GenPort> ports;
  std::map<std::string, size_t> port_of_pod;
  std::optional<size_t> uplink;
  bool serving = false;  // some port is the server of a vhost-user socket
  for (const palisade::control::PortConfig& p : config->ports) {
    const std::string sock = socket_of(p.devargs);
    if (sock.empty()) {
      std::cerr << "palisade-gen: port " << p.name << " is not a vhost-user port; skipped\n";
      continue;
    }
    GenPort g;
    g.name = p.name;
    g.pod = p.role == palisade::control::PortRole::Pod;
    g.mac = g.pod ? p.mac.value_or(Mac{}) : kFarSideMac;
    const std::string vdev = "net_virtio_user" + std::to_string(ports.size());
    // A daemon port in vhost-user client mode connects to us: this side is the server, and
    // outlives the daemon's restarts.
    const bool serve = p.devargs.find("client=1") != std::string::npos;
    serving = serving || serve;
    eal.insert(eal.end(),
               {"--vdev", vdev + ",path=" + sock + ",mac=" + palisade::control::format_mac(g.mac) +
                              ",queues=1" + (serve ? ",server=1" : "")});
    if (g.pod && p.pod) {
      port_of_pod[*p.pod] = ports.size();
    } else if (!g.pod) {
      uplink = ports.size();
    }
    ports.push_back(g);
  }
  std::vector<char*> argv;
  for (std::string& a : eal) {
    argv.push_back(a.data());
  }
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    std::cerr << "palisade-gen: EAL: " << rte_strerror(rte_errno) << "\n";
    return 1;
  }
  rte_mempool* pool =
      rte_pktmbuf_pool_create("gen-mbufs", 2047, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  for (GenPort& g : ports) {
    const std::string vdev = "net_virtio_user" + std::to_string(&g - ports.data());
    rte_eth_conf conf{};
    if (pool == nullptr || rte_eth_dev_get_port_by_name(vdev.c_str(), &g.id) != 0 ||
        rte_eth_dev_configure(g.id, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(g.id, 0, 256, SOCKET_ID_ANY, nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(g.id, 0, 256, SOCKET_ID_ANY, nullptr) != 0 ||
        rte_eth_dev_start(g.id) != 0) {
      std::cerr << "palisade-gen: cannot start the virtio-user side of " << g.name << "\n";
      return 1;
    }
  }

  const Mac gateway = config->gateway.mac;
  auto where = [&](const std::string& name) -> std::optional<size_t> {
    if (auto it = port_of_pod.find(name); it != port_of_pod.end()) {
      return it->second;
    }
    return uplink;
  };
  const int rounds = vm["rounds"].as<int>();
  int failed_rounds = 0;
  for (int round = 1; round <= rounds; ++round) {
    if (vm.count("wait-file")) {
      const std::string go = vm["wait-file"].as<std::string>() + "." + std::to_string(round);
      for (int i = 0; i < 1200 && !std::filesystem::exists(go); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    // Every link up (the daemon connected, in either mode), then time for negotiation.
    for (int i = 0; i < 300; ++i) {
      bool all_up = true;
      for (const GenPort& g : ports) {
        rte_eth_link link{};
        all_up = all_up && rte_eth_link_get_nowait(g.id, &link) == 0 &&
                 link.link_status == RTE_ETH_LINK_UP;
      }
      if (all_up) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // vhost-user negotiation
    const std::unique_ptr<palisade::policy::Snapshot> policy = expected_policy();
    int as_expected = 0, not_as_expected = 0, skipped = 0;
    for (const palisade::control::ScenarioFlow& f : scenario->flows) {
      auto flow = palisade::control::resolve_flow(*scenario, f);
      if (!flow || f.http || f.fqdn) {
        ++skipped;
        std::cout << "skip  " << f.label() << (flow ? " (L7 / DNS: not sent)" : "") << "\n";
        continue;
      }
      const std::optional<size_t> in = where(f.src), out = where(f.dst);
      if (!in || !out) {
        ++skipped;
        std::cout << "skip  " << f.label() << " (no port to send from or to)\n";
        continue;
      }
      // The uplink side addresses the daemon's uplink port; pods address their gateway.
      FrameSpec first = palisade::control::spec_for_flow(*flow, ports[*in].mac, gateway);
      const bool continued = established && round > 1 && f.proto == "TCP";
      if (continued) {
        // The client's next segment after its SYN (seq + 1) and the server's SYN-ACK
        // (ack of the server's seq + 1, which reply_of makes it): data, no handshake.
        const FrameSpec syn_ack = palisade::control::reply_of(first);
        first.tcp_flags = palisade::control::kTcpFlagAck | palisade::control::kTcpFlagPsh;
        first.tcp_ack = syn_ack.tcp_seq + 1;
        first.tcp_seq += 1;
        first.payload = 100;
      }
      send(ports[*in], pool, palisade::control::craft_frame(first));
      std::string what;
      const int came_out = receive(ports, timeout_ms, what);
      const bool allowed = came_out == static_cast<int>(*out);
      std::string reply_note;
      if (allowed && f.proto != "UDP") {
        FrameSpec reply = palisade::control::reply_of(first);
        reply.src_mac = ports[*out].mac;
        reply.dst_mac = gateway;
        send(ports[*out], pool, palisade::control::craft_frame(reply));
        std::string back;
        reply_note = receive(ports, timeout_ms, back) == static_cast<int>(*in) ? ", reply passed"
                                                                               : ", reply DROPPED";
      }
      const bool expected_allow = palisade::policy::evaluate(*policy, *flow, this_node).verdict ==
                                  palisade::policy::Verdict::Allow;
      const bool ok = allowed == expected_allow && (came_out < 0 || allowed);
      (ok ? as_expected : not_as_expected)++;
      std::cout << (allowed ? "ALLOWED " : "DROPPED ") << f.label()
                << (continued ? " (established)" : "") << "  [" << ports[*in].name << " -> "
                << (came_out < 0 ? "nothing" : ports[came_out].name) << reply_note << "]"
                << (ok ? "" : "  <-- expected " + std::string(expected_allow ? "allow" : "deny"))
                << "\n";
    }
    std::cout << "palisade-gen: " << (rounds > 1 ? "round " + std::to_string(round) + ": " : "")
              << as_expected << " flows as expected, " << not_as_expected << " not, " << skipped
              << " skipped\n";
    std::cout.flush();
    failed_rounds += not_as_expected == 0 ? 0 : 1;
  }
  const int rc = failed_rounds == 0 ? 0 : 1;
  if (serving) {
    // DPDK 22.11's virtio-user in server mode panics in its interrupt thread when its ports
    // are stopped after a reconnection ("Error adding fd ... epoll_ctl"): leave, and let the
    // kernel close the sockets.
    std::cout.flush();
    std::_Exit(rc);
  }
  for (GenPort& g : ports) {
    rte_eth_dev_stop(g.id);
  }
  rte_eal_cleanup();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] != "flows") {
    std::cerr << "usage: palisade-gen flows --config NODE.yaml --scenario FILE [--timeout-ms N] "
                 "[--rounds N [--wait-file PREFIX] [--established] [--judge-by DIR]]\n";
    return 2;
  }
  try {
    return flows({args.begin() + 1, args.end()});
  } catch (const po::error& e) {
    std::cerr << "palisade-gen: " << e.what() << "\n";
    return 2;
  }
}
