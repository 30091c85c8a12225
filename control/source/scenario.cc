#include "control/source/scenario.h"

#include <fstream>
#include <sstream>

#include "policy/yaml_reader.h"

namespace palisade::control {

using policy::DecodeFailure;
using policy::Error;
using policy::ErrorCode;
using policy::Result;
using policy::YamlReader;

namespace {

policy::Verdict read_verdict(const YamlReader& r) {
  std::string v = r.str();
  if (v == "allow") {
    return policy::Verdict::Allow;
  }
  if (v == "deny") {
    return policy::Verdict::Deny;
  }
  r.fail("\"" + v + "\" is not allow or deny");
}

ScenarioFlow read_flow(const YamlReader& r, int index) {
  r.allow_only({"src", "dst", "proto", "dport", "sport", "family", "icmp", "http", "fqdn", "expect",
                "reply", "by", "note"});
  ScenarioFlow f;
  f.index = index;
  f.line = r.line();
  f.src = r.at("src").str();
  f.dst = r.at("dst").str();
  if (auto proto = r.get("proto")) {
    f.proto = proto->str();
    if (!policy::parse_protocol(f.proto)) {
      proto->fail("\"" + f.proto + "\" is not a protocol");
    }
  }
  if (auto dport = r.get("dport")) {
    f.dport = static_cast<int>(dport->integer(0, 65535));
  }
  if (auto sport = r.get("sport")) {
    f.sport = static_cast<int>(sport->integer(0, 65535));
  }
  if (auto family = r.get("family")) {
    f.family = static_cast<int>(family->integer(4, 6));
    if (f.family == 5) {
      family->fail("must be 4 or 6");
    }
  }
  if (auto icmp = r.get("icmp")) {
    icmp->allow_only({"type", "code"});
    policy::IcmpMatch m;
    if (auto t = icmp->get("type")) {
      m.type = static_cast<uint8_t>(t->integer(0, 255));
    }
    if (auto c = icmp->get("code")) {
      m.code = static_cast<uint8_t>(c->integer(0, 255));
    }
    f.icmp = m;
  }
  if (auto http = r.get("http")) {
    http->allow_only({"method", "path", "host", "headers"});
    policy::HttpRequest req;
    req.method = http->get("method") ? http->at("method").str() : "GET";
    req.path = http->get("path") ? http->at("path").str() : "/";
    if (auto host = http->get("host")) {
      req.host = host->str();
    }
    if (auto headers = http->get("headers")) {
      for (auto& [name, value] : headers->string_map()) {
        req.headers.emplace_back(name, value);
      }
    }
    f.http = req;
  }
  if (auto fqdn = r.get("fqdn")) {
    f.fqdn = fqdn->str();
  }
  f.expect = read_verdict(r.at("expect"));
  if (auto reply = r.get("reply")) {
    f.reply = read_verdict(*reply);
  }
  if (auto by = r.get("by")) {
    f.by = by->str();
  }
  return f;
}

std::vector<policy::FailsafePort> read_failsafe_ports(const YamlReader& r) {
  std::vector<policy::FailsafePort> out;
  for (const YamlReader& item : r.items()) {
    std::string text = item.str();  // tcp:22
    size_t colon = text.find(':');
    auto proto = policy::parse_protocol(text.substr(0, colon));
    if (colon == std::string::npos || !proto) {
      item.fail("\"" + text + "\" is not PROTOCOL:PORT (tcp:22)");
    }
    int port = std::stoi(text.substr(colon + 1));
    out.push_back({*proto, static_cast<uint16_t>(port)});
  }
  return out;
}

}  // namespace

std::string ScenarioFlow::label() const {
  std::string out = src + " -> " + dst + " " + proto;
  if (dport) {
    out += "/" + std::to_string(*dport);
  }
  if (icmp && icmp->type) {
    out += " type " + std::to_string(*icmp->type);
  }
  if (family == 6) {
    out += " (IPv6)";
  }
  if (http) {
    out += " " + http->method + " " + http->path;
  }
  if (fqdn) {
    out += " (" + *fqdn + ")";
  }
  return out;
}

Result<Scenario> load_scenario(const std::string& path, const policy::DecodeOptions& base) {
  std::ifstream in(path);
  if (!in) {
    return Error{ErrorCode::Io, path, {}, {}, "cannot read the file"};
  }
  std::stringstream buf;
  buf << in.rdbuf();
  Scenario s;
  s.path = path;
  try {
    YAML::Node root = YAML::Load(buf.str());
    YamlReader doc(root, "", true);
    doc.allow_only({"description", "node", "objects", "flows", "expect_rejected", "failsafe"});
    if (auto d = doc.get("description")) {
      s.description = d->str();
    }
    if (auto n = doc.get("node")) {
      s.node = n->str();
    }
    if (auto fs = doc.get("failsafe")) {
      fs->allow_only({"inbound", "outbound"});
      policy::Failsafe f;
      if (auto in_ports = fs->get("inbound")) {
        f.inbound = read_failsafe_ports(*in_ports);
      }
      if (auto out_ports = fs->get("outbound")) {
        f.outbound = read_failsafe_ports(*out_ports);
      }
      s.failsafe = f;
    }
    policy::DecodeOptions options = base;
    options.source = path;
    options.strict = true;
    if (!doc.at("objects").is_sequence()) {
      doc.at("objects").fail("expected a list of objects");
    }
    for (const YAML::Node& obj : root["objects"]) {
      s.objects.push_back(policy::decode_document(obj, options));
    }
    int index = 0;
    for (const YamlReader& f : doc.at("flows").items()) {
      s.flows.push_back(read_flow(f, index++));
    }
    if (auto rejected = doc.get("expect_rejected")) {
      for (const YamlReader& r : rejected->items()) {
        r.allow_only({"object", "field"});
        s.expect_rejected.push_back({r.at("object").str(), r.at("field").str()});
      }
    }
  } catch (const DecodeFailure& failure) {
    Error e = failure.error;
    e.source = path + (e.source.empty() ? "" : ":" + e.source);
    return e;
  } catch (const YAML::Exception& e) {
    return Error{ErrorCode::Syntax, path + ":" + std::to_string(e.mark.line + 1), {}, {}, e.msg};
  }
  return s;
}

Result<policy::Flow> resolve_flow(const Scenario& scenario, const ScenarioFlow& f) {
  auto fail = [&](const std::string& what) {
    return Error{ErrorCode::InvalidField,
                 scenario.path + ":" + std::to_string(f.line),
                 {},
                 "flows[" + std::to_string(f.index) + "]",
                 what};
  };
  auto address = [&](const std::string& text,
                     std::optional<policy::IpAddr>& out) -> std::optional<Error> {
    if (auto ip = policy::IpAddr::parse(text)) {
      out = *ip;
      return std::nullopt;
    }
    size_t slash = text.find('/');
    if (slash == std::string::npos) {
      return fail("\"" + text + "\" is neither an address nor namespace/pod");
    }
    std::string ns = text.substr(0, slash);
    std::string name = text.substr(slash + 1);
    for (const policy::Decoded& d : scenario.objects) {
      if (!d.object) {
        continue;
      }
      const auto* pod = std::get_if<policy::Pod>(&d.object->body);
      if (pod == nullptr || pod->ns != ns || pod->name != name) {
        continue;
      }
      for (const policy::IpAddr& ip : pod->ips) {
        if (ip.family == f.family) {
          out = ip;
          return std::nullopt;
        }
      }
      return fail("pod " + text + " has no IPv" + std::to_string(f.family) + " address");
    }
    return fail("no pod " + text + " among the objects");
  };
  std::optional<policy::IpAddr> src, dst;
  if (auto e = address(f.src, src)) {
    return *e;
  }
  if (auto e = address(f.dst, dst)) {
    return *e;
  }
  if (src->family != dst->family) {
    return fail("src and dst are of different address families");
  }
  policy::Flow flow;
  flow.src = *src;
  flow.dst = *dst;
  flow.protocol = *policy::parse_protocol(f.proto);
  flow.src_port = static_cast<uint16_t>(f.sport.value_or(kDefaultSourcePort));
  flow.dst_port = static_cast<uint16_t>(f.dport.value_or(0));
  if (f.icmp) {
    flow.icmp_type = f.icmp->type;
    flow.icmp_code = f.icmp->code;
  }
  flow.http = f.http;
  flow.fqdn = f.fqdn;
  return flow;
}

}  // namespace palisade::control
