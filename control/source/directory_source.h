// DirectorySource: the standalone policy source. A directory of manifests (or scenario files,
// whose objects count; or one file) is read whole on each change into an ObjectStore, so the
// store's last-good rule applies across edits: a file edited into an invalid object keeps the
// object's last good version in force; a file deleted deletes its objects. inotify says when
// something changed; changes closer together than the debounce window make one snapshot.
//
// Only files whose bytes changed are decoded and applied again: the store counts every apply
// as a change, and a CompileSession compiles in full what the store says changed, so applying
// unchanged files again would make every edit a full compile. The result is the same as
// applying every file again, problems reported included (see reload()).
//
// Thread: the control thread only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/source/policy_source.h"
#include "policy/error.h"
#include "policy/store.h"

namespace palisade::control {

class DirectorySource : public PolicySource {
 public:
  explicit DirectorySource(std::string path, ReadingRules rules = {})
      : path_(std::move(path)), rules_(rules) {
    store_.set_hold_rejected(rules.hold_rejected);
  }
  ~DirectorySource() override;
  DirectorySource(const DirectorySource&) = delete;
  DirectorySource& operator=(const DirectorySource&) = delete;

  struct Reload {
    size_t files = 0;
    size_t changed = 0;                 // files new or edited since the last reload (or unreadable)
    size_t removed = 0;                 // files gone since the last reload
    bool all_read = false;              // every file applied again: a key is in two files
    size_t objects = 0;                 // in force after the reload
    std::vector<std::string> problems;  // one line per rejected or kept-last-good object
    std::optional<std::string> node;    // a scenario file's node, when one names it
  };
  // Reads every file again and brings the store up to date; decodes and applies only the
  // files whose bytes changed, unless a key is in more than one file (then all of them).
  Reload reload();
  const policy::ObjectStore& store() const override { return store_; }

  // Starts watching (inotify on the directory, or the file's directory).
  policy::Result<bool> watch();

  // PolicySource: files are read whole on each change, so the view is complete whenever
  // the path exists. A path that does not (a typo in the node file, a volume not mounted)
  // is never taken for an empty policy: nothing is compiled from it.
  policy::Result<bool> start() override { return watch(); }
  bool wait_for_change(int timeout_ms, int debounce_ms) override;
  Update refresh() override;
  bool synced() const override;
  bool healthy() const override { return synced(); }
  std::string describe() const override { return "directory " + path_; }
  std::string state() const override;
  bool pending() const override { return false; }

 private:
  // What one file gave at the last reload, kept so that the file need not be decoded and
  // applied again while its bytes stay the same.
  struct FileState {
    std::optional<std::string> bytes;     // nullopt: unreadable, so decoded on every reload
    std::vector<policy::ObjectKey> keys;  // every key its objects named, good or bad; sorted
    std::vector<std::string> problems;    // what applying it reported, in file order
    std::optional<std::string> node;      // a scenario file's node
  };

  // Applies one file's objects, in file order, and keeps what the store reported.
  void apply(std::vector<policy::Decoded>&& decoded, FileState& state);
  static bool key_in_two_files(const std::map<std::string, FileState>& files);
  // Deletes what no file holds any more.
  void remove_unseen();

  std::string path_;
  ReadingRules rules_;
  policy::ObjectStore store_;
  std::map<std::string, FileState> files_;  // by path, as of the last reload
  bool key_in_two_files_ = false;           // at the last reload
  int inotify_fd_ = -1;
  Clock::time_point changed_at_{};  // the first inotify event of the change being collected
};

}  // namespace palisade::control
