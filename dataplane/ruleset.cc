#include "dataplane/ruleset.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string_view>

namespace palisade::dataplane {

uint64_t VerdictCounters::total(uint32_t verdict) const {
  uint64_t sum = 0;
  for (size_t row = 0; row * verdicts_ < hits_.size(); ++row) {
    sum +=
        std::atomic_ref<uint64_t>(hits_[row * verdicts_ + verdict]).load(std::memory_order_relaxed);
  }
  return sum;
}

policy::Result<std::unique_ptr<Ruleset>> build_ruleset(uint64_t generation,
                                                       policy::CompiledPolicy&& compiled,
                                                       const std::vector<PortBinding>& bindings,
                                                       const RulesetOptions& options) {
  auto rs = std::make_unique<Ruleset>();
  rs->generation = generation;
  rs->policy = std::move(compiled);
  rs->port_pods.resize(RTE_MAX_ETHPORTS);
  // A pod's addresses: those the compiled policy binds to it (addresses it owns).
  std::map<std::string_view, std::vector<policy::IpAddr>> pod_ips;
  for (const policy::EndpointBinding& e : rs->policy.endpoints) {
    pod_ips[e.name].push_back(e.ip);
  }
  std::vector<LocalRoute> routes;
  for (const PortBinding& b : bindings) {
    if (b.port >= RTE_MAX_ETHPORTS) {
      return policy::Error{policy::ErrorCode::LimitExceeded,
                           "ports",
                           b.pod,
                           {},
                           "port id " + std::to_string(b.port) + " is past RTE_MAX_ETHPORTS"};
    }
    auto pod = pod_ips.find(b.pod);
    if (pod == pod_ips.end()) {
      rs->missing_pods.push_back(b.pod);
      continue;  // the guard stays unbound: the port forwards nothing
    }
    PodPortGuard& g = rs->guards[b.port];
    g.bound = true;
    g.mac = b.mac;
    rs->port_pods[b.port] = b.pod;
    for (const policy::IpAddr& ip : pod->second) {
      routes.push_back({ip, b.port});
      if (ip.family == 4 && g.v4_count < PodPortGuard::kMaxAddresses) {
        std::memcpy(&g.v4[g.v4_count++], ip.bytes.data(), 4);
      } else if (ip.family == 6 && g.v6_count < PodPortGuard::kMaxAddresses) {
        std::memcpy(g.v6[g.v6_count++].data(), ip.bytes.data(), 16);
      }
    }
  }
  auto tables = options.tables != nullptr ? options.tables->build(rs->policy, &rs->table_build)
                                          : AclTables::build(rs->policy, options.max_size);
  if (!tables) {
    return tables.error();
  }
  rs->tables = std::move(tables).value();
  auto endpoints = EndpointTable::build(rs->policy, routes);
  if (!endpoints) {
    return endpoints.error();
  }
  rs->endpoints = std::move(endpoints).value();
  rs->counters = std::make_unique<VerdictCounters>(options.workers, rs->policy.verdicts.size());
  rs->verdict_table = std::make_unique<VerdictTable>(rs->policy);
  Generation& view = rs->view;
  view.number = generation;
  view.guards = rs->guards.data();
  view.endpoints = rs->endpoints->index();
  view.tables = rs->tables->view();
  view.walk = rs->verdict_table->walk(view.tables.categories);
  view.hits = rs->counters->view();
  return rs;
}

}  // namespace palisade::dataplane
