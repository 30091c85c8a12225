#include "control/source/kube/cluster_access.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>

#include "control/source/file_list.h"

namespace palisade::control::kube {

namespace {

using policy::Error;
using policy::ErrorCode;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

Error error(const std::string& source, const std::string& field, const std::string& message,
            ErrorCode code = ErrorCode::InvalidField) {
  return Error{code, source, "", field, message};
}

}  // namespace

ClusterAccess::ClusterAccess(const ClusterAccess& o)
    : server(o.server),
      ca_pem(o.ca_pem),
      insecure_skip_tls_verify(o.insecure_skip_tls_verify),
      token(o.token),
      token_file(o.token_file),
      client_cert_pem(o.client_cert_pem),
      client_key_pem(o.client_key_pem),
      origin(o.origin) {}

ClusterAccess& ClusterAccess::operator=(const ClusterAccess& o) {
  if (this != &o) {
    server = o.server;
    ca_pem = o.ca_pem;
    insecure_skip_tls_verify = o.insecure_skip_tls_verify;
    token = o.token;
    token_file = o.token_file;
    client_cert_pem = o.client_cert_pem;
    client_key_pem = o.client_key_pem;
    origin = o.origin;
    std::lock_guard lock(token_mutex_);
    cached_token_.clear();
    cached_mtime_ = {};
    checked_at_ = 0;
  }
  return *this;
}

std::string ClusterAccess::bearer_token() const {
  if (token_file.empty()) {
    return token;
  }
  std::lock_guard lock(token_mutex_);
  const std::time_t now = std::time(nullptr);
  if (now == checked_at_ && !cached_token_.empty()) {
    return cached_token_;
  }
  checked_at_ = now;
  struct stat st {};
  if (::stat(token_file.c_str(), &st) != 0) {
    return cached_token_;  // a rotation in progress: keep the last token read
  }
  if (st.st_mtim.tv_sec != cached_mtime_.tv_sec || st.st_mtim.tv_nsec != cached_mtime_.tv_nsec ||
      cached_token_.empty()) {
    if (std::optional<std::string> t = read_file(token_file)) {
      cached_token_ = trim(*t);
      cached_mtime_ = st.st_mtim;
    }
  }
  return cached_token_;
}

std::optional<std::string> decode_base64(const std::string& text) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') {
      continue;
    }
    const size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

policy::Result<ClusterAccess> in_cluster_access(
    const std::string& secrets_dir, const std::function<const char*(const char*)>& getenv) {
  const char* host = getenv("KUBERNETES_SERVICE_HOST");
  const char* port = getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    return error("in-cluster", "KUBERNETES_SERVICE_HOST",
                 "not set: not running in a pod; give policy.kubeconfig in the node file",
                 ErrorCode::MissingField);
  }
  ClusterAccess a;
  const std::string h = host;
  // An IPv6 service address goes in brackets in a URL.
  a.server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  const std::string ca_path = secrets_dir + "/ca.crt";
  std::optional<std::string> ca = read_file(ca_path);
  if (!ca) {
    return error(ca_path, "", "cannot read the cluster CA", ErrorCode::Io);
  }
  a.ca_pem = *ca;
  a.token_file = secrets_dir + "/token";
  if (a.bearer_token().empty()) {
    return error(a.token_file, "", "cannot read the service account token", ErrorCode::Io);
  }
  a.origin = "in-cluster (" + a.server + ")";
  return a;
}

std::optional<std::string> default_kubeconfig() {
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::string first = env;
    first = first.substr(0, first.find(':'));
    if (!first.empty()) {
      return first;
    }
  }
  if (const char* home = std::getenv("HOME"); home != nullptr) {
    std::string path = std::string(home) + "/.kube/config";
    if (std::filesystem::exists(path)) {
      return path;
    }
  }
  return std::nullopt;
}

