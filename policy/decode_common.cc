// Pieces of decoding shared by the dialects: label selectors, CIDRs, protocols.
#include "policy/decode_kinds.h"

namespace palisade::policy::detail {

std::optional<Selector> read_label_selector(const YamlReader& r) {
  if (r.is_null()) {
    return std::nullopt;
  }
  r.allow_only({"matchLabels", "matchExpressions"});
  Labels match_labels;
  if (auto ml = r.get("matchLabels")) {
    match_labels = ml->string_map();
  }
  std::vector<Selector::Requirement> expressions;
  if (auto me = r.get("matchExpressions")) {
    for (const YamlReader& item : me->items()) {
      item.allow_only({"key", "operator", "values"});
      Selector::Requirement req;
      req.key = item.at("key").str();
      req.op = item.at("operator").str();
      if (auto values = item.get("values")) {
        req.values = values->strings();
      }
      expressions.push_back(std::move(req));
    }
  }
  Result<Selector> sel = Selector::from_label_selector(match_labels, expressions);
  if (!sel) {
    r.with_path_suffix(sel.error().field).fail(sel.error().message);
  }
  return sel.value();
}

Selector read_calico_selector(const YamlReader& r) {
  if (!r.is_scalar()) {
    r.fail(
        "expected a selector expression string (Calico selector syntax, e.g. "
        "\"app == 'web'\"), got a " +
        std::string(r.is_map() ? "map" : "list"));
  }
  Result<Selector> sel = Selector::parse(r.str());
  if (!sel) {
    r.fail(sel.error().message, ErrorCode::Syntax);
  }
  return sel.value();
}

Cidr read_cidr(const YamlReader& r) {
  std::string text = r.str();
  std::optional<Cidr> cidr = Cidr::parse(text);
  if (!cidr) {
    r.fail(text + " is not a CIDR");
  }
  return *cidr;
}

std::vector<Cidr> read_cidrs(const YamlReader& r) {
  std::vector<Cidr> out;
  for (const YamlReader& item : r.items()) {
    out.push_back(read_cidr(item));
  }
  return out;
}

bool read_policy_types(const std::optional<YamlReader>& list, Policy& p) {
  if (!list || list->items().empty()) {
    return false;
  }
  for (const YamlReader& t : list->items()) {
    const std::string type = t.str();
    if (type == "Ingress") {
      p.types_ingress = true;
    } else if (type == "Egress") {
      p.types_egress = true;
    } else {
      t.fail("\"" + type + "\" is not Ingress or Egress");
    }
  }
  return true;
}

uint8_t read_protocol(const YamlReader& r) {
  std::string text = r.str();
  std::optional<uint8_t> proto = parse_protocol(text);
  if (!proto) {
    r.fail("\"" + text + "\" is not a protocol (TCP, UDP, SCTP, ICMP, ICMPv6, UDPLite or 0-255)");
  }
  return *proto;
}

}  // namespace palisade::policy::detail
