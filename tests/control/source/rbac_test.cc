// The deployment's ClusterRole (config/deploy/20-clusterrole.yaml) against the kinds the
// Kubernetes client lists and watches: every one must be readable with get, list and watch,
// or the daemon would wait for its first list forever (never ready); and the role grants
// nothing but reads.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <string>

#include "control/source/kube/watched_kinds.h"

namespace palisade::control::kube {
namespace {

// group -> resource -> verbs granted
using Grants = std::map<std::string, std::map<std::string, std::set<std::string>>>;

Grants load_grants() {
  const YAML::Node role =
      YAML::LoadFile(std::string(PALISADE_SOURCE_ROOT) + "/config/deploy/20-clusterrole.yaml");
  EXPECT_EQ(role["kind"].as<std::string>(), "ClusterRole");
  Grants grants;
  for (const YAML::Node& rule : role["rules"]) {
    for (const YAML::Node& group : rule["apiGroups"]) {
      for (const YAML::Node& resource : rule["resources"]) {
        for (const YAML::Node& verb : rule["verbs"]) {
          grants[group.as<std::string>()][resource.as<std::string>()].insert(
              verb.as<std::string>());
        }
      }
    }
  }
  return grants;
}

TEST(ClusterRole, GrantsGetListWatchOnEveryWatchedKind) {
  const Grants grants = load_grants();
  for (const WatchedKind& k : watched_kinds()) {
    const auto group = grants.find(k.group);
    ASSERT_NE(group, grants.end()) << "no rule for API group \"" << k.group << "\"";
    const auto resource = group->second.find(k.resource);
    ASSERT_NE(resource, group->second.end()) << "no rule for " << k.qualified_resource();
    for (const char* verb : {"get", "list", "watch"}) {
      EXPECT_TRUE(resource->second.contains(verb)) << verb << " " << k.qualified_resource();
    }
  }
}

TEST(ClusterRole, GrantsOnlyReads) {
  for (const auto& [group, resources] : load_grants()) {
    for (const auto& [resource, verbs] : resources) {
      EXPECT_NE(resource, "*") << "a wildcard resource in group \"" << group << "\"";
      for (const std::string& verb : verbs) {
        EXPECT_TRUE(verb == "get" || verb == "list" || verb == "watch")
            << verb << " on " << resource << " in group \"" << group << "\"";
      }
    }
  }
}

}  // namespace
}  // namespace palisade::control::kube
