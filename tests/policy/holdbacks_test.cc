// A rejected policy object with no good version holds its endpoints isolated (Decoded::held,
// ObjectStore), and what a snapshot enforces narrower than written is listed
// (policy/holdbacks.h).
#include "policy/holdbacks.h"

#include <gtest/gtest.h>

#include "policy/store.h"
#include "tests/policy/builders.h"

namespace palisade::policy {
namespace {

using testing::flow;
using testing::ns;
using testing::pod;
using testing::verdict;

const std::string kProd = ns("prod");
const std::string kWeb = pod("prod", "web", "10.1.0.1", "{app: web}");
const std::string kDb = pod("prod", "db", "10.1.0.2", "{app: db}");
const Flow kWebToDb = flow("10.1.0.1", "10.1.0.2", "TCP", 5432);
const Flow kDbToWeb = flow("10.1.0.2", "10.1.0.1", "TCP", 80);

Decoded decode(const std::string& yaml) {
  return decode_document(YAML::Load(yaml), DecodeOptions{"test.yaml", true});
}

// A store holding these documents, and the snapshot of what it has in force.
struct Held {
  ObjectStore store;
  std::vector<ObjectStore::Report> reports;
  std::unique_ptr<Snapshot> snap;
};
Held apply_all(const std::vector<std::string>& docs, bool hold = true) {
  Held h;
  h.store.set_hold_rejected(hold);
  for (const std::string& d : docs) {
    h.reports.push_back(h.store.apply(decode(d)));
  }
  h.snap = build_snapshot(h.store.objects()).snapshot;
  return h;
}

// A default-deny Cilium policy for db whose egress names an unsupported entity.
const std::string kCiliumBad =
    "{apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: {name: lock, namespace: "
    "prod}, spec: {endpointSelector: {matchLabels: {app: db}}, ingress: [{fromEndpoints: "
    "[{matchLabels: {app: web}}]}], egress: [{toEntities: [kube-apiserver]}]}}";
// A Kubernetes policy that allows web into db (so isolation alone leaves that open).
const std::string kAllowWebToDb =
    "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: web-to-db, "
    "namespace: prod}, spec: {podSelector: {matchLabels: {app: db}}, ingress: [{from: "
    "[{podSelector: {matchLabels: {app: web}}}]}]}}";

TEST(HeldIsolation, ARejectedCiliumPolicyIsolatesItsEndpointsInTheDirectionsItNames) {
  Held h = apply_all({kProd, kWeb, kDb, kCiliumBad});
  ASSERT_EQ(h.reports.back().outcome, ObjectStore::Outcome::Rejected);
  EXPECT_NE(h.reports.back().to_string().find("held isolated (ingress and egress)"),
            std::string::npos)
      << h.reports.back().to_string();
  EXPECT_EQ(h.store.size(), 3u);  // the held policy is not counted as an object in force
  EXPECT_EQ(h.store.held().size(), 1u);
  EXPECT_EQ(verdict(*h.snap, kWebToDb), "deny by default/(end of tier)");
  EXPECT_EQ(verdict(*h.snap, kDbToWeb), "deny by default/(end of tier)");
  // web is not selected: its own traffic is untouched.
  EXPECT_EQ(verdict(*h.snap, flow("10.1.0.1", "203.0.113.1", "TCP", 443)), "allow by profile");
}

TEST(HeldIsolation, IsolationAloneLeavesOtherPoliciesAllowsInForce) {
  // A Cilium or Kubernetes policy only allows (no deny rules here): what others allow stays.
  Held h = apply_all({kProd, kWeb, kDb, kCiliumBad, kAllowWebToDb});
  EXPECT_EQ(verdict(*h.snap, kWebToDb), "allow by default/prod/knp.default.web-to-db");
}

TEST(HeldIsolation, ARejectedCiliumDenyDirectionIsDeniedAheadOfEveryAllow) {
  const std::string bad =
      "{apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: {name: lock, namespace: "
      "prod}, spec: {endpointSelector: {matchLabels: {app: db}}, ingressDeny: [{fromEntities: "
      "[kube-apiserver]}]}}";
  Held h = apply_all({kProd, kWeb, kDb, bad, kAllowWebToDb});
  EXPECT_EQ(verdict(*h.snap, kWebToDb), "deny by default/prod/cnp.lock");
  EXPECT_EQ(verdict(*h.snap, kDbToWeb), "allow by profile");  // egress not named
}

TEST(HeldIsolation, ARejectedCalicoPolicyDeniesEverythingAtItsTierAndOrder) {
  const std::string bad =
      "{apiVersion: projectcalico.org/v3, kind: NetworkPolicy, metadata: {name: lock, namespace: "
      "prod}, spec: {order: 10, selector: app == 'db', ingress: [{action: Deny, protocol: TCP, "
      "destination: {ports: [5432]}}, {action: Allow, http: {methods: [GET]}}]}}";
  const std::string earlier =
      "{apiVersion: projectcalico.org/v3, kind: NetworkPolicy, metadata: {name: early, "
      "namespace: prod}, spec: {order: 5, selector: app == 'db', ingress: [{action: Allow, "
      "protocol: TCP, destination: {ports: [80]}}]}}";
  Held h = apply_all({kProd, kWeb, kDb, bad, earlier, kAllowWebToDb});
  // Its deny might have been the one that decides: no later allow may open it.
  EXPECT_EQ(verdict(*h.snap, kWebToDb), "deny by default/prod/lock");
  // What an earlier policy decides is decided before it.
  EXPECT_EQ(verdict(*h.snap, flow("10.1.0.1", "10.1.0.2", "TCP", 80)),
            "allow by default/prod/early");
  // Calico infers Ingress from its rules: egress is not held.
  EXPECT_EQ(verdict(*h.snap, kDbToWeb), "allow by profile");
}

TEST(HeldIsolation, ARejectedKubernetesPolicyIsolatesInItsPolicyTypes) {
  const std::string bad =
      "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: lock, "
      "namespace: prod}, spec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Egress], "
      "egress: [{ports: [{port: 53, protcol: UDP}]}]}}";
  Held h = apply_all({kProd, kWeb, kDb, bad});
  EXPECT_EQ(verdict(*h.snap, kDbToWeb), "deny by default/(end of tier)");
  EXPECT_EQ(verdict(*h.snap, kWebToDb), "allow by profile");
}

TEST(HeldIsolation, AnUnreadableSelectorHoldsNothingAndSaysSo) {
  const std::string bad =
      "{apiVersion: projectcalico.org/v3, kind: NetworkPolicy, metadata: {name: lock, namespace: "
      "prod}, spec: {selector: app ==, ingress: [{action: Deny}]}}";
  Held h = apply_all({kProd, kWeb, kDb, bad});
  EXPECT_TRUE(h.store.held().empty());
  EXPECT_NE(h.reports.back().to_string().find("its selector cannot be read"), std::string::npos)
      << h.reports.back().to_string();
  EXPECT_EQ(verdict(*h.snap, kWebToDb), "allow by profile");
}

TEST(HeldIsolation, TheNodeFileMayTurnItOff) {
  Held h = apply_all({kProd, kWeb, kDb, kCiliumBad}, false);
  EXPECT_TRUE(h.store.held().empty());
  EXPECT_NE(h.reports.back().to_string().find("policy.hold_rejected is off"), std::string::npos);
  EXPECT_EQ(verdict(*h.snap, kWebToDb), "allow by profile");
}

TEST(HeldIsolation, AGoodVersionReplacesTheHoldAndADeletionRemovesIt) {
  Held h = apply_all({kProd, kWeb, kDb, kCiliumBad});
  const uint64_t before = h.store.version();
  const std::string good =
      "{apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: {name: lock, namespace: "
      "prod}, spec: {endpointSelector: {matchLabels: {app: db}}, ingress: [{fromEndpoints: "
      "[{matchLabels: {app: web}}]}], egress: [{toEntities: [world]}]}}";
  EXPECT_EQ(h.store.apply(decode(good)).outcome, ObjectStore::Outcome::Added);
  EXPECT_TRUE(h.store.held().empty());
  EXPECT_GT(h.store.version(), before);
  auto snap = build_snapshot(h.store.objects()).snapshot;
  EXPECT_EQ(verdict(*snap, kWebToDb), "allow by default/prod/cnp.lock");
  EXPECT_TRUE(holdbacks(*snap).empty());

  // Bad again: the good version stays (the last-good rule), nothing is held.
  EXPECT_EQ(h.store.apply(decode(kCiliumBad)).outcome, ObjectStore::Outcome::KeptLastGood);
  EXPECT_TRUE(h.store.held().empty());

  Held again = apply_all({kProd, kWeb, kDb, kCiliumBad});
  const ObjectKey key = again.store.held().begin()->first;
  EXPECT_EQ(again.store.remove(key).outcome, ObjectStore::Outcome::Deleted);
  EXPECT_EQ(again.store.find(key), nullptr);
  auto open = build_snapshot(again.store.objects()).snapshot;
  EXPECT_EQ(verdict(*open, kWebToDb), "allow by profile");
}

TEST(HeldIsolation, ANewRejectedVersionMovesTheHoldToTheEndpointsItSelects) {
  Held h = apply_all({kProd, kWeb, kDb, kCiliumBad});
  const uint64_t before = h.store.version();
  // The same error, another selector: web is held now, db no longer.
  std::string moved = kCiliumBad;
  moved.replace(moved.find("{app: db}"), 9, "{app: web}");
  h.store.apply(decode(moved));
  EXPECT_GT(h.store.version(), before);
  auto snap = build_snapshot(h.store.objects()).snapshot;
  EXPECT_EQ(verdict(*snap, kWebToDb), "deny by default/(end of tier)");  // web's egress
  EXPECT_EQ(verdict(*snap, flow("203.0.113.1", "10.1.0.2", "TCP", 5432)), "allow by profile");
  const std::vector<Holdback> all = holdbacks(*snap);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].endpoints, std::vector<std::string>{"prod/web"});
}

