#include "policy/decode.h"

#include <fstream>
#include <sstream>

#include "policy/decode_kinds.h"

namespace palisade::policy {

namespace {

using detail::Meta;

bool is_calico_group(const std::string& api_version) {
  return api_version == "projectcalico.org/v3" || api_version == "crd.projectcalico.org/v1";
}

// Kinds read for what they are; anything else in a stream is reported as ignored.
ObjectBody decode_body(const Meta& meta, const YamlReader& doc) {
  const std::string& kind = meta.kind;
  const std::string& api = meta.api_version;
  if (api == "v1" &&
      (kind == "Namespace" || kind == "Pod" || kind == "ServiceAccount" || kind == "Node")) {
    return detail::decode_core(meta, doc);
  }
  if (api == "networking.k8s.io/v1" && kind == "NetworkPolicy") {
    return detail::decode_k8s_network_policy(meta, doc.at("spec"));
  }
  if (is_calico_group(api)) {
    YamlReader spec = doc.get("spec").value_or(YamlReader(YAML::Node(), "spec", doc.strict()));
    if (kind == "NetworkPolicy" || kind == "GlobalNetworkPolicy") {
      return detail::decode_calico_policy(meta, spec);
    }
    if (kind == "Tier") {
      return detail::decode_calico_tier(meta, spec);
    }
    if (kind == "NetworkSet" || kind == "GlobalNetworkSet") {
      return detail::decode_calico_network_set(meta, spec);
    }
    if (kind == "HostEndpoint") {
      return detail::decode_calico_host_endpoint(meta, spec);
    }
    if (kind == "StagedNetworkPolicy" || kind == "StagedGlobalNetworkPolicy" ||
        kind == "StagedKubernetesNetworkPolicy") {
      return IgnoredKind{"staged policies are not enforced"};
    }
  }
  if (api == "cilium.io/v2" &&
      (kind == "CiliumNetworkPolicy" || kind == "CiliumClusterwideNetworkPolicy")) {
    return detail::decode_cilium_policy(meta, doc);
  }
  if (kind.find("NetworkPolicy") != std::string::npos) {
    // A policy kind in a group we do not know must never be dropped as if harmless.
    doc.at("apiVersion")
        .fail("\"" + api + "\" is not a supported apiVersion for " + kind, ErrorCode::Unsupported);
  }
  return IgnoredKind{"not a policy input"};
}

// The group part of an object's identity (see ObjectKey): Calico's two API versions name the
// same objects, so both map to one group.
std::string api_group_identity(const std::string& api_version) {
  if (is_calico_group(api_version)) {
    return "projectcalico.org";
  }
  if (api_version == "cilium.io/v2") {
    return "cilium.io";
  }
  return {};
}

bool is_namespaced(const std::string& api_version, const std::string& kind) {
  if (kind == "Namespace" || kind == "Node" || kind == "GlobalNetworkPolicy" ||
      kind == "GlobalNetworkSet" || kind == "Tier" || kind == "HostEndpoint" ||
      kind == "CiliumClusterwideNetworkPolicy" || kind == "StagedGlobalNetworkPolicy") {
    return false;
  }
  (void)api_version;
  return true;
}

// The isolation a policy object that failed to decode stands for (Decoded::held), read
// from the same document leniently: unknown and unreadable fields elsewhere do not matter.
void hold_in_place(const Meta& meta, const YAML::Node& node, const Error& error, Decoded& decoded) {
  const YamlReader doc(node, "", false);
  const std::string& kind = meta.kind;
  const std::string& api = meta.api_version;
  try {
    if (api == "networking.k8s.io/v1" && kind == "NetworkPolicy") {
      decoded.held = detail::hold_k8s_network_policy(meta, doc.at("spec"));
    } else if (is_calico_group(api) && (kind == "NetworkPolicy" || kind == "GlobalNetworkPolicy")) {
      decoded.held = detail::hold_calico_policy(
          meta, doc.get("spec").value_or(YamlReader(YAML::Node(), "spec", false)));
    } else if (api == "cilium.io/v2" &&
               (kind == "CiliumNetworkPolicy" || kind == "CiliumClusterwideNetworkPolicy")) {
      decoded.held = detail::hold_cilium_policy(meta, doc);
    } else {
      return;  // not a policy: nothing to hold
    }
  } catch (const DecodeFailure& failure) {
    decoded.unheld = "its selector cannot be read (" + failure.error.field + ": " +
                     failure.error.message + "), so it holds no endpoint isolated";
    return;
  } catch (const YAML::Exception& ex) {
    decoded.unheld =
        "its selector cannot be read (" + ex.msg + "), so it holds no endpoint isolated";
    return;
  }
  const std::string why = error.field.empty() ? error.message : error.field + ": " + error.message;
  for (Policy& p : decoded.held) {
    p.held = why;
  }
}

std::string with_line(const std::string& source, int line) {
  return line > 0 ? source + ":" + std::to_string(line) : source;
}

}  // namespace

Decoded decode_document(const YAML::Node& node, const DecodeOptions& options) {
  YamlReader doc(node, "", options.strict);
  Meta meta;
  std::optional<ObjectKey> key;
  try {
    doc.expect_map();
    meta.api_version = doc.at("apiVersion").str();
    meta.kind = doc.at("kind").str();
    YamlReader metadata = doc.at("metadata");
    meta.name = metadata.at("name").str();
    if (meta.name.empty()) {
      metadata.at("name").fail("must not be empty");
    }
    if (is_namespaced(meta.api_version, meta.kind)) {
      auto ns = metadata.get("namespace");
      meta.ns = ns ? ns->str() : "default";  // as kubectl applies a manifest without one
    }
    if (auto labels = metadata.get("labels")) {
      meta.labels = labels->string_map();
    }
    if (auto annotations = metadata.get("annotations")) {
      meta.annotations = annotations->string_map();
    }
    meta.source = with_line(options.source, doc.line() + options.line_offset);
    meta.cilium_cidr_matches_nodes = options.cilium_cidr_matches_nodes;
    key = ObjectKey{meta.kind, meta.ns, meta.name, api_group_identity(meta.api_version)};
    Object object{*key, meta.api_version, meta.source, decode_body(meta, doc)};
    return Decoded{key, std::move(object)};
  } catch (const DecodeFailure& failure) {
    Error e = failure.error;
    int line = e.source.empty() ? 0 : std::stoi(e.source) + options.line_offset;
    e.source = with_line(options.source, line);
    if (key) {
      e.object = key->to_string();
    } else if (!meta.kind.empty()) {
      e.object = meta.kind;
    }
    Decoded decoded{key, e};
    if (key) {
      hold_in_place(meta, node, e, decoded);
    }
    return decoded;
  } catch (const YAML::Exception& ex) {
    Error e{ErrorCode::Syntax,
            with_line(options.source, ex.mark.line + 1 + options.line_offset),
            key ? key->to_string() : meta.kind,
            {},
            ex.msg};
    Decoded decoded{key, e};
    if (key) {
      hold_in_place(meta, node, e, decoded);
    }
    return decoded;
  }
}

std::vector<Decoded> decode_stream(std::string_view text, const DecodeOptions& options) {
  // Split at document markers first, so that a syntax error costs only its own document.
  struct Piece {
    std::string text;
    int first_line;  // 0-based line of the piece in the stream
  };
  std::vector<Piece> pieces{{"", 0}};
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, end == std::string_view::npos ? text.size() - pos : end - pos + 1);
    const bool marker = line.starts_with("---") &&
                        (line.size() == 3 || line[3] == ' ' || line[3] == '\n' || line[3] == '\r');
    if (marker) {
      pieces.push_back({"", line_no + 1});
    } else {
      pieces.back().text += line;
    }
    ++line_no;
    pos += line.size();
  }
  std::vector<Decoded> out;
  for (const Piece& piece : pieces) {
    DecodeOptions piece_options = options;
    piece_options.line_offset = piece.first_line;
    YAML::Node doc;
    try {
      doc = YAML::Load(piece.text);
    } catch (const YAML::Exception& e) {
      Error err{ErrorCode::Syntax,
                with_line(options.source, e.mark.line + 1 + piece.first_line),
                {},
                {},
                e.msg};
      out.push_back(Decoded{std::nullopt, err});
      continue;
    }
    if (!doc || doc.IsNull()) {
      continue;
    }
    if (doc.IsMap() && doc["kind"] && doc["kind"].IsScalar() &&
        doc["kind"].Scalar().ends_with("List") && doc["items"]) {
      for (const YAML::Node& item : doc["items"]) {  // a List, as `kubectl get -o yaml` writes
        out.push_back(decode_document(item, piece_options));
      }
      continue;
    }
    out.push_back(decode_document(doc, piece_options));
  }
  return out;
}

std::vector<Decoded> decode_file(const std::string& path, const DecodeOptions& options) {
  std::ifstream in(path);
  if (!in) {
    return {Decoded{std::nullopt, Error{ErrorCode::Io, path, {}, {}, "cannot read the file"}}};
  }
  std::stringstream buf;
  buf << in.rdbuf();
  DecodeOptions with_source = options;
  with_source.source = path;
  return decode_stream(buf.str(), with_source);
}

}  // namespace palisade::policy
