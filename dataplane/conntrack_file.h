// ConntrackFile: the conntrack table's memory in a named file that outlives the process (on
// hugetlbfs where the node has hugepages, on tmpfs otherwise), so that a daemon restarted by
// an upgrade or after a crash finds its connections where it left them. Calico keeps them in
// the kernel's conntrack and Cilium in pinned BPF maps; a DPDK process has only its memory,
// so the table lives in a file mapped shared, and the next process maps the same file.
//
// Why a file and not a DPDK memzone: a memzone outlives its process only while a secondary
// process, or the primary, keeps the hugepage files (and the EAL's runtime directory) alive;
// a restarted primary with the same file prefix reinitialises them. A file of our own, with
// a header of our own, is checked on attach and kept or started again on our terms.
//
// Layout: one 4 KiB header page, then Conntrack::memory_size(capacity) bytes of table. The
// header says what the table is (format version, entry size, bucket width, capacity, hash
// seed, TSC rate, boot id) and carries a checksum of itself. A header that does not match
// what this process would build (another version, another max_flows, a reboot since, a
// corrupted header) starts the table empty and says why; a matching one is kept, and
// Conntrack::recover() then checks every slot.
//
// One process at a time: the file is locked (flock) while mapped. A second daemon waits for
// the lock a few seconds (the old one may still be exiting) and then fails with a clear
// error rather than share a table with a live process.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "policy/error.h"

namespace palisade::dataplane {

class ConntrackFile {
 public:
  // Maps `path` for a table of `capacity` connections: kept when its header matches,
  // otherwise made anew (zeroed, with a new random hash seed).
  static policy::Result<std::unique_ptr<ConntrackFile>> open(const std::string& path,
                                                             uint32_t capacity, uint64_t tsc_hz);
  ~ConntrackFile();
  ConntrackFile(const ConntrackFile&) = delete;
  ConntrackFile& operator=(const ConntrackFile&) = delete;

  void* table() const { return table_; }  // Conntrack::memory_size(capacity) bytes, page-aligned
  bool kept() const { return kept_; }     // false: a fresh, zeroed table
  uint32_t hash_seed() const { return hash_seed_; }
  const std::string& path() const { return path_; }
  // Why the table was not kept ("no file yet", "made for max_flows 65536", ...); empty when
  // kept.
  const std::string& why_fresh() const { return why_fresh_; }

  static constexpr size_t kHeaderBytes = 4096;

 private:
  ConntrackFile() = default;
  std::string path_;
  int fd_ = -1;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  void* table_ = nullptr;
  bool kept_ = false;
  uint32_t hash_seed_ = 0;
  std::string why_fresh_;
};

}  // namespace palisade::dataplane