policy::Result<ClusterAccess> kubeconfig_access(const std::string& path,
                                                const std::string& context_name) {
  std::optional<std::string> text = read_file(path);
  if (!text) {
    return error(path, "", "cannot read the kubeconfig", ErrorCode::Io);
  }
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  auto relative = [&](const std::string& p) {
    return std::filesystem::path(p).is_absolute() ? p : (dir / p).string();
  };
  try {
    const YAML::Node root = YAML::Load(*text);
    // A named entry of one of the lists (clusters, users, contexts).
    auto find = [&](const char* list, const std::string& name,
                    const char* what) -> policy::Result<YAML::Node> {
      if (root[list] && root[list].IsSequence()) {
        for (const YAML::Node& item : root[list]) {
          if (item["name"] && item["name"].as<std::string>() == name && item[what]) {
            return YAML::Node(item[what]);
          }
        }
      }
      return error(path, std::string(list), "no " + std::string(what) + " named \"" + name + "\"",
                   ErrorCode::NotFound);
    };
    std::string ctx_name = context_name;
    if (ctx_name.empty()) {
      if (!root["current-context"] || root["current-context"].as<std::string>().empty()) {
        return error(path, "current-context", "not set, and no context was named",
                     ErrorCode::MissingField);
      }
      ctx_name = root["current-context"].as<std::string>();
    }
    auto ctx = find("contexts", ctx_name, "context");
    if (!ctx) {
      return ctx.error();
    }
    if (!(*ctx)["cluster"] || !(*ctx)["user"]) {
      return error(path, "contexts[" + ctx_name + "]", "needs a cluster and a user",
                   ErrorCode::MissingField);
    }
    auto cluster = find("clusters", (*ctx)["cluster"].as<std::string>(), "cluster");
    if (!cluster) {
      return cluster.error();
    }
    auto user = find("users", (*ctx)["user"].as<std::string>(), "user");
    if (!user) {
      return user.error();
    }
    ClusterAccess a;
    a.origin = "kubeconfig " + path + ", context " + ctx_name;
    if (!(*cluster)["server"]) {
      return error(path, "clusters[" + (*ctx)["cluster"].as<std::string>() + "].server", "missing",
                   ErrorCode::MissingField);
    }
    a.server = (*cluster)["server"].as<std::string>();
    while (!a.server.empty() && a.server.back() == '/') {
      a.server.pop_back();
    }
    // Inline (base64) data or a file; the field named in an error says which was bad.
    auto material = [&](const YAML::Node& owner, const std::string& owner_name,
                        const char* data_field, const char* file_field,
                        std::string& out) -> std::optional<Error> {
      if (owner[data_field]) {
        std::optional<std::string> bytes = decode_base64(owner[data_field].as<std::string>());
        if (!bytes) {
          return error(path, owner_name + "." + data_field, "not valid base64");
        }
        out = *bytes;
      } else if (owner[file_field]) {
        const std::string file = relative(owner[file_field].as<std::string>());
        std::optional<std::string> bytes = read_file(file);
        if (!bytes) {
          return error(path, owner_name + "." + file_field, "cannot read " + file, ErrorCode::Io);
        }
        out = *bytes;
      }
      return std::nullopt;
    };
    const std::string cluster_name = "clusters[" + (*ctx)["cluster"].as<std::string>() + "]";
    const std::string user_name = "users[" + (*ctx)["user"].as<std::string>() + "]";
    if (auto e = material(*cluster, cluster_name, "certificate-authority-data",
                          "certificate-authority", a.ca_pem)) {
      return *e;
    }
    if ((*cluster)["insecure-skip-tls-verify"]) {
      a.insecure_skip_tls_verify = (*cluster)["insecure-skip-tls-verify"].as<bool>();
    }
    if (auto e = material(*user, user_name, "client-certificate-data", "client-certificate",
                          a.client_cert_pem)) {
      return *e;
    }
    if (auto e = material(*user, user_name, "client-key-data", "client-key", a.client_key_pem)) {
      return *e;
    }
    if (a.client_cert_pem.empty() != a.client_key_pem.empty()) {
      return error(path, user_name, "a client certificate needs its key, and a key its certificate",
                   ErrorCode::MissingField);
    }
    if ((*user)["token"]) {
      a.token = (*user)["token"].as<std::string>();
    } else if ((*user)["tokenFile"]) {
      a.token_file = relative((*user)["tokenFile"].as<std::string>());
    }
    if ((*user)["exec"] || (*user)["auth-provider"]) {
      return error(path, user_name + ((*user)["exec"] ? ".exec" : ".auth-provider"),
                   "credential plugins are not supported; use a token, a token file or a "
                   "client certificate",
                   ErrorCode::Unsupported);
    }
    return a;
  } catch (const YAML::Exception& e) {
    return Error{ErrorCode::Syntax, path + ":" + std::to_string(e.mark.line + 1), "", "", e.msg};
  }
}

}  // namespace palisade::control::kube
