#include "control/source/kube/api_client.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <nlohmann/json.hpp>

namespace palisade::control::kube {

namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;  // a Status body; anything longer is cut

// PEM text (one or more certificates) into a new store; nullptr when none could be read.
X509_STORE* store_from_pem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) {
    return nullptr;
  }
  X509_STORE* store = X509_STORE_new();
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    added += X509_STORE_add_cert(store, cert) == 1 ? 1 : 0;
    X509_free(cert);
  }
  BIO_free(bio);
  if (added == 0) {
    X509_STORE_free(store);
    return nullptr;
  }
  return store;
}

X509* cert_from_pem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = bio != nullptr ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  return cert;
}

EVP_PKEY* key_from_pem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key =
      bio != nullptr ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  return key;
}

policy::Error client_error(const std::string& origin, const std::string& message) {
  return policy::Error{policy::ErrorCode::InvalidField, origin, "", "", message};
}

}  // namespace

std::optional<ServerUrl> parse_server_url(const std::string& url) {
  ServerUrl out;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    out.tls = false;
    out.port = 80;
    rest = url.substr(7);
  } else {
    return std::nullopt;
  }
  rest = rest.substr(0, rest.find('/'));
  if (rest.empty()) {
    return std::nullopt;
  }
  size_t port_at = std::string::npos;
  if (rest.front() == '[') {  // [fd00::1]:6443
    const size_t close = rest.find(']');
    if (close == std::string::npos) {
      return std::nullopt;
    }
    out.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') {
        return std::nullopt;
      }
      port_at = close + 2;
    }
  } else {
    const size_t colon = rest.find(':');
    out.host = rest.substr(0, colon);
    if (colon != std::string::npos) {
      port_at = colon + 1;
    }
  }
  if (port_at != std::string::npos) {
    try {
      size_t used = 0;
      out.port = std::stoi(rest.substr(port_at), &used);
      if (used != rest.size() - port_at || out.port <= 0 || out.port > 65535) {
        return std::nullopt;
      }
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return out.host.empty() ? std::nullopt : std::optional(out);
}

std::string ApiResponse::describe() const {
  if (status == 0) {
    return error.empty() ? "no response" : error;
  }
  std::string out = "HTTP " + std::to_string(status);
  // A Kubernetes Status body says why; anything else is shown as it is, briefly.
  const nlohmann::json status_body = nlohmann::json::parse(body, nullptr, false);
  if (status_body.is_object() && status_body.contains("message") &&
      status_body["message"].is_string()) {
    out += ": " + status_body["message"].get<std::string>();
  } else if (!body.empty()) {
    out += ": " + body.substr(0, 200);
  }
  if (!error.empty()) {
    out += " (" + error + ")";
  }
  return out;
}

ApiClient::ApiClient(const ClusterAccess& access, ApiTimeouts timeouts)
    : access_(access), timeouts_(timeouts) {}

ApiClient::~ApiClient() = default;

policy::Result<std::unique_ptr<ApiClient>> ApiClient::create(const ClusterAccess& access,
                                                             ApiTimeouts timeouts) {
  std::unique_ptr<ApiClient> client(new ApiClient(access, timeouts));
  if (auto ok = client->connect(); !ok) {
    return ok.error();
  }
  return client;
}

policy::Result<bool> ApiClient::connect() {
  std::optional<ServerUrl> url = parse_server_url(access_.server);
  if (!url) {
    return client_error(access_.origin,
                        "server \"" + access_.server + "\" is not an http:// or https:// URL");
  }
  if (!url->tls) {
    http_ = std::make_unique<httplib::ClientImpl>(url->host, url->port);
  } else {
    std::unique_ptr<httplib::SSLClient> tls;
    if (!access_.client_cert_pem.empty()) {
      X509* cert = cert_from_pem(access_.client_cert_pem);
      EVP_PKEY* key = key_from_pem(access_.client_key_pem);
      if (cert == nullptr || key == nullptr) {
        X509_free(cert);
        EVP_PKEY_free(key);
        return client_error(access_.origin, "the client certificate or key is not valid PEM");
      }
      tls = std::make_unique<httplib::SSLClient>(url->host, url->port, cert, key);
      X509_free(cert);  // the TLS context holds its own references
      EVP_PKEY_free(key);
    } else {
      tls = std::make_unique<httplib::SSLClient>(url->host, url->port);
    }
    if (!tls->is_valid()) {
      return client_error(access_.origin,
                          "TLS set-up failed (client certificate and key do not "
                          "match?)");
    }
    if (!access_.ca_pem.empty()) {
      X509_STORE* store = store_from_pem(access_.ca_pem);
      if (store == nullptr) {
        return client_error(access_.origin, "the cluster CA holds no readable PEM certificate");
      }
      tls->set_ca_cert_store(store);  // owned by the TLS context from here
    }
    tls->enable_server_certificate_verification(!access_.insecure_skip_tls_verify);
    http_ = std::move(tls);
  }
  http_->set_connection_timeout(timeouts_.connect_s);
  http_->set_read_timeout(timeouts_.read_s);
  http_->set_write_timeout(timeouts_.read_s);
  http_->set_keep_alive(true);
  return true;
}

namespace {

httplib::Headers request_headers(const ClusterAccess& access) {
  httplib::Headers headers{{"Accept", "application/json"}, {"User-Agent", "palisade/0.1.0"}};
  if (std::string token = access.bearer_token(); !token.empty()) {
    headers.emplace("Authorization", "Bearer " + token);
  }
  return headers;
}

std::optional<int> retry_after(const httplib::Response& res) {
  if (!res.has_header("Retry-After")) {
    return std::nullopt;
  }
  try {
    return std::stoi(res.get_header_value("Retry-After"));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

ApiResponse ApiClient::get(const std::string& path_and_query) {
  ApiResponse out;
  {
    std::lock_guard lock(stop_mutex_);
    if (stopped_) {
      out.error = "stopped";
      return out;
    }
  }
  http_->set_read_timeout(timeouts_.read_s);
  httplib::Result res = http_->Get(path_and_query, request_headers(access_));
  if (!res) {
    out.error = httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  out.body = std::move(res->body);
  out.retry_after_s = retry_after(*res);
  return out;
}

ApiResponse ApiClient::stream(const std::string& path_and_query, int read_timeout_s,
                              const std::function<void(int)>& on_status,
                              const std::function<bool(std::string_view)>& on_line) {
  ApiResponse out;
  {
    std::lock_guard lock(stop_mutex_);
    if (stopped_) {
      out.error = "stopped";
      return out;
    }
  }
  http_->set_read_timeout(read_timeout_s);
  std::string pending;  // a line split across chunks
  bool ended_by_caller = false;
  httplib::Result res = http_->Get(
      path_and_query, request_headers(access_),
      [&](const httplib::Response& response) {
        out.status = response.status;
        out.retry_after_s = retry_after(response);
        if (on_status) {
          on_status(response.status);
        }
        return true;
      },
      [&](const char* data, size_t length) {
        if (out.status != 200) {
          if (out.body.size() < kMaxErrorBody) {
            out.body.append(data, std::min(length, kMaxErrorBody - out.body.size()));
          }
          return true;
        }
        pending.append(data, length);
        size_t start = 0;
        for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
          if (nl > start && !on_line(std::string_view(pending).substr(start, nl - start))) {
            ended_by_caller = true;
            return false;
          }
        }
        pending.erase(0, start);
        return true;
      });
  if (!res && !ended_by_caller) {
    out.error = httplib::to_string(res.error());
  }
  if (res && out.status == 200 && !pending.empty()) {
    on_line(pending);  // a last line without its newline
  }
  http_->set_read_timeout(timeouts_.read_s);
  return out;
}

void ApiClient::stop() {
  std::lock_guard lock(stop_mutex_);
  stopped_ = true;
  http_->stop();
}

}  // namespace palisade::control::kube
