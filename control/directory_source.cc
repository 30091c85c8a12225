#include "control/directory_source.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "control/file_list.h"
#include "control/scenario.h"
#include "policy/decode.h"

namespace palisade::control {

DirectorySource::~DirectorySource() {
  if (inotify_fd_ >= 0) {
    close(inotify_fd_);
  }
}

DirectorySource::Reload DirectorySource::reload() {
  Reload out;
  std::set<policy::ObjectKey> seen;
  for (const std::string& file : manifest_files(path_)) {
    ++out.files;
    std::vector<policy::Decoded> decoded;
    policy::Result<Scenario> scenario = load_scenario(file);
    if (scenario) {
      decoded = scenario->objects;
      if (!out.node) {
        out.node = scenario->node;
      }
    } else {
      decoded = policy::decode_file(file, policy::DecodeOptions{file, true});
    }
    for (policy::Decoded& d : decoded) {
      if (d.key) {
        seen.insert(*d.key);
      }
      policy::ObjectStore::Report r = store_.apply(std::move(d));
      if (r.error) {
        out.problems.push_back(r.to_string());
      }
    }
  }
  // What no file holds any more is deleted.
  std::vector<policy::ObjectKey> gone;
  for (const policy::Object& o : store_.objects()) {
    if (!seen.contains(o.key)) {
      gone.push_back(o.key);
    }
  }
  for (const auto& [key, error] : store_.invalid()) {
    if (!seen.contains(key)) {
      gone.push_back(key);
    }
  }
  for (const policy::ObjectKey& key : gone) {
    store_.remove(key);
  }
  out.objects = store_.size();
  return out;
}

bool DirectorySource::synced() const {
  std::error_code ec;
  return std::filesystem::exists(path_, ec);
}

std::string DirectorySource::state() const {
  return synced() ? "read" : path_ + " does not exist: waiting for it";
}

PolicySource::Update DirectorySource::refresh() {
  Reload r = reload();
  Update u;
  u.summary = std::to_string(r.files) + " files, " + std::to_string(r.objects) + " objects";
  u.problems = std::move(r.problems);
  u.arrivals.push_back(changed_at_ == Clock::time_point{} ? Clock::now() : changed_at_);
  changed_at_ = {};
  return u;
}

policy::Result<bool> DirectorySource::watch() {
  namespace fs = std::filesystem;
  const fs::path target = fs::is_directory(path_) ? fs::path(path_) : fs::path(path_).parent_path();
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0 ||
      inotify_add_watch(inotify_fd_, target.empty() ? "." : target.c_str(),
                        IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                            IN_MODIFY) < 0) {
    return policy::Error{policy::ErrorCode::Io, path_, {}, {},
                         std::string("cannot watch for changes: ") + std::strerror(errno)};
  }
  return true;
}

namespace {

// Reads every pending event; true when there was at least one.
bool drain(int fd) {
  alignas(inotify_event) char buffer[4096];
  bool any = false;
  while (read(fd, buffer, sizeof(buffer)) > 0) {
    any = true;
  }
  return any;
}

}  // namespace

bool DirectorySource::wait_for_change(int timeout_ms, int debounce_ms) {
  if (inotify_fd_ < 0) {
    return false;
  }
  pollfd p{inotify_fd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0 || !drain(inotify_fd_)) {
    return false;
  }
  changed_at_ = Clock::now();
  // An editor's save is several events, a `cp -r` many: wait for quiet.
  while (poll(&p, 1, debounce_ms) > 0 && drain(inotify_fd_)) {
  }
  return true;
}

}  // namespace palisade::control
