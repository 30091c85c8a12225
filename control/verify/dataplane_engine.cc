#include "control/verify/dataplane_engine.h"

#include <algorithm>

#include "control/verify/packet_craft.h"
#include "control/verify/ring_ports.h"
#include "dataplane/dataplane.h"
#include "dataplane/eal.h"
#include "dataplane/flow_report.h"
#include "policy/compiler.h"

namespace palisade::control {

namespace {

using dataplane::Mac;

constexpr Mac kGatewayMac{0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
constexpr Mac kRemoteMac{0x02, 0xff, 0, 0, 0, 0x01};  // the uplink's far side

Mac pod_mac(size_t index) { return {0x02, 0, 0, 0, 0, static_cast<uint8_t>(index + 1)}; }

class DataplaneEngine final : public VerdictEngine {
 public:
  std::string name() const override { return "dataplane"; }

  policy::Result<bool> load(const Scenario& scenario, const policy::Snapshot& snap) override {
    if (auto started = start(); !started) {
      return started.error();
    }
    snap_ = &snap;
    options_ = policy::CompileOptions{};
    options_.node = scenario.node;
    // The scenario's pods on the node judged here get pod ports, in order.
    bindings_.clear();
    pod_port_.clear();
    for (const policy::Endpoint& e : snap.endpoints) {
      if (e.kind != policy::EndpointKind::Workload || bindings_.size() == kPodPorts) {
        continue;
      }
      if (scenario.node && e.node != *scenario.node) {
        continue;
      }
      const size_t i = bindings_.size();
      bindings_.push_back({ports_[i + 1].id, e.ns + "/" + e.name, pod_mac(i)});
      for (const policy::IpAddr& ip : e.ips) {
        pod_port_[ip] = i + 1;
      }
    }
    return publish(std::nullopt, {});
  }

  EngineAnswer answer(const policy::Flow& flow) override {
    EngineAnswer a;
    // A flow with an HTTP request is judged as its connection: no stage judges requests
    // yet, so a request passes exactly when its connection does (Rule::has_l7).
    if (flow.fqdn) {  // the tables DNS snooping would have made for this answer
      if (auto p = publish(flow.fqdn, flow.dst); !p) {
        a.skipped = "cannot compile: " + p.error().to_string();
        return a;
      }
    } else if (fqdn_published_) {
      if (auto p = publish(std::nullopt, {}); !p) {
        a.skipped = "cannot compile: " + p.error().to_string();
        return a;
      }
    }
    dp_->flush_conntrack();
    dp_->drain_flow_events([](const dataplane::FlowEvent&) {});

    const size_t src_port = port_of(flow.src), dst_port = port_of(flow.dst);
    const FrameSpec first = spec_for_flow(flow, src_port == 0 ? kRemoteMac : pod_mac(src_port - 1),
                                          src_port == 0 ? dp_roles_mac(0) : kGatewayMac);
    const Delivery d = deliver(first, src_port, dst_port, a);
    a.verdict = d.arrived ? policy::Verdict::Allow : policy::Verdict::Deny;
    dp_->drain_flow_events(
        [&](const dataplane::FlowEvent& e) { a.by = dataplane::decided_by(e, *dp_->current()); });
    if (a.by.empty()) {
      a.by = "(no endpoint judged)";
    }
    a.detail = a.by + (d.arrived ? "" : " (dropped: " + d.drop + ")");

    const bool stateful_reply =
        flow.protocol == policy::ipproto::kTcp ||
        ((flow.protocol == policy::ipproto::kIcmp || flow.protocol == policy::ipproto::kIcmpV6) &&
         !flow.icmp_type);
    if (!a.error && (d.arrived || stateful_reply)) {
      FrameSpec reply = reply_of(first);
      reply.src_mac = dst_port == 0 ? kRemoteMac : pod_mac(dst_port - 1);
      reply.dst_mac = dst_port == 0 ? dp_roles_mac(0) : kGatewayMac;
      reply.ttl = 64;
      const Delivery r = deliver(reply, dst_port, src_port, a);
      a.reply = r.arrived ? policy::Verdict::Allow : policy::Verdict::Deny;
    }
    return a;
  }

 private:
  struct Delivery {
    bool arrived = false;
    std::string drop;  // why not, from the worker's counters
  };

  policy::Result<bool> start() {
    if (dp_) {
      return true;
    }
    if (auto eal = dataplane::start_eal_for_tools("palisadectl"); !eal) {
      return eal.error();
    }
    dataplane::DataplaneConfig config;
    for (size_t i = 0; i <= kPodPorts; ++i) {
      const std::string name = i == 0 ? "verify-uplink" : "verify-pod" + std::to_string(i);
      auto port = create_ring_port(name);
      if (!port) {
        return port.error();
      }
      ports_.push_back(*port);
      dataplane::DataplaneConfig::Port p;
      p.name = name;
      p.device = port->device;
      p.pod = i != 0;
      p.next_hop = kRemoteMac;
      config.ports.push_back(p);
    }
    config.workers.push_back({0, {}});
    config.mbufs = 4095;
    config.conntrack_max_flows = 4096;
    config.launch_workers = false;
    auto dp = dataplane::Dataplane::start(config);
    if (!dp) {
      return dp.error();
    }
    dp_ = std::move(dp).value();
    return true;
  }

  Mac dp_roles_mac(size_t port) const { return dp_->roles().ports[ports_[port].id].mac; }

  size_t port_of(const policy::IpAddr& ip) const {
    auto it = pod_port_.find(ip);
    return it == pod_port_.end() ? 0 : it->second;
  }

  policy::Result<bool> publish(const std::optional<std::string>& fqdn, const policy::IpAddr& dst) {
    policy::CompileOptions options = options_;
    if (fqdn) {
      options.dns.emplace_back(dst, *fqdn);
    }
    policy::Result<policy::CompiledPolicy> compiled = policy::compile(*snap_, options);
    if (!compiled) {
      return compiled.error();
    }
    if (auto g = dp_->publish(std::move(compiled).value(), bindings_); !g) {
      return g.error();
    }
    fqdn_published_ = fqdn.has_value();
    return true;
  }

  // Sends a frame in at `in` and reports whether it came out at `out`, unaltered but for
  // the routing rewrite. Anything else that comes out is an error of the engine's answer.
  Delivery deliver(const FrameSpec& spec, size_t in, size_t out, EngineAnswer& a) {
    const dataplane::DataplaneTotals before = dp_->totals();
    if (!inject(ports_[in], dp_->pool(), craft_frame(spec))) {
      a.error = "could not inject a frame (mbuf pool or ring full)";
      return {};
    }
    for (int i = 0; i < 4; ++i) {
      dp_->workers()[0]->poll();
    }
    Delivery d;
    for (size_t p = 0; p < ports_.size(); ++p) {
      for (const Frame& f : collect(ports_[p])) {
        if (p != out || d.arrived) {
          a.error = "a frame came out of " + ports_[p].name + ", expected " + ports_[out].name +
                    " at most once: " + describe_frame(f);
          continue;
        }
        d.arrived = true;
        check_rewrite(spec, f, out, a);
      }
    }
    if (!d.arrived) {
      const dataplane::DataplaneTotals after = dp_->totals();
      for (size_t i = 0; i < after.sum.drops.size(); ++i) {
        if (after.sum.drops[i] != before.sum.drops[i]) {
          d.drop = std::string(dataplane::kDropName[i]);
        }
      }
    }
    return d;
  }

  // What leaves is what came in, routed: gateway or uplink MACs, TTL one less.
  void check_rewrite(const FrameSpec& spec, const Frame& f, size_t out, EngineAnswer& a) {
    FrameSpec expected = spec;
    expected.ttl = static_cast<uint8_t>(spec.ttl - 1);
    expected.src_mac = out == 0 ? dp_roles_mac(0) : kGatewayMac;
    expected.dst_mac = out == 0 ? kRemoteMac : pod_mac(out - 1);
    if (f != craft_frame(expected)) {
      a.error =
          "the frame out of " + ports_[out].name + " is not the routed input: " + describe_frame(f);
    }
  }

  std::unique_ptr<dataplane::Dataplane> dp_;
  std::vector<RingPort> ports_;  // [0] is the uplink
  const policy::Snapshot* snap_ = nullptr;
  policy::CompileOptions options_;
  std::vector<dataplane::PortBinding> bindings_;
  std::map<policy::IpAddr, size_t> pod_port_;
  bool fqdn_published_ = false;
};

}  // namespace

std::unique_ptr<VerdictEngine> make_dataplane_engine() {
  return std::make_unique<DataplaneEngine>();
}

}  // namespace palisade::control
