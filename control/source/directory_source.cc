#include "control/source/directory_source.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "control/source/file_list.h"
#include "control/source/scenario.h"
#include "policy/decode.h"

namespace palisade::control {

DirectorySource::~DirectorySource() {
  if (inotify_fd_ >= 0) {
    close(inotify_fd_);
  }
}

namespace {

// A file's objects, in file order, and its node when it is a scenario file.
struct FileObjects {
  std::vector<policy::Decoded> decoded;
  std::optional<std::string> node;
};

FileObjects decode(const std::string& file, const ReadingRules& rules) {
  const policy::DecodeOptions options = rules.decode_options(file, true);
  policy::Result<Scenario> scenario = load_scenario(file, options);
  if (scenario) {
    return {std::move(scenario->objects), scenario->node};
  }
  return {policy::decode_file(file, options), std::nullopt};
}

std::vector<policy::ObjectKey> keys_of(const std::vector<policy::Decoded>& decoded) {
  std::vector<policy::ObjectKey> keys;
  for (const policy::Decoded& d : decoded) {
    if (d.key) {
      keys.push_back(*d.key);
    }
  }
  std::ranges::sort(keys);
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());  // a key twice in one file
  return keys;
}

}  // namespace

DirectorySource::Reload DirectorySource::reload() {
  Reload out;
  const std::vector<std::string> order = manifest_files(path_);
  std::map<std::string, FileState> next;
  std::map<std::string, FileObjects> fresh;  // the files to apply, decoded
  const auto decode_into = [&](const std::string& file, FileState& state) {
    FileObjects& objects = fresh[file] = decode(file, rules_);
    state.keys = keys_of(objects.decoded);
  };
  for (const std::string& file : order) {
    // The bytes are read before the file is decoded: an edit landing in between leaves the
    // remembered bytes older than what was applied, so the next reload (which that edit's
    // inotify event brings) decodes the file again instead of skipping it.
    FileState& state = next[file];
    state.bytes = read_file(file);  // nullopt: the decoder says why
    auto last = files_.find(file);
    if (state.bytes && last != files_.end() && last->second.bytes == state.bytes) {
      state = std::move(last->second);
      continue;
    }
    ++out.changed;
    decode_into(file, state);
  }
  // When a key is in two files, the file applied last wins, and skipping an unchanged file
  // can change which one that is: an edit of the first file would win over the unchanged
  // second, and the second deleted would leave its version in force instead of the first's.
  // Such a directory is applied whole, as every reload once did, while the sharing lasts and
  // once more after it ends (to settle the winner); keys shared across files are rare enough
  // that working out which files share which keys is not worth its risk.
  out.all_read = key_in_two_files_ || key_in_two_files(next);
  if (out.all_read) {
    for (auto& [file, state] : next) {
      if (!fresh.contains(file)) {
        decode_into(file, state);
      }
    }
  }
  for (const std::string& file : order) {
    FileState& state = next[file];
    if (auto it = fresh.find(file); it != fresh.end()) {
      apply(std::move(it->second.decoded), state);
      state.node = std::move(it->second.node);
    }
    // An unchanged file's problems are reported again, as applying it again would report
    // them: with no key in two files, its objects' last good versions are its own.
    out.problems.insert(out.problems.end(), state.problems.begin(), state.problems.end());
    if (!out.node) {
      out.node = state.node;
    }
  }
  out.files = order.size();
  for (const auto& [file, state] : files_) {
    out.removed += next.contains(file) ? 0 : 1;
  }
  files_ = std::move(next);
  key_in_two_files_ = key_in_two_files(files_);
  remove_unseen();
  out.objects = store_.size();
  return out;
}

void DirectorySource::apply(std::vector<policy::Decoded>&& decoded, FileState& state) {
  state.problems.clear();
  for (policy::Decoded& d : decoded) {
    policy::ObjectStore::Report r = store_.apply(std::move(d));
    if (r.error) {
      state.problems.push_back(r.to_string());
    }
  }
}

bool DirectorySource::key_in_two_files(const std::map<std::string, FileState>& files) {
  std::set<policy::ObjectKey> seen;
  for (const auto& [file, state] : files) {
    for (const policy::ObjectKey& key : state.keys) {
      if (!seen.insert(key).second) {
        return true;  // each file's keys are unique, so this one is in another file
      }
    }
  }
  return false;
}

void DirectorySource::remove_unseen() {
  std::set<policy::ObjectKey> seen;
  for (const auto& [file, state] : files_) {
    seen.insert(state.keys.begin(), state.keys.end());
  }
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
}

bool DirectorySource::synced() const {
  std::error_code ec;
  return std::filesystem::exists(path_, ec);
}

std::string DirectorySource::state() const {
  return synced() ? "read" : path_ + " does not exist: waiting for it";
}

namespace {

// "12 files (1 changed), 340 objects": how many files were decoded again says whether the
// reload was the incremental one it should be.
std::string summary_of(const DirectorySource::Reload& r) {
  std::string files = std::to_string(r.files) + " files (" + std::to_string(r.changed) + " changed";
  if (r.removed > 0) {
    files += ", " + std::to_string(r.removed) + " removed";
  }
  if (r.all_read) {
    files += "; all applied again: an object is in more than one file";
  }
  return files + "), " + std::to_string(r.objects) + " objects";
}

}  // namespace

PolicySource::Update DirectorySource::refresh() {
  const uint64_t before = store_.version();
  Reload r = reload();
  Update u;
  // A save of the same bytes, or a touch, wakes the source but changes no object: nothing
  // to publish (a new generation would re-judge every connection for nothing). An edit to
  // an invalid version changes nothing in force either; its problem is still reported.
  u.changed = store_.version() != before;
  u.summary = summary_of(r);
  u.problems = std::move(r.problems);
  u.arrivals.push_back(changed_at_ == Clock::time_point{} ? Clock::now() : changed_at_);
  changed_at_ = {};
  return u;
}

policy::Result<bool> DirectorySource::watch() {
  namespace fs = std::filesystem;
  const fs::path target = fs::is_directory(path_) ? fs::path(path_) : fs::path(path_).parent_path();
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0 || inotify_add_watch(inotify_fd_, target.empty() ? "." : target.c_str(),
                                           IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
                                               IN_CREATE | IN_DELETE | IN_MODIFY) < 0) {
    return policy::Error{policy::ErrorCode::Io,
                         path_,
                         {},
                         {},
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
