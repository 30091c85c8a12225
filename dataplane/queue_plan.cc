#include "dataplane/queue_plan.h"

#include <algorithm>

namespace palisade::dataplane {

bool worker_polls(const std::vector<std::string>& named, const std::string& port) {
  return named.empty() || std::ranges::find(named, port) != named.end();
}

std::vector<PolledQueue> polled_queues(const std::vector<std::vector<std::string>>& worker_ports,
                                       const std::vector<std::string>& ports, size_t worker) {
  std::vector<PolledQueue> out;
  auto add = [&](size_t port) {
    uint16_t rank = 0;
    for (size_t w = 0; w < worker; ++w) {
      rank += worker_polls(worker_ports[w], ports[port]) ? 1 : 0;
    }
    out.push_back({port, rank});
  };
  const std::vector<std::string>& named = worker_ports.at(worker);
  if (named.empty()) {
    for (size_t p = 0; p < ports.size(); ++p) {
      add(p);
    }
    return out;
  }
  for (const std::string& name : named) {
    for (size_t p = 0; p < ports.size(); ++p) {
      if (ports[p] == name) {
        add(p);
      }
    }
  }
  return out;
}

std::vector<size_t> poller_counts(const std::vector<std::vector<std::string>>& worker_ports,
                                  const std::vector<std::string>& ports) {
  std::vector<size_t> out(ports.size(), 0);
  for (const std::vector<std::string>& named : worker_ports) {
    for (size_t p = 0; p < ports.size(); ++p) {
      out[p] += worker_polls(named, ports[p]) ? 1 : 0;
    }
  }
  return out;
}

}  // namespace palisade::dataplane
