#include "dataplane/conntrack_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "dataplane/hot/conntrack.h"

namespace palisade::dataplane {

namespace {

// The header page's contents. Fixed-width fields only: it is read by the next process,
// which may be a newer build (it then finds another version and starts fresh).
struct Header {
  char magic[16];
  uint32_t version;
  uint32_t entry_bytes;
  uint32_t slots_per_bucket;
  uint32_t capacity;
  uint64_t table_bytes;
  uint64_t tsc_hz;
  uint32_t hash_seed;
  uint32_t reserved;
  char boot_id[48];
  uint64_t checksum;  // of every byte above
};
static_assert(sizeof(Header) <= ConntrackFile::kHeaderBytes);

constexpr char kMagic[16] = "palisade-ct";
// Bump when FlowEntry, the slot header words or the hashing change: an old table is then
// started again rather than misread.
constexpr uint32_t kVersion = 2;  // 2: slots of 128 bytes, an entry and its TCP window

uint64_t checksum_of(const Header& h) {
  // FNV-1a: a torn or scribbled header must not pass; nothing here is adversarial.
  uint64_t x = 1469598103934665603ull;
  const auto* bytes = reinterpret_cast<const unsigned char*>(&h);
  for (size_t i = 0; i < offsetof(Header, checksum); ++i) {
    x = (x ^ bytes[i]) * 1099511628211ull;
  }
  return x;
}

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

policy::Error file_error(const std::string& path, const std::string& what) {
  return policy::Error{
      policy::ErrorCode::Io, path, {}, "conntrack.state_file", what + ": " + std::strerror(errno)};
}

// Why an existing header cannot be kept, or empty when it can.
std::string mismatch(const Header& h, const Header& want) {
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0) {
    return "not a conntrack table";
  }
  if (h.checksum != checksum_of(h)) {
    return "its header is corrupted";
  }
  if (h.version != want.version || h.entry_bytes != want.entry_bytes ||
      h.slots_per_bucket != want.slots_per_bucket) {
    return "written by a build with another table format (version " + std::to_string(h.version) +
           ")";
  }
  if (h.capacity != want.capacity || h.table_bytes != want.table_bytes) {
    return "made for max_flows " + std::to_string(h.capacity) + ", not " +
           std::to_string(want.capacity);
  }
  if (std::strncmp(h.boot_id, want.boot_id, sizeof(h.boot_id)) != 0) {
    return "written before the machine last booted (its timestamps are of another clock)";
  }
  // The TSC rate is measured at each start: a few parts per thousand apart is the same clock.
  if (std::fabs(double(h.tsc_hz) - double(want.tsc_hz)) > double(want.tsc_hz) / 100) {
    return "timed by a clock of another rate";
  }
  return {};
}

}  // namespace

policy::Result<std::unique_ptr<ConntrackFile>> ConntrackFile::open(const std::string& path,
                                                                   uint32_t capacity,
                                                                   uint64_t tsc_hz) {
  std::unique_ptr<ConntrackFile> f(new ConntrackFile());
  f->path_ = path;
  f->fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (f->fd_ < 0) {
    return file_error(path, "cannot open or create it");
  }
  // The previous daemon may still be on its way out: give it a few seconds.
  bool locked = false;
  for (int i = 0; i < 50 && !locked; ++i) {
    locked = ::flock(f->fd_, LOCK_EX | LOCK_NB) == 0;
    if (!locked) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (!locked) {
    return policy::Error{policy::ErrorCode::Io,
                         path,
                         {},
                         "conntrack.state_file",
                         "another process holds it (a second daemon with this node file?)"};
  }
  struct statfs fs {};
  struct stat st {};
  if (::fstatfs(f->fd_, &fs) != 0 || ::fstat(f->fd_, &st) != 0) {
    return file_error(path, "cannot stat it");
  }
  // hugetlbfs maps whole huge pages: its block size is the page size.
  const size_t page = fs.f_bsize > 0 ? static_cast<size_t>(fs.f_bsize) : 4096;
  const size_t table_bytes = Conntrack::memory_size(capacity);
  f->map_bytes_ = (kHeaderBytes + table_bytes + page - 1) / page * page;

  Header want{};
  std::memcpy(want.magic, kMagic, sizeof(kMagic));
  want.version = kVersion;
  want.entry_bytes = sizeof(FlowEntry);
  want.slots_per_bucket = Conntrack::kSlotsPerBucket;
  want.capacity = capacity;
  want.table_bytes = table_bytes;
  want.tsc_hz = tsc_hz;
  const std::string id = boot_id();
  std::strncpy(want.boot_id, id.c_str(), sizeof(want.boot_id) - 1);

  if (static_cast<size_t>(st.st_size) == 0) {
    f->why_fresh_ = "no table in the file yet";
  } else if (static_cast<size_t>(st.st_size) != f->map_bytes_) {
    f->why_fresh_ = "the file holds a table of another size";
  }
  if (!f->why_fresh_.empty() && static_cast<size_t>(st.st_size) != f->map_bytes_) {
    // hugetlbfs cannot grow or shrink a mapped-before file in place: start from nothing.
    if (::ftruncate(f->fd_, 0) != 0 ||
        ::ftruncate(f->fd_, static_cast<off_t>(f->map_bytes_)) != 0) {
      return file_error(path, "cannot size it to " + std::to_string(f->map_bytes_ >> 20) + " MiB");
    }
  }
  f->map_ = ::mmap(nullptr, f->map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd_, 0);
  if (f->map_ == MAP_FAILED) {
    f->map_ = nullptr;
    return file_error(
        path, "cannot map " + std::to_string(f->map_bytes_ >> 20) + " MiB of it (hugepages left?)");
  }
  f->table_ = static_cast<uint8_t*>(f->map_) + kHeaderBytes;
  auto* header = static_cast<Header*>(f->map_);
  if (f->why_fresh_.empty()) {
    f->why_fresh_ = mismatch(*header, want);
  }
  if (f->why_fresh_.empty()) {
    f->kept_ = true;
    f->hash_seed_ = header->hash_seed;
    return f;
  }
  // A seed per table: a pod cannot aim keys at one window of a table it cannot predict.
  want.hash_seed = std::random_device{}();
  want.checksum = checksum_of(want);
  std::memset(f->map_, 0, kHeaderBytes);
  std::memcpy(f->map_, &want, sizeof(want));
  f->hash_seed_ = want.hash_seed;  // the table itself is zeroed by Conntrack
  return f;
}

ConntrackFile::~ConntrackFile() {
  if (map_ != nullptr) {
    ::munmap(map_, map_bytes_);
  }
  if (fd_ >= 0) {
    ::close(fd_);  // releases the lock; the file, and the table in it, stay
  }
}

}  // namespace palisade::dataplane
