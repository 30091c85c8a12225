#include "policy/holdbacks.h"

#include <algorithm>
#include <map>
#include <set>

#include "policy/resolver.h"

namespace palisade::policy {

namespace {

constexpr size_t kEndpointsNamed = 20;  // in one line; the rest are counted

std::string endpoint_name(const Endpoint& ep) {
  return ep.ns.empty() ? ep.name : ep.ns + "/" + ep.name;
}

std::string l7_fields(const Rule& rule) {
  std::string what;
  if (!rule.http.empty()) {
    what = "rules.http";
  }
  if (!rule.dns.empty()) {
    what += what.empty() ? "rules.dns" : " and rules.dns";
  }
  return rule.origin + " " + what;
}

void add_l7(const Snapshot& snap, std::vector<Holdback>& out) {
  for (const Policy& p : snap.policies) {
    std::vector<std::string> fields;
    for (const std::vector<Rule>* rules : {&p.ingress, &p.egress}) {
      for (const Rule& r : *rules) {
        if (r.has_l7() && std::ranges::find(fields, l7_fields(r)) == fields.end()) {
          fields.push_back(l7_fields(r));
        }
      }
    }
    if (fields.empty()) {
      continue;
    }
    Holdback h;
    h.kind = Holdback::Kind::L7NotEnforced;
    h.policy = p.qualified_name();
    h.source = p.source;
    for (const std::string& f : fields) {
      h.where += (h.where.empty() ? "" : ", ") + f;
    }
    out.push_back(std::move(h));
  }
}

void add_rejected(const Snapshot& snap, std::vector<Holdback>& out) {
  // One object may stand as several policies (a Cilium deny band, its specs): one holdback.
  struct Pending {
    Holdback holdback;
    std::set<std::string> endpoints;
    bool ingress = false, egress = false;
  };
  std::vector<Pending> pending;
  std::map<std::string, size_t> at;
  for (const Policy& p : snap.policies) {
    if (p.held.empty()) {
      continue;
    }
    auto [it, added] = at.try_emplace(p.qualified_name(), pending.size());
    if (added) {
      Pending& fresh = pending.emplace_back();
      fresh.holdback.kind = Holdback::Kind::RejectedHeld;
      fresh.holdback.policy = p.qualified_name();
      fresh.holdback.source = p.source;
      fresh.holdback.why = p.held;
    }
    Pending& h = pending[it->second];
    h.ingress = h.ingress || p.has_type(Direction::Ingress);
    h.egress = h.egress || p.has_type(Direction::Egress);
    for (const Endpoint& ep : snap.endpoints) {
      if (selects(snap, p.applies_to, selectable_of(snap, ep))) {
        h.endpoints.insert(endpoint_name(ep));
      }
    }
  }
  for (Pending& h : pending) {
    h.holdback.where = h.ingress && h.egress ? "ingress and egress"
                       : h.ingress           ? "ingress"
                                             : "egress";
    h.holdback.endpoints.assign(h.endpoints.begin(), h.endpoints.end());
    out.push_back(std::move(h.holdback));
  }
}

}  // namespace

std::string Holdback::to_string() const {
  const std::string object = policy + (source.empty() ? "" : " (" + source + ")");
  if (kind == Kind::L7NotEnforced) {
    return object + ": " + where +
           ": no stage judges L7 rules yet, so their ports admit no connection these rules "
           "would allow";
  }
  std::string names;
  for (size_t i = 0; i < endpoints.size() && i < kEndpointsNamed; ++i) {
    names += (i == 0 ? "" : ", ") + endpoints[i];
  }
  if (endpoints.size() > kEndpointsNamed) {
    names += " and " + std::to_string(endpoints.size() - kEndpointsNamed) + " more";
  }
  return object + " was rejected (" + why + "): " +
         (endpoints.empty() ? "it selects no endpoint now, and will hold those it selects"
                            : std::to_string(endpoints.size()) + " endpoints held isolated (" +
                                  where + ") until a good version arrives: " + names);
}

std::vector<Holdback> holdbacks(const Snapshot& snap) {
  std::vector<Holdback> out;
  add_l7(snap, out);
  add_rejected(snap, out);
  return out;
}

size_t endpoints_held(const std::vector<Holdback>& holdbacks) {
  std::set<std::string> all;
  for (const Holdback& h : holdbacks) {
    all.insert(h.endpoints.begin(), h.endpoints.end());
  }
  return all.size();
}

}  // namespace palisade::policy
