#include "control/source/kube/reflector.h"

#include <random>

namespace palisade::control::kube {

namespace {

using nlohmann::json;

std::string url_encode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string resource_version_of(const json& object) {
  if (!object.is_object()) {
    return {};
  }
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) {
    return {};
  }
  auto rv = meta->find("resourceVersion");
  return rv != meta->end() && rv->is_string() ? rv->get<std::string>() : std::string();
}

// A Status object's code (410 for an expired resourceVersion), 0 when it has none.
int status_code_of(const json& status) {
  if (status.is_object() && status.contains("code") && status["code"].is_number_integer()) {
    return status["code"].get<int>();
  }
  return 0;
}

std::string status_message_of(const json& status) {
  if (status.is_object() && status.contains("message") && status["message"].is_string()) {
    return status["message"].get<std::string>();
  }
  return status.dump().substr(0, 200);
}

}  // namespace

const char* reflector_state_name(ReflectorState s) {
  switch (s) {
    case ReflectorState::Starting:
      return "starting";
    case ReflectorState::Listing:
      return "listing";
    case ReflectorState::Watching:
      return "watching";
    case ReflectorState::BackingOff:
      return "backing off";
    case ReflectorState::Missing:
      return "not served";
    case ReflectorState::Stopped:
      return "stopped";
  }
  return "?";
}

Reflector::Reflector(size_t kind, const ClusterAccess& access, const ReflectorOptions& options,
                     EventSink& sink)
    : kind_index_(kind),
      kind_(watched_kinds()[kind]),
      access_(access),
      options_(options),
      sink_(sink) {
  if (options_.read_timeout_s <= 0) {
    options_.read_timeout_s = options_.watch_timeout_s + 30;
  }
}

Reflector::~Reflector() { stop(); }

void Reflector::start() {
  thread_ = std::thread([this] { run(); });
}

void Reflector::stop() {
  stop_.store(true);
  {
    std::lock_guard lock(sleep_mutex_);
    if (client_) {
      client_->stop();
    }
  }
  sleep_cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool Reflector::sleep_for(double seconds) {
  std::unique_lock lock(sleep_mutex_);
  sleep_cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return stopping(); });
  return !stopping();
}

void Reflector::set_state(ReflectorState s, const std::string& line) {
  if (s == state_ && line.empty()) {
    return;
  }
  state_ = s;
  sink_.state_changed(kind_index_, s, line);
}

void Reflector::back_off(const std::string& why, std::optional<int> retry_after_s) {
  ++consecutive_failures_;
  ++failures_total_;
  // Exponential, capped, with jitter (a random half to the whole of the step) so that every
  // node of a cluster does not come back to a recovering API server in the same instant.
  static thread_local std::mt19937 rng{std::random_device{}()};
  double step = options_.backoff_initial_s;
  for (uint32_t i = 1; i < consecutive_failures_ && step < options_.backoff_max_s; ++i) {
    step *= 2;
  }
  step = std::min(step, options_.backoff_max_s);
  double delay = std::uniform_real_distribution<double>(step / 2, step)(rng);
  if (retry_after_s && *retry_after_s > 0) {
    delay = std::max(delay, static_cast<double>(*retry_after_s));
  }
  char when[32];
  std::snprintf(when, sizeof when, "%.2f", delay);
  set_state(ReflectorState::BackingOff, kind_.qualified_resource() + ": " + why + "; retrying in " +
                                            when + " s (failure " +
                                            std::to_string(consecutive_failures_) + ")");
  sleep_for(delay);
}

json Reflector::complete(json object) const {
  // List items come without kind and apiVersion; the decoder needs both.
  if (object.is_object()) {
    object["kind"] = kind_.kind;
    object["apiVersion"] = kind_.api_version();
  }
  return object;
}

