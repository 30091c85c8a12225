#include "control/source/kube/json_yaml.h"

namespace palisade::control::kube {

YAML::Node to_yaml(const nlohmann::json& value) {
  using nlohmann::json;
  switch (value.type()) {
    case json::value_t::object: {
      YAML::Node map(YAML::NodeType::Map);
      for (auto it = value.begin(); it != value.end(); ++it) {
        map[it.key()] = to_yaml(it.value());
      }
      return map;
    }
    case json::value_t::array: {
      YAML::Node seq(YAML::NodeType::Sequence);
      for (const json& item : value) {
        seq.push_back(to_yaml(item));
      }
      return seq;
    }
    case json::value_t::string:
      return YAML::Node(value.get<std::string>());
    case json::value_t::boolean:
      return YAML::Node(value.get<bool>() ? "true" : "false");
    case json::value_t::number_integer:
      return YAML::Node(std::to_string(value.get<int64_t>()));
    case json::value_t::number_unsigned:
      return YAML::Node(std::to_string(value.get<uint64_t>()));
    case json::value_t::number_float:
      return YAML::Node(value.dump());
    case json::value_t::null:
    case json::value_t::discarded:
    case json::value_t::binary:
      break;
  }
  return YAML::Node(YAML::NodeType::Null);
}

void prune_for_policy(nlohmann::json& object) {
  if (!object.is_object()) {
    return;
  }
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) {
    return;
  }
  meta->erase("managedFields");
  if (auto annotations = meta->find("annotations");
      annotations != meta->end() && annotations->is_object()) {
    annotations->erase("kubectl.kubernetes.io/last-applied-configuration");
  }
}

}  // namespace palisade::control::kube
