// KubeSource's store rules, fed events the way its reflectors deliver them: nothing counts
// as synced before every kind is listed; a bad object is rejected alone with its name and
// field, or keeps its last good version; a relist deletes what it no longer holds; a kind
// that stops being served takes its objects with it.
#include "control/source/kube/kube_source.h"

#include <gtest/gtest.h>

#include "control/source/kube/watched_kinds.h"

namespace palisade::control::kube {
namespace {

using nlohmann::json;

size_t kind_index(const std::string& group, const std::string& kind) {
  for (size_t i = 0; i < watched_kinds().size(); ++i) {
    if (watched_kinds()[i].group == group && watched_kinds()[i].kind == kind) {
      return i;
    }
  }
  ADD_FAILURE() << "no watched kind " << group << " " << kind;
  return 0;
}

json pod(const std::string& name, const std::string& ip, const std::string& app) {
  return json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
                     R"(","namespace":"prod","labels":{"app":")" + app +
                     R"("},"managedFields":[{"manager":"kubelet"}]},"spec":{"nodeName":"n1"},)"
                     R"("status":{"podIP":")" +
                     ip + R"("}})");
}

json k8s_policy(const std::string& name, const std::string& port) {
  return json::parse(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",)"
                     R"("metadata":{"name":")" +
                     name +
                     R"(","namespace":"prod"},)"
                     R"("spec":{"podSelector":{},"ingress":[{"ports":[{"port":)" +
                     port + "}]}]}}");
}

class KubeSourceTest : public ::testing::Test {
 protected:
  KubeSourceTest() : source_(ClusterAccess{}, KubeSourceOptions{}) {}

  void deliver(size_t kind, KindEvent::Type type, std::vector<json> objects) {
    source_.deliver({kind, type, std::move(objects), std::chrono::steady_clock::now()});
  }
  // Every kind listed empty, except those given.
  void list_everything_else(const std::set<size_t>& except) {
    for (size_t k = 0; k < watched_kinds().size(); ++k) {
      if (!except.contains(k)) {
        deliver(k, KindEvent::Type::Listed, {});
      }
    }
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const policy::Object& o : source_.store().objects()) {
      out.push_back(o.key.to_string());
    }
    return out;
  }

  KubeSource source_;
};

TEST_F(KubeSourceTest, NotSyncedUntilEveryKindIsListed) {
  const size_t pods = kind_index("", "Pod");
  deliver(pods, KindEvent::Type::Listed, {pod("a", "10.0.0.1", "web")});
  ASSERT_TRUE(source_.pending());
  PolicySource::Update u = source_.refresh();
  EXPECT_EQ(u.arrivals.size(), 1u);
  EXPECT_FALSE(source_.synced());
  EXPECT_NE(source_.state().find("waiting for the first list of namespaces"), std::string::npos);
  list_everything_else({pods});
  source_.refresh();
  EXPECT_TRUE(source_.synced());
  EXPECT_EQ(keys(), std::vector<std::string>{"Pod prod/a"});
}

TEST_F(KubeSourceTest, AMissingKindCountsAsListedAndEmpty) {
  const size_t cnp = kind_index("cilium.io", "CiliumNetworkPolicy");
  list_everything_else({cnp});
  source_.refresh();
  EXPECT_FALSE(source_.synced());
  deliver(cnp, KindEvent::Type::Missing, {});
  source_.refresh();
  EXPECT_TRUE(source_.synced());
}

TEST_F(KubeSourceTest, ABadObjectIsRejectedAloneWithItsNameAndField) {
  const size_t np = kind_index("networking.k8s.io", "NetworkPolicy");
  list_everything_else({np});
  json bad = k8s_policy("bad", "80");
  bad["spec"]["ingress"][0]["ports"][0]["protcol"] = "TCP";
  deliver(np, KindEvent::Type::Listed, {k8s_policy("good", "80"), bad});
  PolicySource::Update u = source_.refresh();
  ASSERT_EQ(u.problems.size(), 1u);
  EXPECT_NE(u.problems[0].find("api"), std::string::npos);
  EXPECT_NE(u.problems[0].find("NetworkPolicy prod/bad"), std::string::npos);
  EXPECT_NE(u.problems[0].find("spec.ingress[0].ports[0].protcol"), std::string::npos);
  EXPECT_NE(u.problems[0].find("held isolated (ingress)"), std::string::npos) << u.problems[0];
  // The good object is in force; the bad one is held as isolation in its place.
  EXPECT_EQ(source_.store().size(), 1u);
  ASSERT_EQ(source_.store().held().size(), 1u);
  EXPECT_EQ(source_.store().held().begin()->first.to_string(), "NetworkPolicy prod/bad");
  EXPECT_EQ(keys(),
            (std::vector<std::string>{"NetworkPolicy prod/bad", "NetworkPolicy prod/good"}));
}

