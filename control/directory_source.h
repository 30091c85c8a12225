// DirectorySource: the standalone policy source. A directory of manifests (or scenario files,
// whose objects count; or one file) is read whole on each change into an ObjectStore, so the
// store's last-good rule applies across edits: a file edited into an invalid object keeps the
// object's last good version in force; a file deleted deletes its objects. inotify says when
// something changed; changes closer together than the debounce window make one snapshot.
//
// Thread: the control thread only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "policy/error.h"
#include "policy/store.h"

namespace palisade::control {

class DirectorySource {
 public:
  explicit DirectorySource(std::string path) : path_(std::move(path)) {}
  ~DirectorySource();
  DirectorySource(const DirectorySource&) = delete;
  DirectorySource& operator=(const DirectorySource&) = delete;

  struct Reload {
    size_t files = 0;
    size_t objects = 0;                 // in force after the reload
    std::vector<std::string> problems;  // one line per rejected or kept-last-good object
    std::optional<std::string> node;    // a scenario file's node, when one names it
  };
  // Reads everything again and brings the store up to date.
  Reload reload();
  const policy::ObjectStore& store() const { return store_; }

  // Starts watching (inotify on the directory, or the file's directory).
  policy::Result<bool> watch();
  // Waits up to timeout_ms for a change; after the first event, keeps collecting until
  // debounce_ms pass without one. True when something changed.
  bool wait_for_change(int timeout_ms, int debounce_ms);

 private:
  std::string path_;
  policy::ObjectStore store_;
  int inotify_fd_ = -1;
};

}  // namespace palisade::control