TEST(Holdbacks, NameTheHeldEndpointsAndTheL7RulesThatAdmitNothing) {
  const std::string l7 =
      "{apiVersion: cilium.io/v2, kind: CiliumNetworkPolicy, metadata: {name: api, namespace: "
      "prod}, spec: {endpointSelector: {matchLabels: {app: web}}, ingress: [{toPorts: [{ports: "
      "[{port: '80', protocol: TCP}], rules: {http: [{method: GET}]}}]}]}}";
  Held h = apply_all({kProd, kWeb, kDb, kCiliumBad, l7});
  const std::vector<Holdback> all = holdbacks(*h.snap);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].kind, Holdback::Kind::L7NotEnforced);
  EXPECT_EQ(all[0].policy, "prod/cnp.api");
  EXPECT_EQ(all[0].where, "spec.ingress[0] rules.http");
  EXPECT_EQ(all[1].kind, Holdback::Kind::RejectedHeld);
  EXPECT_EQ(all[1].policy, "prod/cnp.lock");
  EXPECT_EQ(all[1].where, "ingress and egress");
  EXPECT_EQ(all[1].endpoints, std::vector<std::string>{"prod/db"});
  EXPECT_NE(all[1].why.find("spec.egress[0].toEntities[0]"), std::string::npos) << all[1].why;
  EXPECT_NE(all[1].to_string().find("1 endpoints held isolated (ingress and egress) until a good "
                                    "version arrives: prod/db"),
            std::string::npos)
      << all[1].to_string();
  EXPECT_EQ(endpoints_held(all), 1u);
}

}  // namespace
}  // namespace palisade::policy