void Reflector::run() {
  {
    std::lock_guard lock(sleep_mutex_);
    auto created = ApiClient::create(access_, options_.timeouts);
    if (!created) {
      set_state(ReflectorState::Stopped,
                kind_.qualified_resource() + ": " + created.error().to_string());
      return;
    }
    client_ = std::move(created).value();
    if (stopping()) {
      client_->stop();
    }
  }
  bool need_list = true;
  while (!stopping()) {
    if (need_list) {
      if (!list()) {
        continue;  // backed off (or missing, or stopping) inside list()
      }
      need_list = false;
    }
    switch (watch()) {
      case WatchEnd::Ended:
        consecutive_failures_ = 0;
        break;  // the server's timeout: resume from the last resourceVersion at once
      case WatchEnd::Expired:
        ++expired_;
        need_list = true;
        break;
      case WatchEnd::Failed:
        break;  // backed off inside watch(); resume from the last resourceVersion
      case WatchEnd::Stopped:
        break;
    }
  }
  set_state(ReflectorState::Stopped, "");
}

bool Reflector::list() {
  if (state_ != ReflectorState::Missing) {
    // A kind known to be missing stays so (healthy) while it is looked for again.
    set_state(ReflectorState::Listing, "");
  }
  std::vector<json> items;
  std::string continue_token, list_version;
  while (!stopping()) {
    std::string path = kind_.collection_path() + "?limit=" + std::to_string(options_.page_size);
    if (!continue_token.empty()) {
      path += "&continue=" + url_encode(continue_token);
    }
    ApiResponse res = client_->get(path);
    if (stopping()) {
      return false;
    }
    if (res.status == 404 && kind_.optional) {
      // Not served: its CRD is not installed (or was removed). Nothing of it exists. Said
      // once, not at every look.
      if (!reported_missing_) {
        reported_missing_ = true;
        sink_.deliver(
            {kind_index_, KindEvent::Type::Missing, {}, std::chrono::steady_clock::now()});
        set_state(ReflectorState::Missing, kind_.qualified_resource() +
                                               ": not served by the API server (CRD not "
                                               "installed); looking again every " +
                                               std::to_string(options_.missing_recheck_s) + " s");
      }
      state_ = ReflectorState::Missing;
      consecutive_failures_ = 0;
      sleep_for(options_.missing_recheck_s);
      return false;
    }
    if (res.status == 410 && !continue_token.empty()) {
      // The continue token expired between pages: the list starts again.
      ++expired_;
      items.clear();
      continue_token.clear();
      list_version.clear();
      continue;
    }
    if (!res.ok()) {
      back_off("list failed: " + res.describe(), res.retry_after_s);
      return false;
    }
    json page = json::parse(res.body, nullptr, false);
    if (!page.is_object() || !page.contains("items") ||
        !(page["items"].is_array() || page["items"].is_null())) {
      ++bad_events_;
      back_off("list answered something that is not a " + std::string(kind_.kind) +
                   " list: " + res.body.substr(0, 80),
               std::nullopt);
      return false;
    }
    if (list_version.empty()) {
      list_version = resource_version_of(page);
    }
    if (page["items"].is_array()) {
      for (json& item : page["items"]) {
        items.push_back(complete(std::move(item)));
      }
    }
    continue_token.clear();
    if (page["metadata"].is_object() && page["metadata"].contains("continue") &&
        page["metadata"]["continue"].is_string()) {
      continue_token = page["metadata"]["continue"].get<std::string>();
    }
    if (continue_token.empty()) {
      break;
    }
  }
  if (stopping()) {
    return false;
  }
  ++lists_;
  reported_missing_ = false;
  resource_version_ = list_version;
  consecutive_failures_ = 0;
  const size_t count = items.size();
  sink_.deliver(
      {kind_index_, KindEvent::Type::Listed, std::move(items), std::chrono::steady_clock::now()});
  set_state(ReflectorState::Watching, kind_.qualified_resource() + ": listed " +
                                          std::to_string(count) + " at resourceVersion " +
                                          resource_version_);
  return true;
}

