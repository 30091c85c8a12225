// The conntrack table kept in a file across processes (dataplane/conntrack_file.h) and
// checked slot by slot when a process attaches to it (Conntrack::recover).
#include "dataplane/conntrack_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "dataplane/hot/conntrack.h"
#include "policy/ipproto.h"

namespace palisade::dataplane {
namespace {

using policy::ipproto::kTcp;
using policy::ipproto::kUdp;
constexpr uint64_t kHz = 1000;
constexpr uint32_t kCapacity = 1024;
constexpr uint8_t kSyn = 0x02, kAck = 0x10;

FlowKey key(uint8_t proto, uint8_t host, uint16_t sport) {
  FlowKey k;
  k.family = 4;
  k.proto = proto;
  k.sport = sport;
  k.dport = 80;
  const uint8_t src[4] = {10, 1, 0, host}, dst[4] = {10, 2, 0, 1};
  std::memcpy(k.src, src, 4);
  std::memcpy(k.dst, dst, 4);
  return k;
}

class ConntrackFileTest : public ::testing::Test {
 protected:
  std::filesystem::path path_ =
      std::filesystem::temp_directory_path() / ("palisade-ct-test-" + std::to_string(::getpid()));
  void TearDown() override { std::filesystem::remove(path_); }

  std::unique_ptr<ConntrackFile> open(uint32_t capacity = kCapacity, uint64_t hz = kHz) {
    auto f = ConntrackFile::open(path_.string(), capacity, hz);
    EXPECT_TRUE(f) << f.error().to_string();
    return f ? std::move(f).value() : nullptr;
  }
  static std::unique_ptr<Conntrack> table(const ConntrackFile& f, uint32_t capacity = kCapacity) {
    return std::make_unique<Conntrack>(
        f.table(), capacity, ConntrackTimeouts{}, kHz, f.hash_seed(),
        f.kept() ? Conntrack::Memory::Kept : Conntrack::Memory::Fresh);
  }
  // A first process: a fresh table holding n TCP connections (established) and one UDP flow.
  std::vector<uint32_t> first_process(uint32_t n) {
    auto f = open();
    EXPECT_FALSE(f->kept());
    EXPECT_EQ(f->why_fresh(), "no table in the file yet");
    auto ct = table(*f);
    std::vector<uint32_t> slots;
    for (uint32_t i = 0; i < n; ++i) {
      slots.push_back(*ct->insert(key(kTcp, uint8_t(i), 40000), 7, 1, 2, kSyn, 100));
      ct->seen(slots.back(), FlowDir::Reply, kSyn | kAck, 100);
    }
    slots.push_back(*ct->insert(key(kUdp, 200, 5353), 7, 1, 2, 0, 100));
    return slots;  // the table stays in the file when f goes
  }
};

TEST_F(ConntrackFileTest, AnotherProcessKeepsTheConnectionsAndJudgesThemAgain) {
  const std::vector<uint32_t> slots = first_process(5);
  auto f = open();
  ASSERT_TRUE(f->kept()) << f->why_fresh();
  auto ct = table(*f);
  const Conntrack::Recovery r = ct->recover();
  EXPECT_EQ(r.kept, 6u);
  EXPECT_EQ(r.unfinished + r.inconsistent, 0u);
  for (uint32_t i = 0; i < 5; ++i) {
    const FlowKey k = key(kTcp, uint8_t(i), 40000);
    const FlowKey* keys[] = {&k};
    FlowMatch m;
    ct->lookup(keys, 1, &m, 200);
    ASSERT_EQ(m.index, slots[i]);
    EXPECT_EQ(m.dir, FlowDir::Original);
    EXPECT_EQ(ct->entry(m.index).state(), CtState::Established);
    EXPECT_EQ(ct->entry(m.index).generation(), Conntrack::kUnjudged);
  }
  EXPECT_EQ(ct->live(), 6u);
}

TEST_F(ConntrackFileTest, ATableOfAnotherSizeStartsEmpty) {
  first_process(3);
  auto f = open(2 * kCapacity);
  EXPECT_FALSE(f->kept());
  EXPECT_EQ(f->why_fresh(), "the file holds a table of another size");
  auto ct = table(*f, 2 * kCapacity);
  EXPECT_EQ(ct->live(), 0u);
}

TEST_F(ConntrackFileTest, AClockOfAnotherRateStartsEmpty) {
  first_process(3);
  auto f = open(kCapacity, 2 * kHz);
  EXPECT_FALSE(f->kept());
  EXPECT_EQ(f->why_fresh(), "timed by a clock of another rate");
  EXPECT_EQ(table(*f)->live(), 0u);
}

TEST_F(ConntrackFileTest, ACorruptedHeaderStartsEmpty) {
  first_process(3);
  {
    std::fstream file(path_, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(20);  // inside the header, past the magic
    file.put('\x7f');
  }
  auto f = open();
  EXPECT_FALSE(f->kept());
  EXPECT_EQ(f->why_fresh(), "its header is corrupted");
  EXPECT_EQ(table(*f)->live(), 0u);
}

TEST_F(ConntrackFileTest, NotATableStartsEmpty) {
  first_process(1);
  {
    std::fstream file(path_, std::ios::in | std::ios::out | std::ios::binary);
    file.write("hello", 5);
  }
  auto f = open();
  EXPECT_FALSE(f->kept());
  EXPECT_EQ(f->why_fresh(), "not a conntrack table");
}

TEST_F(ConntrackFileTest, SlotsCaughtMidUpdateOrCorruptedAreDroppedAndTheRestKept) {
  const std::vector<uint32_t> slots = first_process(5);
  {
    auto f = open();
    ASSERT_TRUE(f->kept());
    auto* headers = static_cast<uint32_t*>(f->table());
    headers[slots[0]] = (headers[slots[0]] & ~7u) | 1;  // Claimed: mid-insert
    headers[slots[1]] = (headers[slots[1]] & ~7u) | 4;  // Dying: mid-removal
    auto ct = table(*f);
    // A scribbled key no longer hashes to its signature and bucket.
    auto& entry = const_cast<FlowEntry&>(ct->entry(slots[2]));
    reinterpret_cast<uint8_t*>(&entry)[3] ^= 0xff;
    // A state no entry can have.
    reinterpret_cast<uint8_t*>(&const_cast<FlowEntry&>(ct->entry(slots[3])))[61] = 9;
  }
  auto f = open();
  auto ct = table(*f);
  const Conntrack::Recovery r = ct->recover();
  EXPECT_EQ(r.unfinished, 2u);
  EXPECT_EQ(r.inconsistent, 2u);
  EXPECT_EQ(r.kept, 2u);  // the fifth TCP connection and the UDP flow
  EXPECT_EQ(ct->live(), 2u);
  const FlowKey k = key(kTcp, 4, 40000);
  const FlowKey* keys[] = {&k};
  FlowMatch m;
  ct->lookup(keys, 1, &m, 200);
  EXPECT_EQ(m.index, slots[4]);
  // The dropped slots take new connections again.
  EXPECT_TRUE(ct->insert(key(kTcp, 0, 40000), 1, 1, 2, kSyn, 300).has_value());
}

TEST_F(ConntrackFileTest, AnUnwritableFileIsAClearError) {
  auto f = ConntrackFile::open("/proc/palisade-no-such-dir/ct", kCapacity, kHz);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().field, "conntrack.state_file");
  EXPECT_NE(f.error().to_string().find("cannot open or create it"), std::string::npos)
      << f.error().to_string();
}

}  // namespace
}  // namespace palisade::dataplane
