// ApiClient: requests to the Kubernetes API server over HTTPS (or plain HTTP for tests), with
// the cluster's CA, a bearer token read fresh for every request (tokens rotate) or a client
// certificate. Plain GETs for lists, and streamed GETs for watches, whose body arrives as
// newline-delimited JSON events in HTTP chunks.
//
// Thread: one ApiClient per thread (one connection, kept alive); stop() may be called from
// any thread to abort the request in progress.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "control/source/kube/cluster_access.h"
#include "policy/error.h"

namespace httplib {
class ClientImpl;
}

namespace palisade::control::kube {

struct ApiResponse {
  int status = 0;                    // HTTP status; 0 when no response came (see error)
  std::string body;                  // the whole body (for a stream: only when status != 200)
  std::string error;                 // transport failure: connection refused, TLS, timeout, ...
  std::optional<int> retry_after_s;  // a 429/503's Retry-After
  bool ok() const { return status == 200; }
  // "HTTP 410: <message of the Status body>" or the transport error.
  std::string describe() const;
};

struct ApiTimeouts {
  int connect_s = 10;
  int read_s = 60;  // a list, or a watch between two lines
};

class ApiClient {
 public:
  // Fails on a server URL it cannot use or certificates it cannot read.
  static policy::Result<std::unique_ptr<ApiClient>> create(const ClusterAccess& access,
                                                           ApiTimeouts timeouts = {});
  ~ApiClient();

  ApiResponse get(const std::string& path_and_query);
  // A streamed GET: on_status gets the HTTP status as soon as the headers are in; on_line
  // gets each complete line of a 200 body as it arrives, and returning false ends the
  // request. `read_timeout_s` bounds the silence between two reads.
  ApiResponse stream(const std::string& path_and_query, int read_timeout_s,
                     const std::function<void(int status)>& on_status,
                     const std::function<bool(std::string_view line)>& on_line);
  // Aborts the request in progress, from another thread; later requests fail at once.
  void stop();

  const std::string& server() const { return access_.server; }

 private:
  explicit ApiClient(const ClusterAccess& access, ApiTimeouts timeouts);
  policy::Result<bool> connect();

  ClusterAccess access_;
  ApiTimeouts timeouts_;
  std::unique_ptr<httplib::ClientImpl> http_;
  std::mutex stop_mutex_;
  bool stopped_ = false;
};

// "https://host:port[/]" into its parts (the port defaults to 443 for https, 80 for http).
struct ServerUrl {
  bool tls = true;
  std::string host;
  int port = 443;
};
std::optional<ServerUrl> parse_server_url(const std::string& url);

}  // namespace palisade::control::kube
