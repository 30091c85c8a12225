// Core kinds (Namespace, Pod, ServiceAccount, Node) and the document/stream/file entry points
// of policy/decode.h.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "policy/decode.h"
#include "tests/policy/builders.h"

namespace palisade::policy {

namespace {

using testing::decode_error;
using testing::object;

IpAddr ip(const std::string& text) { return IpAddr::parse(text).value(); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<Decoded> stream(const std::string& text, bool strict = true) {
  return decode_stream(text, DecodeOptions{"s.yaml", strict});
}

// --- Namespace -----------------------------------------------------------------------------

TEST(DecodeCore, NamespaceKeepsLabelsPlusImplicitMetadataName) {
  Object o = object(
      "{apiVersion: v1, kind: Namespace, metadata: {name: prod, labels: {team: a},"
      " namespace: ignored}}");
  EXPECT_EQ(o.key.kind, "Namespace");
  EXPECT_EQ(o.key.ns, "");
  EXPECT_EQ(o.key.name, "prod");
  const Namespace& ns = std::get<Namespace>(o.body);
  EXPECT_EQ(ns.name, "prod");
  EXPECT_EQ(ns.labels, (Labels{{"team", "a"}, {"kubernetes.io/metadata.name", "prod"}}));
}

TEST(DecodeCore, NamespaceWithoutLabelsStillHasMetadataName) {
  const Namespace ns = std::get<Namespace>(object("{apiVersion: v1, kind: Namespace, metadata: "
                                                  "{name: empty}}")
                                               .body);
  EXPECT_EQ(ns.labels, (Labels{{"kubernetes.io/metadata.name", "empty"}}));
}

// The API server sets kubernetes.io/metadata.name to the name whatever the manifest says
// (SetDefaults_Namespace), so a namespace cannot pose as another to a namespaceSelector.
TEST(DecodeCore, NamespaceMetadataNameLabelAlwaysEqualsTheName) {
  const Namespace ns = std::get<Namespace>(
      object("{apiVersion: v1, kind: Namespace, metadata: {name: sandbox, labels: "
             "{kubernetes.io/metadata.name: kube-system}}}")
          .body);
  EXPECT_EQ(ns.labels.at("kubernetes.io/metadata.name"), "sandbox");
}

// --- Pod -----------------------------------------------------------------------------------

TEST(DecodeCore, PodKeepsLabelsNamespaceNodeServiceAccountAndNamedPorts) {
  Object o = object(R"(apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: data, labels: {app: db}}
spec:
  nodeName: node-b
  serviceAccountName: db-sa
  containers:
    - name: pg
      ports:
        - {name: pg, containerPort: 5432}
        - {containerPort: 9999}
        - {name: dns, containerPort: 53, protocol: UDP}
    - name: sidecar
  initContainers:
    - name: proxy
      ports: [{name: admin, containerPort: 15000, protocol: SCTP}]
status:
  podIP: 10.1.0.5
)");
  EXPECT_EQ(o.key.kind, "Pod");
  EXPECT_EQ(o.key.ns, "data");
  const Pod& pod = std::get<Pod>(o.body);
  EXPECT_EQ(pod.ns, "data");
  EXPECT_EQ(pod.name, "db-0");
  EXPECT_EQ(pod.labels, (Labels{{"app", "db"}}));
  EXPECT_EQ(pod.node, "node-b");
  EXPECT_EQ(pod.service_account, "db-sa");
  EXPECT_FALSE(pod.host_network);
  ASSERT_EQ(pod.named_ports.size(), 3u);  // the unnamed port is not kept
  EXPECT_EQ(pod.named_ports[0].name, "pg");
  EXPECT_EQ(pod.named_ports[0].port, 5432);
  EXPECT_EQ(pod.named_ports[0].protocol, ipproto::kTcp);  // default
  EXPECT_EQ(pod.named_ports[1].name, "dns");
  EXPECT_EQ(pod.named_ports[1].port, 53);
  EXPECT_EQ(pod.named_ports[1].protocol, ipproto::kUdp);
  EXPECT_EQ(pod.named_ports[2].name, "admin");
  EXPECT_EQ(pod.named_ports[2].protocol, ipproto::kSctp);
  EXPECT_EQ(pod.ips, std::vector<IpAddr>{ip("10.1.0.5")});
}

TEST(DecodeCore, PodServiceAccountDefaultsToDefault) {
  const Pod pod = std::get<Pod>(object("{apiVersion: v1, kind: Pod, metadata: {name: p, "
                                       "namespace: a}, spec: {nodeName: n}}")
                                    .body);
  EXPECT_EQ(pod.service_account, "default");
  const Pod bare = std::get<Pod>(object("{apiVersion: v1, kind: Pod, metadata: {name: p}}").body);
  EXPECT_EQ(bare.service_account, "default");
  EXPECT_EQ(bare.ns, "default");
  EXPECT_TRUE(bare.ips.empty());
}

TEST(DecodeCore, PodDeprecatedServiceAccountFieldIsRead) {
  const Pod pod = std::get<Pod>(object("{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: "
                                       "{serviceAccount: legacy}}")
                                    .body);
  EXPECT_EQ(pod.service_account, "legacy");
}

TEST(DecodeCore, HostNetworkPodIsMarked) {
  const Pod pod = std::get<Pod>(object("{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: "
                                       "{hostNetwork: true, nodeName: n1}, status: {podIP: "
                                       "192.168.0.10}}")
                                    .body);
  EXPECT_TRUE(pod.host_network);
  EXPECT_EQ(pod.node, "n1");
  EXPECT_EQ(pod.ips, std::vector<IpAddr>{ip("192.168.0.10")});
}

TEST(DecodeCore, PodIpsAndPodIpAreMergedWithoutDuplicates) {
  const Pod pod = std::get<Pod>(
      object("{apiVersion: v1, kind: Pod, metadata: {name: p}, status: {podIP: 10.0.0.7, "
             "podIPs: [{ip: 10.0.0.7}, {ip: 'fd00::7'}]}}")
          .body);
  EXPECT_EQ(pod.ips, (std::vector<IpAddr>{ip("10.0.0.7"), ip("fd00::7")}));
}

TEST(DecodeCore, BadPodIpIsRejectedWithItsFieldPath) {
  Error e = decode_error(
      "{apiVersion: v1, kind: Pod, metadata: {name: p, namespace: a}, status: "
      "{podIPs: [{ip: 10.0.0.7}, {ip: 10.0.0.300}]}}");
  EXPECT_EQ(e.code, ErrorCode::InvalidField);
  EXPECT_EQ(e.field, "status.podIPs[1].ip");
  EXPECT_EQ(e.object, "Pod a/p");
  EXPECT_TRUE(contains(e.message, "10.0.0.300")) << e.message;
  EXPECT_EQ(decode_error("{apiVersion: v1, kind: Pod, metadata: {name: p}, status: "
                         "{podIP: 'not-an-ip'}}")
                .field,
            "status.podIP");
}

TEST(DecodeCore, BadContainerPortIsRejectedWithItsFieldPath) {
  Error e = decode_error(
      "{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: "
      "[{name: c, ports: [{name: web, containerPort: 70000}]}]}}");
  EXPECT_EQ(e.field, "spec.containers[0].ports[0].containerPort");
}

TEST(DecodeCore, CoreKindsIgnoreFieldsTheyDoNotRead) {
  const Pod pod = std::get<Pod>(object("{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: "
                                       "{restartPolicy: Always, whatever: {x: 1}}}")
                                    .body);
  EXPECT_EQ(pod.name, "p");
}

// --- ServiceAccount, Node ------------------------------------------------------------------

TEST(DecodeCore, ServiceAccountKeepsItsLabels) {
  Object o = object(
      "{apiVersion: v1, kind: ServiceAccount, metadata: {name: api, namespace: "
      "prod, labels: {team: payments}}}");
  EXPECT_EQ(o.key.ns, "prod");
  const ServiceAccount& sa = std::get<ServiceAccount>(o.body);
  EXPECT_EQ(sa.ns, "prod");
  EXPECT_EQ(sa.name, "api");
  EXPECT_EQ(sa.labels, (Labels{{"team", "payments"}}));
}

TEST(DecodeCore, NodeKeepsInternalAndExternalAddressesOnly) {
  Object o = object(R"(apiVersion: v1
kind: Node
metadata: {name: node-a, labels: {zone: z1}}
status:
  addresses:
    - {type: Hostname, address: node-a}
    - {type: InternalIP, address: 10.0.0.1}
    - {type: InternalDNS, address: node-a.internal}
    - {type: ExternalIP, address: 203.0.113.5}
    - {type: InternalIP, address: 'fd00::1'}
)");
  EXPECT_EQ(o.key.ns, "");
  const Node& node = std::get<Node>(o.body);
  EXPECT_EQ(node.name, "node-a");
  EXPECT_EQ(node.labels, (Labels{{"zone", "z1"}}));
  EXPECT_EQ(node.addresses,
            (std::vector<IpAddr>{ip("10.0.0.1"), ip("203.0.113.5"), ip("fd00::1")}));
}

TEST(DecodeCore, NodeWithABadAddressIsRejected) {
  Error e = decode_error(
      "{apiVersion: v1, kind: Node, metadata: {name: n}, status: {addresses: "
      "[{type: InternalIP, address: 10.0.0}]}}");
  EXPECT_EQ(e.field, "status.addresses[0].address");
  EXPECT_EQ(e.object, "Node n");
}

// --- decode_document: metadata, kinds, strictness ------------------------------------------

TEST(DecodeCore, MissingMetadataNameIsMissingField) {
  Error e = decode_error("{apiVersion: v1, kind: Namespace, metadata: {labels: {a: b}}}");
  EXPECT_EQ(e.code, ErrorCode::MissingField);
  EXPECT_EQ(e.field, "metadata.name");
  EXPECT_EQ(e.object, "Namespace");
  EXPECT_EQ(decode_error("{apiVersion: v1, kind: Namespace, metadata: {name: ''}}").field,
            "metadata.name");
  EXPECT_EQ(decode_error("{apiVersion: v1, metadata: {name: x}}").field, "kind");
  EXPECT_EQ(decode_error("[1, 2]").code, ErrorCode::InvalidField);
}

TEST(DecodeCore, UnknownApiVersionForAPolicyKindIsUnsupported) {
  for (const char* doc :
       {"{apiVersion: networking.k8s.io/v1beta1, kind: NetworkPolicy, metadata: {name: np, "
        "namespace: a}, spec: {podSelector: {}}}",
        "{apiVersion: cilium.io/v3, kind: CiliumNetworkPolicy, metadata: {name: np, "
        "namespace: a}, spec: {endpointSelector: {}}}",
        "{apiVersion: example.com/v1, kind: GlobalNetworkPolicy, metadata: {name: np}, spec: "
        "{}}"}) {
    SCOPED_TRACE(doc);
    Error e = decode_error(doc);
    EXPECT_EQ(e.code, ErrorCode::Unsupported);
    EXPECT_EQ(e.field, "apiVersion");
    EXPECT_TRUE(contains(e.message, "is not a supported apiVersion")) << e.message;
  }
  Error e = decode_error(
      "{apiVersion: extensions/v1beta1, kind: NetworkPolicy, metadata: "
      "{name: np, namespace: a}, spec: {}}");
  EXPECT_EQ(e.object, "NetworkPolicy a/np");
  EXPECT_TRUE(contains(e.message, "extensions/v1beta1")) << e.message;
}

// policy/decode.h: every failure names its source with the line.
TEST(DecodeCore, UnsupportedApiVersionErrorNamesItsLine) {
  Error e = decode_error(
      "\n\n{apiVersion: networking.k8s.io/v1beta1, kind: NetworkPolicy, "
      "metadata: {name: np}, spec: {}}");
  EXPECT_EQ(e.source, "test.yaml:3");
}

TEST(DecodeCore, DeploymentAndServiceAreIgnoredKinds) {
  for (const char* doc :
       {"{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: a}, spec: "
        "{replicas: 3}}",
        "{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {ports: [{port: 80}]}}",
        "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {a: b}}"}) {
    SCOPED_TRACE(doc);
    Object o = object(doc);
    const auto* ignored = std::get_if<IgnoredKind>(&o.body);
    ASSERT_NE(ignored, nullptr);
    EXPECT_FALSE(ignored->reason.empty());
  }
  EXPECT_EQ(
      object("{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}}").key.to_string(),
      "Deployment default/web");
}

TEST(DecodeCore, StagedCalicoPoliciesAreIgnoredKinds) {
  Object o = object(
      "{apiVersion: projectcalico.org/v3, kind: StagedNetworkPolicy, metadata: "
      "{name: s, namespace: a}, spec: {anything: goes}}");
  EXPECT_TRUE(std::holds_alternative<IgnoredKind>(o.body));
}

TEST(DecodeCore, NonStrictDecodingIgnoresUnknownFieldsThatStrictRejects) {
  const std::string doc =
      "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: np, namespace: "
      "a}, spec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, "
      "newField: 1}}]}], futureField: true}}";
  Decoded strict = decode_document(YAML::Load(doc), DecodeOptions{"api", true});
  ASSERT_FALSE(strict.object.has_value());
  EXPECT_EQ(strict.object.error().code, ErrorCode::UnknownField);
  Decoded lax = decode_document(YAML::Load(doc), DecodeOptions{"api", false});
  ASSERT_TRUE(lax.object.has_value()) << lax.object.error().to_string();
  const auto& ps = std::get<std::vector<Policy>>(lax.object->body);
  ASSERT_EQ(ps.size(), 1u);
  ASSERT_EQ(ps[0].ingress.size(), 1u);
  EXPECT_EQ(ps[0].ingress[0].source.nets.size(), 1u);
}

TEST(DecodeCore, FailedDocumentStillReportsItsKey) {
  Decoded d = decode_document(
      YAML::Load("{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: np, "
                 "namespace: a}, spec: {podSelector: {}, ingres: []}}"),
      DecodeOptions{"f.yaml", true});
  ASSERT_TRUE(d.key.has_value());
  EXPECT_EQ(d.key->to_path(), "NetworkPolicy/a/np");
  ASSERT_FALSE(d.object.has_value());
  EXPECT_EQ(d.object.error().source, "f.yaml:1");
}

// --- decode_stream -------------------------------------------------------------------------

TEST(DecodeStream, NullDocumentsAreSkipped) {
  std::vector<Decoded> ds = stream(R"(---
# only a comment
---
apiVersion: v1
kind: Namespace
metadata: {name: a}
---
---
apiVersion: v1
kind: Namespace
metadata: {name: b}
)");
  ASSERT_EQ(ds.size(), 2u);
  ASSERT_TRUE(ds[0].object.has_value());
  ASSERT_TRUE(ds[1].object.has_value());
  EXPECT_EQ(ds[0].object->key.name, "a");
  EXPECT_EQ(ds[1].object->key.name, "b");
  EXPECT_EQ(ds[0].object->source, "s.yaml:4");
  EXPECT_EQ(ds[1].object->source, "s.yaml:9");
}

TEST(DecodeStream, ListItemsAreDecodedOneByOne) {
  std::vector<Decoded> ds = stream(R"(apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Namespace, metadata: {name: a}}
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: np, namespace: a}
    spec: {podSelector: {}}
  - {apiVersion: v1, kind: Namespace, metadata: {name: ''}}
)");
  ASSERT_EQ(ds.size(), 3u);
  ASSERT_TRUE(ds[0].object.has_value());
  EXPECT_EQ(ds[0].object->key.to_path(), "Namespace/a");
  ASSERT_TRUE(ds[1].object.has_value());
  EXPECT_EQ(ds[1].object->key.to_path(), "NetworkPolicy/a/np");
  EXPECT_EQ(ds[1].object->source, "s.yaml:5");
  EXPECT_FALSE(ds[2].object.has_value());  // one bad item does not spoil the others
}

TEST(DecodeStream, JsonDecodesLikeYaml) {
  std::vector<Decoded> ds = stream(R"({
  "apiVersion": "networking.k8s.io/v1",
  "kind": "NetworkPolicy",
  "metadata": {"name": "np", "namespace": "a"},
  "spec": {"podSelector": {"matchLabels": {"app": "db"}},
           "ingress": [{"ports": [{"protocol": "UDP", "port": 53}]}]}
})");
  ASSERT_EQ(ds.size(), 1u);
  ASSERT_TRUE(ds[0].object.has_value()) << ds[0].object.error().to_string();
  const auto& ps = std::get<std::vector<Policy>>(ds[0].object->body);
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_TRUE(ps[0].applies_to.selector.matches({{"app", "db"}}));
  ASSERT_EQ(ps[0].ingress.size(), 1u);
  EXPECT_EQ(ps[0].ingress[0].protocols, std::vector<uint8_t>{ipproto::kUdp});
  EXPECT_EQ(ps[0].ingress[0].destination.ports.ranges, (std::vector<PortRange>{{53, 53}}));
}

TEST(DecodeStream, SyntaxErrorIsReportedWithItsLine) {
  std::vector<Decoded> ds = stream("apiVersion: v1\nkind: Namespace\nmetadata: {name: a\n");
  ASSERT_FALSE(ds.empty());
  const Decoded& last = ds.back();
  ASSERT_FALSE(last.object.has_value());
  EXPECT_EQ(last.object.error().code, ErrorCode::Syntax);
  EXPECT_TRUE(last.object.error().source.starts_with("s.yaml:")) << last.object.error().source;
  EXPECT_NE(last.object.error().source, "s.yaml:0");
  EXPECT_FALSE(last.object.error().message.empty());
}

// policy/decode.h: "a document with a syntax error ends the stream with an error" and
// "decoding one object never affects another": the documents before it are still decoded.
TEST(DecodeStream, DocumentsBeforeASyntaxErrorAreStillDecoded) {
  std::vector<Decoded> ds = stream(R"(apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: Namespace
metadata: {name: [b
)");
  ASSERT_EQ(ds.size(), 2u);
  ASSERT_TRUE(ds[0].object.has_value());
  EXPECT_EQ(ds[0].object->key.name, "a");
  ASSERT_FALSE(ds[1].object.has_value());
  EXPECT_EQ(ds[1].object.error().code, ErrorCode::Syntax);
}

TEST(DecodeStream, AnInvalidDocumentDoesNotAffectTheOthers) {
  std::vector<Decoded> ds = stream(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad, namespace: a}
spec: {podSelector: {}, ingress: [{ports: [{protocol: ICMP}]}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: a}
)");
  ASSERT_EQ(ds.size(), 2u);
  ASSERT_FALSE(ds[0].object.has_value());
  EXPECT_EQ(ds[0].object.error().field, "spec.ingress[0].ports[0].protocol");
  EXPECT_EQ(ds[0].object.error().source, "s.yaml:4");
  EXPECT_EQ(ds[0].key->to_string(), "NetworkPolicy a/bad");
  ASSERT_TRUE(ds[1].object.has_value());
  EXPECT_EQ(ds[1].object->key.name, "a");
}

// --- decode_file ---------------------------------------------------------------------------

TEST(DecodeFile, MissingFileIsAnIoErrorNamingThePath) {
  const std::string path = "/nonexistent/palisade/manifests.yaml";
  std::vector<Decoded> ds = decode_file(path, DecodeOptions{});
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_FALSE(ds[0].key.has_value());
  ASSERT_FALSE(ds[0].object.has_value());
  EXPECT_EQ(ds[0].object.error().code, ErrorCode::Io);
  EXPECT_TRUE(contains(ds[0].object.error().to_string(), path)) << ds[0].object.error().to_string();
}

TEST(DecodeFile, ObjectsOfAFileNameTheFileAndLine) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("palisade_decode_core_test_" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(path);
    out << "# manifests\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n"
           "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\n"
           "spec: {podSelector: {}, ingres: []}\n";
  }
  std::vector<Decoded> ds = decode_file(path.string(), DecodeOptions{"ignored", true});
  std::filesystem::remove(path);
  ASSERT_EQ(ds.size(), 2u);
  ASSERT_TRUE(ds[0].object.has_value());
  EXPECT_EQ(ds[0].object->source, path.string() + ":2");
  ASSERT_FALSE(ds[1].object.has_value());
  EXPECT_EQ(ds[1].object.error().source, path.string() + ":9");
  EXPECT_EQ(ds[1].object.error().object, "NetworkPolicy default/np");
  EXPECT_EQ(ds[1].object.error().code, ErrorCode::UnknownField);
}

}  // namespace
}  // namespace palisade::policy
