#include "tests/policy/builders.h"

#include <gtest/gtest.h>

namespace palisade::policy {
void PrintTo(ErrorCode code, std::ostream* os) {
  static constexpr const char* kNames[] = {"InvalidField", "UnknownField",  "MissingField",
                                           "Unsupported",  "LimitExceeded", "NotFound",
                                           "Io",           "Syntax"};
  *os << kNames[static_cast<size_t>(code)];
}
}  // namespace palisade::policy

namespace palisade::testing {

using namespace policy;

Object object(const std::string& yaml) {
  Decoded d = decode_document(YAML::Load(yaml), DecodeOptions{"test.yaml", true});
  if (!d.object) {
    ADD_FAILURE() << "decoding failed: " << d.object.error().to_string() << "\n" << yaml;
    return Object{ObjectKey{"Invalid", "", "invalid", ""}, "", "", IgnoredKind{"invalid"}};
  }
  return std::move(d.object).value();
}

Error decode_error(const std::string& yaml) {
  Decoded d = decode_document(YAML::Load(yaml), DecodeOptions{"test.yaml", true});
  if (d.object) {
    ADD_FAILURE() << "expected a decoding error\n" << yaml;
    return Error{};
  }
  return d.object.error();
}

std::vector<Policy> policies(const std::string& yaml) {
  Object o = object(yaml);
  if (auto* p = std::get_if<std::vector<Policy>>(&o.body)) {
    return *p;
  }
  ADD_FAILURE() << "not a policy\n" << yaml;
  return {};
}

std::unique_ptr<Snapshot> snapshot(const std::vector<std::string>& docs) {
  std::vector<Object> objects;
  for (const std::string& d : docs) {
    objects.push_back(object(d));
  }
  SnapshotBuild build = build_snapshot(objects);
  for (const Error& e : build.errors) {
    ADD_FAILURE() << "snapshot error: " << e.to_string();
  }
  return std::move(build.snapshot);
}

std::string ns(const std::string& name, const std::string& labels) {
  return "{apiVersion: v1, kind: Namespace, metadata: {name: " + name + ", labels: " + labels +
         "}}";
}

std::string pod(const std::string& ns, const std::string& name, const std::string& ip,
                const std::string& labels, const std::string& extra_spec, const std::string& node) {
  return "{apiVersion: v1, kind: Pod, metadata: {name: " + name + ", namespace: " + ns +
         ", labels: " + labels + "}, spec: {nodeName: " + node +
         (extra_spec.empty() ? "" : ", " + extra_spec) + "}, status: {podIP: \"" + ip + "\"}}";
}

Flow flow(const std::string& src, const std::string& dst, const std::string& proto,
          uint16_t dport) {
  Flow f;
  f.src = *IpAddr::parse(src);
  f.dst = *IpAddr::parse(dst);
  f.protocol = *parse_protocol(proto);
  f.src_port = 40000;
  f.dst_port = dport;
  return f;
}

std::string verdict(const Snapshot& snap, const Flow& f, const EvalOptions& options) {
  FlowVerdict v = evaluate(snap, f, options);
  std::string out = v.verdict == Verdict::Allow ? "allow" : "deny";
  if (auto d = v.deciding()) {
    out += " by " + d->by_name();
  }
  return out;
}

}  // namespace palisade::testing
