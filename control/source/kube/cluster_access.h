// ClusterAccess: where the API server is and how to prove who we are, from the two places a
// Kubernetes client learns it:
//   - in-cluster: KUBERNETES_SERVICE_HOST/PORT, and the service account's token and CA under
//     /var/run/secrets/kubernetes.io/serviceaccount/. The token file is projected and rotates,
//     so it is read again whenever it changes on disk;
//   - a kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config): the current context's (or a
//     named context's) cluster and user, with a token, a token file or a client certificate,
//     inline (*-data, base64) or in files relative to the kubeconfig.
// Errors name the file and the field.
#pragma once

#include <ctime>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "policy/error.h"

namespace palisade::control::kube {

class ClusterAccess {
 public:
  std::string server;                     // "https://10.96.0.1:443"
  std::string ca_pem;                     // trust anchors for the server's certificate
  bool insecure_skip_tls_verify = false;  // only when a kubeconfig asks for it; logged
  std::string token;                      // a fixed bearer token
  std::string token_file;                 // or a file holding one, read again when it changes
  std::string client_cert_pem, client_key_pem;
  std::string origin;  // for logs: "in-cluster", "kubeconfig F, context C"

  ClusterAccess() = default;
  ClusterAccess(const ClusterAccess& other);
  ClusterAccess& operator=(const ClusterAccess& other);

  // The token to send now ("" for none). Thread-safe; a rotated token file is re-read (its
  // modification time is checked at most once a second).
  std::string bearer_token() const;

 private:
  mutable std::mutex token_mutex_;
  mutable std::string cached_token_;
  mutable std::timespec cached_mtime_{};
  mutable std::time_t checked_at_ = 0;
};

// The in-cluster configuration. `secrets_dir` and `getenv` are parameters for tests.
policy::Result<ClusterAccess> in_cluster_access(
    const std::string& secrets_dir = "/var/run/secrets/kubernetes.io/serviceaccount",
    const std::function<const char*(const char*)>& getenv = ::getenv);

// A kubeconfig's context: `context` empty means its current-context.
policy::Result<ClusterAccess> kubeconfig_access(const std::string& path,
                                                const std::string& context = "");

// Where a kubeconfig is looked for when none is named: the first file of $KUBECONFIG, else
// ~/.kube/config if it exists.
std::optional<std::string> default_kubeconfig();

// Base64 (standard alphabet, padding optional) to bytes; nullopt on a bad character.
std::optional<std::string> decode_base64(const std::string& text);

}  // namespace palisade::control::kube
