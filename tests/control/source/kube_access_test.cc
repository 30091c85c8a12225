// Where the API server is and how Palisade proves who it is: kubeconfig contexts, inline and
// file credentials, in-cluster service accounts, rotated tokens, and server URLs.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "control/source/kube/api_client.h"
#include "control/source/kube/cluster_access.h"

namespace palisade::control::kube {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("palisade-kube-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }
  fs::path path() const { return path_; }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

const std::string kKubeconfig = R"(apiVersion: v1
kind: Config
current-context: admin@lab
clusters:
- name: lab
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
- name: other
  cluster:
    server: http://10.0.0.1:8080
    certificate-authority: ca/other.crt
users:
- name: admin
  user:
    token: s3cret
- name: robot
  user:
    tokenFile: robot.token
contexts:
- name: admin@lab
  context: {cluster: lab, user: admin}
- name: robot@other
  context: {cluster: other, user: robot}
- name: broken
  context: {cluster: nowhere, user: admin}
)";

TEST(Kubeconfig, CurrentContextGivesServerCaAndToken) {
  TempDir dir;
  auto a = kubeconfig_access(dir.write("config", kKubeconfig));
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->server, "https://127.0.0.1:6443");  // the trailing slash is dropped
  EXPECT_EQ(a->ca_pem, "-----BEGIN CERTIFICATE-----\n");
  EXPECT_EQ(a->bearer_token(), "s3cret");
  EXPECT_FALSE(a->insecure_skip_tls_verify);
  EXPECT_NE(a->origin.find("admin@lab"), std::string::npos);
}

TEST(Kubeconfig, NamedContextReadsFilesRelativeToTheKubeconfig) {
  TempDir dir;
  fs::create_directories(dir.path() / "ca");
  dir.write("ca/other.crt", "OTHER CA");
  dir.write("robot.token", "token-one\n");
  auto a = kubeconfig_access(dir.write("config", kKubeconfig), "robot@other");
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->server, "http://10.0.0.1:8080");
  EXPECT_EQ(a->ca_pem, "OTHER CA");
  EXPECT_EQ(a->bearer_token(), "token-one");  // the newline is not part of it
}

TEST(Kubeconfig, ErrorsNameTheFileAndWhatIsMissing) {
  TempDir dir;
  const std::string path = dir.write("config", kKubeconfig);
  auto missing = kubeconfig_access(path, "nope");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().to_string().find(path), std::string::npos);
  EXPECT_NE(missing.error().to_string().find("no context named \"nope\""), std::string::npos);
  auto broken = kubeconfig_access(path, "broken");
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().to_string().find("no cluster named \"nowhere\""), std::string::npos);
  auto unreadable = kubeconfig_access(path, "robot@other");  // ca/other.crt does not exist
  ASSERT_FALSE(unreadable);
  EXPECT_EQ(unreadable.error().field, "clusters[other].certificate-authority");
}

TEST(Kubeconfig, CredentialPluginsAreRefusedByName) {
  TempDir dir;
  std::string text = kKubeconfig;
  text.replace(text.find("    token: s3cret"), 17, "    exec: {command: aws}");
  auto a = kubeconfig_access(dir.write("config", text));
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().field, "users[admin].exec");
  EXPECT_EQ(a.error().code, policy::ErrorCode::Unsupported);
}

TEST(Kubeconfig, BadBase64IsAnErrorOnItsField) {
  TempDir dir;
  std::string text = kKubeconfig;
  text.replace(text.find("LS0tLS1CRUdJ"), 4, "L*0t");
  auto a = kubeconfig_access(dir.write("config", text));
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().field, "clusters[lab].certificate-authority-data");
}

TEST(Base64, DecodesWithAndWithoutPadding) {
  EXPECT_EQ(decode_base64("aGVsbG8="), "hello");
  EXPECT_EQ(decode_base64("aGVsbG8"), "hello");
  EXPECT_EQ(decode_base64("aGVs\nbG8h"), "hello!");
  EXPECT_FALSE(decode_base64("aGVs*G8="));
}

TEST(InCluster, ReadsTheServiceAccountAndTheServiceAddress) {
  TempDir dir;
  dir.write("ca.crt", "CLUSTER CA");
  dir.write("token", "first");
  std::map<std::string, std::string> env{{"KUBERNETES_SERVICE_HOST", "fd00::1"},
                                         {"KUBERNETES_SERVICE_PORT", "443"}};
  auto getenv = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto a = in_cluster_access(dir.path().string(), getenv);
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->server, "https://[fd00::1]:443");
  EXPECT_EQ(a->ca_pem, "CLUSTER CA");
  EXPECT_EQ(a->bearer_token(), "first");

  // The kubelet rotates the projected token: the new one is used without a restart.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  dir.write("token", "second");
  fs::last_write_time(dir.path() / "token",
                      fs::last_write_time(dir.path() / "token") + std::chrono::seconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(a->bearer_token(), "second");

  env.erase("KUBERNETES_SERVICE_HOST");
  auto outside = in_cluster_access(dir.path().string(), getenv);
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().field, "KUBERNETES_SERVICE_HOST");
}

TEST(ServerUrl, SchemesPortsAndIpv6) {
  auto a = parse_server_url("https://api.lab:6443");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->host, "api.lab");
  EXPECT_EQ(a->port, 6443);
  auto b = parse_server_url("http://[fd00::1]/");
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->tls);
  EXPECT_EQ(b->host, "fd00::1");
  EXPECT_EQ(b->port, 80);
  EXPECT_EQ(parse_server_url("https://10.96.0.1")->port, 443);
  EXPECT_FALSE(parse_server_url("ftp://x"));
  EXPECT_FALSE(parse_server_url("https://host:99999"));
  EXPECT_FALSE(parse_server_url("https://host:12ab"));
  EXPECT_FALSE(parse_server_url("https://"));
}

TEST(ApiClient, AnUnreachableServerIsATransportErrorNotAStatus) {
  ClusterAccess access;
  access.server = "http://127.0.0.1:1";  // nothing listens on port 1
  auto client = ApiClient::create(access, ApiTimeouts{1, 1});
  ASSERT_TRUE(client) << client.error().to_string();
  ApiResponse r = (*client)->get("/api/v1/pods");
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.describe().empty());
}

TEST(ApiClient, UnusableCertificatesAreRefusedAtCreation) {
  ClusterAccess access;
  access.server = "https://127.0.0.1:6443";
  access.ca_pem = "not a certificate";
  auto client = ApiClient::create(access);
  ASSERT_FALSE(client);
  EXPECT_NE(client.error().to_string().find("CA"), std::string::npos);
  access.ca_pem.clear();
  access.client_cert_pem = "junk";
  access.client_key_pem = "junk";
  EXPECT_FALSE(ApiClient::create(access));
}

}  // namespace
}  // namespace palisade::control::kube
