#include "control/admin_server.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

namespace palisade::control {

policy::Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& listen) {
  auto bad = [&](const std::string& why) {
    return policy::Error{policy::ErrorCode::InvalidField, "", "", "admin.listen",
                         "\"" + listen + "\": " + why};
  };
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return bad("expected host:port");
  }
  std::string host = listen.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') {  // [::1]:9090
    host = host.substr(1, host.size() - 2);
  }
  uint32_t port = 0;
  for (char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9' || (port = port * 10 + static_cast<uint32_t>(c - '0')) > 65535) {
      return bad("the port must be a number from 0 to 65535");
    }
  }
  return std::pair{host, static_cast<uint16_t>(port)};
}

AdminServer::AdminServer()
    : server_(std::make_unique<httplib::Server>()),
      published_at_(std::chrono::steady_clock::now()) {
  view_.readiness = "not ready: no policy generation in force yet";
}

AdminServer::~AdminServer() {
  server_->stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

policy::Result<std::unique_ptr<AdminServer>> AdminServer::start(const std::string& listen) {
  auto where = split_host_port(listen);
  if (!where) {
    return where.error();
  }
  std::unique_ptr<AdminServer> admin(new AdminServer());
  admin->install_routes();
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second daemon
  // on the node share the port (and the probes) with the first instead of failing.
  admin->server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  const auto& [host, port] = *where;
  if (port == 0) {
    const int bound = admin->server_->bind_to_any_port(host);
    if (bound <= 0) {
      return policy::Error{policy::ErrorCode::Io, "", "", "admin.listen",
                           "cannot listen on " + listen};
    }
    admin->port_ = static_cast<uint16_t>(bound);
  } else {
    if (!admin->server_->bind_to_port(host, port)) {
      return policy::Error{policy::ErrorCode::Io, "", "", "admin.listen",
                           "cannot listen on " + listen + " (in use, or not a local address)"};
    }
    admin->port_ = port;
  }
  // Few, short requests: probes and scrapes. Two threads keep a slow client from blocking
  // the probes.
  admin->server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  AdminServer* raw = admin.get();
  admin->thread_ = std::thread([raw] { raw->server_->listen_after_bind(); });
  // httplib's stop() does nothing until the loop runs: wait for it, so that a server stopped
  // right after it started cannot be left listening (and its thread never joined).
  for (int i = 0; i < 5000 && !admin->server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return admin;
}

void AdminServer::publish(AdminView view) {
  std::lock_guard lock(mutex_);
  view_ = std::move(view);
  published_at_ = std::chrono::steady_clock::now();
}

void AdminServer::add_flow_line(std::string line) {
  std::lock_guard lock(mutex_);
  flows_.emplace_back(next_flow_seq_++, std::move(line));
  if (flows_.size() > kFlowLines) {
    flows_.pop_front();
  }
}

void AdminServer::install_routes() {
  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    const auto age = std::chrono::steady_clock::now() - published_at_;
    if (age > kStalledAfter) {
      res.status = 503;
      res.set_content(
          "control thread stalled: nothing published for " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(age).count()) +
              " s\n",
          "text/plain");
      return;
    }
    res.set_content("ok\n", "text/plain");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    res.status = view_.ready ? 200 : 503;
    res.set_content(view_.readiness + "\n", "text/plain");
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    res.set_content(view_.metrics, "text/plain; version=0.0.4");
  });
  server_->Get("/stats", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    res.set_content(view_.stats_json, "application/json");
  });
  server_->Get("/flows", [this](const httplib::Request& req, httplib::Response& res) {
    uint64_t after = 0;
    if (req.has_param("after")) {
      try {
        after = std::stoull(req.get_param_value("after"));
      } catch (const std::exception&) {
        res.status = 400;
        res.set_content("after: expected a sequence number\n", "text/plain");
        return;
      }
    }
    nlohmann::json out = nlohmann::json::array();
    {
      std::lock_guard lock(mutex_);
      for (const auto& [seq, line] : flows_) {
        if (seq > after) {
          out.push_back({{"seq", seq}, {"line", line}});
        }
      }
    }
    res.set_content(out.dump(), "application/json");
  });
}

}  // namespace palisade::control