Reflector::WatchEnd Reflector::watch() {
  static thread_local std::mt19937 rng{std::random_device{}()};
  // Like client-go, each watch asks for a timeout between 1x and 1.5x the configured one, so
  // the watches of many kinds and nodes do not all restart together.
  const int timeout_s = std::uniform_int_distribution<int>(
      options_.watch_timeout_s, options_.watch_timeout_s + options_.watch_timeout_s / 2)(rng);
  const std::string path =
      kind_.collection_path() +
      "?watch=1&allowWatchBookmarks=true&resourceVersion=" + url_encode(resource_version_) +
      "&timeoutSeconds=" + std::to_string(timeout_s);
  ++watches_;
  std::optional<WatchEnd> verdict;  // set by an event that ends the watch
  std::string problem;
  bool any_event = false;
  const auto started = std::chrono::steady_clock::now();
  auto on_status = [&](int status) {
    if (status == 200 && state_ != ReflectorState::Watching) {
      set_state(ReflectorState::Watching,
                kind_.qualified_resource() + ": watching from " + resource_version_);
    }
  };
  ApiResponse res =
      client_->stream(path, options_.read_timeout_s, on_status, [&](std::string_view line) {
        json event = json::parse(line, nullptr, false);
        if (!event.is_object() || !event.contains("type") || !event["type"].is_string() ||
            !event.contains("object")) {
          ++bad_events_;
          problem = "watch sent a line that is not an event: " + std::string(line.substr(0, 80));
          verdict = WatchEnd::Failed;
          return false;
        }
        const std::string type = event["type"].get<std::string>();
        json& object = event["object"];
        if (type == "ERROR") {
          const int code = status_code_of(object);
          problem = "watch error " + std::to_string(code) + ": " + status_message_of(object);
          verdict = code == 410 ? WatchEnd::Expired : WatchEnd::Failed;
          return false;
        }
        const std::string rv = resource_version_of(object);
        consecutive_failures_ = 0;  // the stream works: the next failure starts the backoff over
        if (type == "BOOKMARK") {
          if (!rv.empty()) {
            resource_version_ = rv;
          }
          return true;
        }
        KindEvent::Type t;
        if (type == "ADDED" || type == "MODIFIED") {
          t = KindEvent::Type::Upsert;
        } else if (type == "DELETED") {
          t = KindEvent::Type::Delete;
        } else {
          ++bad_events_;
          problem = "watch sent an event of unknown type \"" + type + "\"";
          verdict = WatchEnd::Failed;
          return false;
        }
        if (!object.is_object()) {
          ++bad_events_;
          problem = "watch sent a " + type + " event without an object";
          verdict = WatchEnd::Failed;
          return false;
        }
        if (!rv.empty()) {
          resource_version_ = rv;
        }
        any_event = true;
        std::vector<json> objects;
        objects.push_back(complete(std::move(object)));
        sink_.deliver({kind_index_, t, std::move(objects), std::chrono::steady_clock::now()});
        return true;
      });
  if (stopping()) {
    return WatchEnd::Stopped;
  }
  if (verdict == WatchEnd::Expired) {
    set_state(ReflectorState::Listing,
              kind_.qualified_resource() + ": " + problem + "; listing again");
    return WatchEnd::Expired;
  }
  if (verdict == WatchEnd::Failed) {
    back_off(problem, std::nullopt);
    return WatchEnd::Failed;
  }
  if (res.status == 410 || (res.status == 404 && kind_.optional)) {
    set_state(ReflectorState::Listing, kind_.qualified_resource() + ": watch answered " +
                                           res.describe() + "; listing again");
    return WatchEnd::Expired;
  }
  if (!res.ok() || !res.error.empty()) {
    back_off("watch failed: " + res.describe(), res.retry_after_s);
    return WatchEnd::Failed;
  }
  if (!any_event && std::chrono::steady_clock::now() - started < std::chrono::seconds(1)) {
    // A server that closes every watch at once would otherwise be asked again in a loop.
    back_off("watch ended at once without an event", std::nullopt);
    return WatchEnd::Failed;
  }
  if (any_event) {
    consecutive_failures_ = 0;
  }
  return WatchEnd::Ended;
}

}  // namespace palisade::control::kube