TEST_F(KubeSourceTest, AnInvalidModificationKeepsTheLastGoodVersion) {
  const size_t np = kind_index("networking.k8s.io", "NetworkPolicy");
  list_everything_else({np});
  deliver(np, KindEvent::Type::Listed, {k8s_policy("db", "5432")});
  source_.refresh();
  json bad = k8s_policy("db", "6432");
  bad["spec"]["ingress"][0]["ports"][0]["port"] = 70000;
  deliver(np, KindEvent::Type::Upsert, {bad});
  PolicySource::Update u = source_.refresh();
  ASSERT_EQ(u.problems.size(), 1u);
  EXPECT_NE(u.problems[0].find("last good version kept"), std::string::npos);
  EXPECT_FALSE(u.changed);  // nothing in force changed: no new generation
  const std::vector<policy::Object> objects = source_.store().objects();
  const auto& policies = std::get<std::vector<policy::Policy>>(objects.at(0).body);
  EXPECT_EQ(policies.at(0).ingress.at(0).destination.ports.ranges.at(0).first, 5432);
}

TEST_F(KubeSourceTest, WatchEventsAddModifyAndDelete) {
  const size_t pods = kind_index("", "Pod");
  list_everything_else({pods});
  deliver(pods, KindEvent::Type::Listed, {pod("a", "10.0.0.1", "web")});
  source_.refresh();
  deliver(pods, KindEvent::Type::Upsert, {pod("b", "10.0.0.2", "db")});
  deliver(pods, KindEvent::Type::Upsert, {pod("a", "10.0.0.3", "web")});
  deliver(pods, KindEvent::Type::Delete, {pod("b", "10.0.0.2", "db")});
  PolicySource::Update u = source_.refresh();
  EXPECT_EQ(u.arrivals.size(), 3u);
  EXPECT_EQ(keys(), std::vector<std::string>{"Pod prod/a"});
  const std::vector<policy::Object> objects = source_.store().objects();
  const auto& a = std::get<policy::Pod>(objects.at(0).body);
  ASSERT_EQ(a.ips.size(), 1u);
  EXPECT_EQ(a.ips[0].to_string(), "10.0.0.3");
}

TEST_F(KubeSourceTest, ARelistDeletesWhatItNoLongerHolds) {
  // Deletions missed while the watch was down show up as absences in the next list.
  const size_t pods = kind_index("", "Pod");
  list_everything_else({pods});
  deliver(pods, KindEvent::Type::Listed, {pod("a", "10.0.0.1", "web"), pod("b", "10.0.0.2", "db")});
  source_.refresh();
  deliver(pods, KindEvent::Type::Listed, {pod("b", "10.0.0.2", "db")});
  source_.refresh();
  EXPECT_EQ(keys(), std::vector<std::string>{"Pod prod/b"});
}

TEST_F(KubeSourceTest, ARelistOfUnchangedVersionsChangesNothing) {
  // After a dropped connection every kind is listed again; objects at the resourceVersion
  // already applied must not make a new generation.
  const size_t pods = kind_index("", "Pod");
  list_everything_else({pods});
  json a = pod("a", "10.0.0.1", "web");
  a["metadata"]["resourceVersion"] = "41";
  deliver(pods, KindEvent::Type::Listed, {a});
  EXPECT_TRUE(source_.refresh().changed);
  deliver(pods, KindEvent::Type::Listed, {a});
  EXPECT_FALSE(source_.refresh().changed);
  a["metadata"]["resourceVersion"] = "42";
  a["status"]["podIP"] = "10.0.0.9";
  deliver(pods, KindEvent::Type::Upsert, {a});
  EXPECT_TRUE(source_.refresh().changed);
  const std::vector<policy::Object> objects = source_.store().objects();
  EXPECT_EQ(std::get<policy::Pod>(objects.at(0).body).ips.at(0).to_string(), "10.0.0.9");
  deliver(pods, KindEvent::Type::Listed, {});
  EXPECT_TRUE(source_.refresh().changed);
  EXPECT_TRUE(keys().empty());
}

