#include "dataplane/flow_report.h"

#include <cstring>

#include "policy/ip.h"
#include "policy/ipproto.h"
#include "policy/model.h"

namespace palisade::dataplane {

namespace {

policy::IpAddr address(uint8_t family, const uint8_t* bytes) {
  policy::IpAddr ip;
  ip.family = family;
  std::memcpy(ip.bytes.data(), bytes, family == 4 ? 4 : 16);
  return ip;
}

std::string proto_name(uint8_t proto) {
  const std::string name = policy::protocol_name(proto);
  return name == std::to_string(proto) ? "proto " + name : name;
}

std::string endpoint(const policy::IpAddr& ip, uint8_t proto, uint16_t port,
                     const dataplane::Ruleset* rs) {
  std::string s = ip.family == 6 ? "[" + ip.to_string() + "]" : ip.to_string();
  if (proto == 6 || proto == 17 || proto == 132) {
    s += ":" + std::to_string(port);
  }
  if (rs != nullptr) {
    if (const policy::EndpointBinding* b = rs->policy.binding(ip)) {
      s += " (" + b->name + ")";
    }
  }
  return s;
}

}  // namespace

std::string decided_by(const dataplane::FlowEvent& e, const dataplane::Ruleset& rs) {
  if (e.egress_judged && (e.egress_allow == 0 || !e.ingress_judged)) {
    return rs.policy.by_name(e.egress_verdict);
  }
  if (e.ingress_judged) {
    return rs.policy.by_name(e.ingress_verdict);
  }
  return "";
}

std::string describe_flow_event(const dataplane::FlowEvent& e, const dataplane::Ruleset* rs) {
  using A = dataplane::FlowEvent::Action;
  std::string s;
  switch (e.action) {
    case A::Allowed:
      s = "ALLOW";
      break;
    case A::Denied:
      s = "DENY ";
      break;
    case A::Cut:
      s = "CUT  ";
      break;
    case A::Dropped:
      s = "DROP ";
      break;
  }
  s += " gen " + std::to_string(e.generation) + " " + proto_name(e.proto) + " ";
  const bool icmp = policy::ipproto::is_icmp(e.proto);
  s += endpoint(address(e.family, e.src), e.proto, e.sport, rs) + " -> " +
       endpoint(address(e.family, e.dst), e.proto, e.dport, rs);
  if (icmp) {
    s += " type " + std::to_string(e.sport) + " code " + std::to_string(e.dport);
  }
  if (e.action == A::Dropped) {
    s += " (" + std::string(dataplane::kDropName[static_cast<size_t>(e.drop)]) + ")";
  } else if (rs != nullptr) {
    const std::string by = decided_by(e, *rs);
    s += by.empty() ? " (no endpoint judged here)" : " by " + by;
  }
  return s;
}

}  // namespace palisade::dataplane
