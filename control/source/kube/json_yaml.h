// The API server's JSON objects as the YAML nodes the policy decoder reads (policy/decode.h
// decodes files and API objects with one code path), without what policy never reads but can
// be large: metadata.managedFields and kubectl's last-applied-configuration annotation.
#pragma once

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

namespace palisade::control::kube {

YAML::Node to_yaml(const nlohmann::json& value);

// Removes the fields named above from an object, in place.
void prune_for_policy(nlohmann::json& object);

}  // namespace palisade::control::kube