TEST_F(KubeSourceTest, AKindNoLongerServedTakesItsObjectsAway) {
  const size_t gnp = kind_index("crd.projectcalico.org", "GlobalNetworkPolicy");
  list_everything_else({gnp});
  deliver(
      gnp, KindEvent::Type::Listed,
      {json::parse(R"({"apiVersion":"crd.projectcalico.org/v1","kind":"GlobalNetworkPolicy",)"
                   R"J("metadata":{"name":"default.deny-all"},"spec":{"selector":"all()"}})J")});
  source_.refresh();
  EXPECT_EQ(keys(), std::vector<std::string>{"GlobalNetworkPolicy default.deny-all"});
  deliver(gnp, KindEvent::Type::Missing, {});
  source_.refresh();
  EXPECT_TRUE(keys().empty());
}

TEST_F(KubeSourceTest, KubernetesAndCalicoPoliciesOfOneNameLiveSideBySide) {
  const size_t np = kind_index("networking.k8s.io", "NetworkPolicy");
  const size_t cnp = kind_index("crd.projectcalico.org", "NetworkPolicy");
  list_everything_else({np, cnp});
  deliver(np, KindEvent::Type::Listed, {k8s_policy("db", "5432")});
  deliver(cnp, KindEvent::Type::Listed,
          {json::parse(
              R"({"apiVersion":"crd.projectcalico.org/v1","kind":"NetworkPolicy",)"
              R"J("metadata":{"name":"db","namespace":"prod"},"spec":{"selector":"all()"}})J")});
  source_.refresh();
  EXPECT_EQ(keys().size(), 2u);
  // The Kubernetes one goes; the Calico one stays.
  deliver(np, KindEvent::Type::Delete, {k8s_policy("db", "5432")});
  source_.refresh();
  EXPECT_EQ(keys(), std::vector<std::string>{"NetworkPolicy.projectcalico.org prod/db"});
}

TEST_F(KubeSourceTest, ReflectorStatesDecideHealthAndAreLogged) {
  list_everything_else({});
  for (size_t k = 0; k < watched_kinds().size(); ++k) {
    source_.state_changed(k, ReflectorState::Watching, "");
  }
  source_.refresh();
  EXPECT_TRUE(source_.healthy());
  const size_t pods = kind_index("", "Pod");
  source_.state_changed(pods, ReflectorState::BackingOff, "pods: watch failed: connection refused");
  EXPECT_FALSE(source_.healthy());
  EXPECT_NE(source_.state().find("enforcing the last good snapshot"), std::string::npos);
  EXPECT_TRUE(source_.pending());  // the line is worth a refresh, to be logged
  PolicySource::Update u = source_.refresh();
  ASSERT_EQ(u.log.size(), 1u);
  EXPECT_EQ(u.log[0], "pods: watch failed: connection refused");
  source_.state_changed(pods, ReflectorState::Watching, "");
  EXPECT_TRUE(source_.healthy());
}

TEST(JsonToYaml, PrunesManagedFieldsAndKeepsWhatPolicyReads) {
  json p = pod("a", "10.0.0.1", "web");
  p["metadata"]["annotations"] = {{"kubectl.kubernetes.io/last-applied-configuration", "{...}"},
                                  {"palisade.io/port", "pod-a"}};
  KubeSource source{ClusterAccess{}, KubeSourceOptions{}};
  const size_t pods = kind_index("", "Pod");
  source.deliver({pods, KindEvent::Type::Upsert, {p}, std::chrono::steady_clock::now()});
  source.refresh();
  const std::vector<policy::Object> objects = source.store().objects();
  const auto& decoded = std::get<policy::Pod>(objects.at(0).body);
  EXPECT_EQ(decoded.port_annotation, "pod-a");
  EXPECT_EQ(decoded.node, "n1");
  EXPECT_EQ(decoded.labels.at("app"), "web");
}

}  // namespace
}  // namespace palisade::control::kube
