#include "policy/store.h"

#include <gtest/gtest.h>

namespace palisade::policy {
namespace {

Decoded decode(const std::string& yaml) {
  return decode_document(YAML::Load(yaml), DecodeOptions{"test.yaml", true});
}

const std::string kGood =
    "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: db, namespace: "
    "prod}, spec: {podSelector: {}, ingress: [{ports: [{port: 5432}]}]}}";
const std::string kGoodV2 =
    "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: db, namespace: "
    "prod}, spec: {podSelector: {}, ingress: [{ports: [{port: 6432}]}]}}";
const std::string kBad =
    "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: db, namespace: "
    "prod}, spec: {podSelector: {}, ingress: [{ports: [{port: 5432, protcol: TCP}]}]}}";

uint16_t first_port(const ObjectStore& store) {
  const std::vector<Object> objects = store.objects();
  const auto& policies = std::get<std::vector<Policy>>(objects.at(0).body);
  return policies.at(0).ingress.at(0).destination.ports.ranges.at(0).first;
}

TEST(ObjectStore, NewInvalidObjectIsRejectedAndNothingOfItIsInForce) {
  ObjectStore store;
  ObjectStore::Report r = store.apply(decode(kBad));
  EXPECT_EQ(r.outcome, ObjectStore::Outcome::Rejected);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->field, "spec.ingress[0].ports[0].protcol");
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.invalid().size(), 1u);
}

TEST(ObjectStore, InvalidReplacementKeepsTheLastGoodVersion) {
  ObjectStore store;
  EXPECT_EQ(store.apply(decode(kGood)).outcome, ObjectStore::Outcome::Added);
  ObjectStore::Report r = store.apply(decode(kBad));
  EXPECT_EQ(r.outcome, ObjectStore::Outcome::KeptLastGood);
  EXPECT_NE(r.to_string().find("last good version kept"), std::string::npos);
  ASSERT_EQ(store.size(), 1u);
  EXPECT_EQ(first_port(store), 5432);
  EXPECT_TRUE(store.invalid().contains(ObjectKey{"NetworkPolicy", "prod", "db", ""}));
}

TEST(ObjectStore, ValidVersionAfterAnInvalidOneReplacesAndClearsTheError) {
  ObjectStore store;
  store.apply(decode(kGood));
  store.apply(decode(kBad));
  EXPECT_EQ(store.apply(decode(kGoodV2)).outcome, ObjectStore::Outcome::Updated);
  EXPECT_EQ(first_port(store), 6432);
  EXPECT_TRUE(store.invalid().empty());
}

TEST(ObjectStore, DeleteRemovesTheObjectWhateverItsState) {
  ObjectStore store;
  store.apply(decode(kGood));
  store.apply(decode(kBad));
  EXPECT_EQ(store.remove(ObjectKey{"NetworkPolicy", "prod", "db", ""}).outcome,
            ObjectStore::Outcome::Deleted);
  EXPECT_EQ(store.size(), 0u);
  EXPECT_TRUE(store.invalid().empty());
  EXPECT_EQ(store.remove(ObjectKey{"NetworkPolicy", "prod", "db", ""}).outcome,
            ObjectStore::Outcome::NotFound);
}

TEST(ObjectStore, ObjectWithoutANameIsRejectedWithoutAKey) {
  ObjectStore store;
  ObjectStore::Report r =
      store.apply(decode("{apiVersion: v1, kind: Namespace, metadata: {labels: {a: b}}}"));
  EXPECT_EQ(r.outcome, ObjectStore::Outcome::Rejected);
  EXPECT_FALSE(r.key.has_value());
  EXPECT_EQ(r.error->field, "metadata.name");
}

TEST(ObjectStore, ObjectsComeOutInKeyOrderWhateverTheArrivalOrder) {
  std::vector<std::string> docs = {
      "{apiVersion: v1, kind: Namespace, metadata: {name: b}}",
      "{apiVersion: v1, kind: Namespace, metadata: {name: a}}",
      "{apiVersion: v1, kind: Namespace, metadata: {name: c}}",
  };
  std::vector<std::string> want;
  std::sort(docs.begin(), docs.end());
  do {
    ObjectStore store;
    for (const std::string& d : docs) {
      store.apply(decode(d));
    }
    std::vector<std::string> names;
    for (const Object& o : store.objects()) {
      names.push_back(o.key.name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));
  } while (std::next_permutation(docs.begin(), docs.end()));
}

TEST(ObjectStore, KubernetesAndCalicoNetworkPoliciesOfOneNameAreTwoObjects) {
  // Both groups have a namespaced NetworkPolicy; one must never replace the other.
  ObjectStore store;
  EXPECT_EQ(store.apply(decode(kGood)).outcome, ObjectStore::Outcome::Added);
  ObjectStore::Report calico = store.apply(
      decode("{apiVersion: crd.projectcalico.org/v1, kind: NetworkPolicy, metadata: {name: db, "
             "namespace: prod}, spec: {selector: all(), types: [Ingress]}}"));
  EXPECT_EQ(calico.outcome, ObjectStore::Outcome::Added);
  ASSERT_TRUE(calico.key.has_value());
  EXPECT_EQ(calico.key->to_string(), "NetworkPolicy.projectcalico.org prod/db");
  EXPECT_EQ(store.size(), 2u);
  // The v3 spelling of the Calico object is the same object as the CRD's.
  EXPECT_EQ(store
                .apply(decode("{apiVersion: projectcalico.org/v3, kind: NetworkPolicy, "
                              "metadata: {name: db, namespace: prod}, spec: {selector: all()}}"))
                .outcome,
            ObjectStore::Outcome::Updated);
  EXPECT_EQ(store.remove(ObjectKey{"NetworkPolicy", "prod", "db", ""}).outcome,
            ObjectStore::Outcome::Deleted);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.objects().at(0).key.group, "projectcalico.org");
}

}  // namespace
}  // namespace palisade::policy
