#include "control/verify/pcap_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "control/verify/packet_craft.h"

namespace palisade::control {
namespace {

using Bytes = std::vector<uint8_t>;

std::string temp_path(const std::string& name) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "pcap_file_test_" + test->name() + "_" + name;
}

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void write_bytes(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// A pcap file built by hand, in either byte order, to read what write_pcap never writes.
struct RawPcap {
  bool big_endian = false;
  uint32_t magic = 0xa1b2c3d4;
  uint32_t link = 1;
  Bytes bytes;

  void put32(uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      const int shift = big_endian ? 24 - 8 * i : 8 * i;
      bytes.push_back(static_cast<uint8_t>(v >> shift));
    }
  }
  void put16(uint16_t v) {
    bytes.push_back(static_cast<uint8_t>(big_endian ? v >> 8 : v));
    bytes.push_back(static_cast<uint8_t>(big_endian ? v : v >> 8));
  }
  RawPcap& header() {
    put32(magic);
    put16(2);
    put16(4);
    put32(0);
    put32(0);
    put32(65535);
    put32(link);
    return *this;
  }
  RawPcap& record(const Bytes& data, uint32_t sub_second = 0, uint32_t orig_len = 0) {
    put32(1700000000);
    put32(sub_second);
    put32(static_cast<uint32_t>(data.size()));
    put32(orig_len != 0 ? orig_len : static_cast<uint32_t>(data.size()));
    bytes.insert(bytes.end(), data.begin(), data.end());
    return *this;
  }
};

std::vector<Bytes> sample_frames() {
  FrameSpec tcp;
  tcp.src = policy::IpAddr::parse("10.0.0.1").value();
  tcp.dst = policy::IpAddr::parse("10.0.0.2").value();
  tcp.sport = 40000;
  tcp.dport = 80;
  FrameSpec big = tcp;
  big.proto = policy::ipproto::kUdp;
  big.payload = 9000;
  return {craft_frame(tcp), craft_frame(reply_of(tcp)), craft_frame(big), Bytes{}, Bytes(60, 0xee)};
}

TEST(PcapFile, WriteThenReadGivesTheSameFrames) {
  const std::string path = temp_path("round.pcap");
  const std::vector<Bytes> frames = sample_frames();
  ASSERT_TRUE(write_pcap(path, frames).has_value());
  const auto back = read_pcap(path);
  ASSERT_TRUE(back.has_value()) << back.error().to_string();
  EXPECT_EQ(*back, frames);
}

TEST(PcapFile, NoFramesIsAHeaderOnly) {
  const std::string path = temp_path("empty.pcap");
  ASSERT_TRUE(write_pcap(path, {}).has_value());
  EXPECT_EQ(read_bytes(path).size(), 24u);
  const auto back = read_pcap(path);
  ASSERT_TRUE(back.has_value()) << back.error().to_string();
  EXPECT_TRUE(back->empty());
}

TEST(PcapFile, WritesClassicMicrosecondEthernetLittleEndian) {
  const std::string path = temp_path("layout.pcap");
  ASSERT_TRUE(write_pcap(path, std::vector<Bytes>{Bytes(3, 1), Bytes(5, 2)}).has_value());
  const Bytes b = read_bytes(path);
  ASSERT_EQ(b.size(), 24u + 16 + 3 + 16 + 5);
  EXPECT_EQ(Bytes(b.begin(), b.begin() + 8), Bytes({0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0}));
  EXPECT_EQ(Bytes(b.begin() + 16, b.begin() + 24), Bytes({0, 0, 4, 0, 1, 0, 0, 0}));  // 262144, 1
  // Second record: 0 s, 1 us, 5 captured, 5 original.
  EXPECT_EQ(Bytes(b.begin() + 43, b.begin() + 59),
            Bytes({0, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 5, 0, 0, 0}));
  // Deterministic: the same frames give the same file.
  const std::string again = temp_path("again.pcap");
  ASSERT_TRUE(write_pcap(again, std::vector<Bytes>{Bytes(3, 1), Bytes(5, 2)}).has_value());
  EXPECT_EQ(read_bytes(again), b);
}

TEST(PcapFile, ReadsBothByteOrdersAndBothTimestampPrecisions) {
  for (const bool big_endian : {false, true}) {
    for (const uint32_t magic : {0xa1b2c3d4u, 0xa1b23c4du}) {
      SCOPED_TRACE(std::string(big_endian ? "big-endian" : "little-endian") + " magic " +
                   std::to_string(magic));
      RawPcap raw;
      raw.big_endian = big_endian;
      raw.magic = magic;
      // 999999999 ns is valid only with the nanosecond magic, so use less for both.
      raw.header().record(Bytes{1, 2, 3}, 999999).record(Bytes(70, 7)).record(Bytes{});
      const std::string path = temp_path("order.pcap");
      write_bytes(path, raw.bytes);
      const auto frames = read_pcap(path);
      ASSERT_TRUE(frames.has_value()) << frames.error().to_string();
      EXPECT_EQ(*frames, (std::vector<Bytes>{Bytes{1, 2, 3}, Bytes(70, 7), Bytes{}}));
    }
  }
}

TEST(PcapFile, CapturedShorterThanOriginalGivesTheCapturedBytes) {
  RawPcap raw;
  raw.header().record(Bytes(64, 3), 0, 1514);
  const std::string path = temp_path("snap.pcap");
  write_bytes(path, raw.bytes);
  const auto frames = read_pcap(path);
  ASSERT_TRUE(frames.has_value()) << frames.error().to_string();
  EXPECT_EQ(*frames, std::vector<Bytes>{Bytes(64, 3)});
}

// The message names the file and the record, so a failing integration test says where.
void expect_error(const Bytes& file, policy::ErrorCode code, const std::string& want) {
  const std::string path = temp_path("bad.pcap");
  write_bytes(path, file);
  const auto r = read_pcap(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, code);
  EXPECT_EQ(r.error().to_string(), path + ": " + want);
}

TEST(PcapFile, TruncatedRecordDataNamesFileAndRecord) {
  const std::string path = temp_path("cut.pcap");
  ASSERT_TRUE(
      write_pcap(path, std::vector<Bytes>{Bytes(10, 1), Bytes(20, 2), Bytes(30, 3)}).has_value());
  Bytes b = read_bytes(path);
  b.resize(b.size() - 5);
  // Record 3 starts after the file header and two records: 24 + 26 + 36.
  expect_error(b, policy::ErrorCode::Syntax,
               "record 3 at byte 86: truncated: 30 captured bytes announced, 25 present");
}

TEST(PcapFile, TruncatedRecordHeader) {
  const std::string path = temp_path("cut.pcap");
  ASSERT_TRUE(write_pcap(path, std::vector<Bytes>{Bytes(10, 1), Bytes(20, 2)}).has_value());
  Bytes b = read_bytes(path);
  b.resize(24 + 26 + 7);
  expect_error(b, policy::ErrorCode::Syntax,
               "record 2 at byte 50: truncated: 7 bytes, shorter than the 16-byte record header");
}

TEST(PcapFile, TruncatedFileHeader) {
  expect_error(Bytes{0xd4, 0xc3, 0xb2, 0xa1, 2, 0}, policy::ErrorCode::Syntax,
               "truncated: 6 bytes, shorter than the 24-byte pcap file header");
  expect_error(Bytes{}, policy::ErrorCode::Syntax,
               "truncated: 0 bytes, shorter than the 24-byte pcap file header");
}

TEST(PcapFile, GarbledFilesAreRefused) {
  RawPcap not_pcap;
  not_pcap.magic = 0x12345678;
  expect_error(not_pcap.header().bytes, policy::ErrorCode::Syntax,
               "not a pcap file: magic 0x12345678");

  RawPcap pcapng;
  pcapng.magic = 0x0a0d0d0a;
  expect_error(pcapng.header().bytes, policy::ErrorCode::Unsupported,
               "a pcapng file; only classic pcap is read (editcap -F pcap converts)");

  RawPcap raw_ip;
  raw_ip.link = 101;
  expect_error(raw_ip.header().bytes, policy::ErrorCode::Unsupported,
               "link type 101; only 1 (Ethernet) is read");

  RawPcap huge;
  huge.header().record(Bytes(4, 0));
  huge.bytes[24 + 8] = 0xff;  // captured length, little-endian: 0x00ff00ff
  huge.bytes[24 + 10] = 0xff;
  expect_error(huge.bytes, policy::ErrorCode::Syntax,
               "record 1 at byte 24: garbled: 16711935 captured bytes announced, over the limit "
               "of 262144");

  RawPcap late;
  late.big_endian = true;
  late.header().record(Bytes(4, 0)).record(Bytes(4, 0), 1000000);
  expect_error(late.bytes, policy::ErrorCode::Syntax,
               "record 2 at byte 44: garbled: sub-second timestamp 1000000 us is a second or "
               "more");
}

TEST(PcapFile, MissingFileIsAnIoErrorNamingIt) {
  const std::string path = temp_path("does-not-exist.pcap");
  const auto r = read_pcap(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, policy::ErrorCode::Io);
  EXPECT_EQ(r.error().to_string().rfind(path + ": cannot open: ", 0), 0u) << r.error().to_string();
}

TEST(PcapFile, UnwritablePathIsAnIoErrorNamingIt) {
  const std::string path = temp_path("no-such-dir") + "/out.pcap";
  const auto r = write_pcap(path, sample_frames());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, policy::ErrorCode::Io);
  EXPECT_EQ(r.error().source, path);
}

TEST(PcapFile, FrameOverTheRecordLimitIsRefusedByIndex) {
  const std::string path = temp_path("big.pcap");
  const auto r = write_pcap(path, std::vector<Bytes>{Bytes(10), Bytes(kPcapMaxRecordBytes + 1)});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, policy::ErrorCode::LimitExceeded);
  EXPECT_EQ(r.error().object, "frame 1");
}

}  // namespace
}  // namespace palisade::control
