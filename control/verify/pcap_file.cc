#include "control/verify/pcap_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

namespace palisade::control {

namespace {

using policy::Error;
using policy::ErrorCode;

constexpr uint32_t kMagicMicro = 0xa1b2c3d4, kMagicNano = 0xa1b23c4d;
constexpr uint32_t kMagicPcapng = 0x0a0d0d0a;  // a section header block, either byte order
constexpr uint32_t kLinkEthernet = 1;
constexpr size_t kFileHeaderBytes = 24, kRecordHeaderBytes = 16;

void put_le32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
}
void put_le16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}

uint32_t load32(const uint8_t* p, bool swapped) {
  const uint32_t le =
      uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
  const uint32_t be =
      uint32_t{p[3]} | (uint32_t{p[2]} << 8) | (uint32_t{p[1]} << 16) | (uint32_t{p[0]} << 24);
  return swapped ? be : le;
}
Error io_error(const std::string& path, const std::string& what) {
  return Error{ErrorCode::Io, path, "", "", what + ": " + std::strerror(errno)};
}

Error file_error(ErrorCode code, const std::string& path, const std::string& message) {
  return Error{code, path, "", "", message};
}

Error record_error(const std::string& path, size_t record, size_t offset,
                   const std::string& message) {
  return Error{ErrorCode::Syntax, path,
               "record " + std::to_string(record) + " at byte " + std::to_string(offset), "",
               message};
}

// The byte order of a file from its magic, read as little-endian: false when the file is
// little-endian. Sets `nano` for nanosecond timestamps. nullopt: not a classic pcap file.
std::optional<bool> byte_order(uint32_t magic_le, bool& nano) {
  for (const bool swapped : {false, true}) {
    const uint32_t m = swapped ? __builtin_bswap32(magic_le) : magic_le;
    if (m == kMagicMicro || m == kMagicNano) {
      nano = m == kMagicNano;
      return swapped;
    }
  }
  return std::nullopt;
}

}  // namespace

policy::Result<bool> write_pcap(const std::string& path,
                                std::span<const std::vector<uint8_t>> frames) {
  std::vector<uint8_t> out;
  put_le32(out, kMagicMicro);
  put_le16(out, 2);  // version 2.4
  put_le16(out, 4);
  put_le32(out, 0);  // thiszone: timestamps are UTC
  put_le32(out, 0);  // sigfigs
  put_le32(out, kPcapMaxRecordBytes);
  put_le32(out, kLinkEthernet);
  for (size_t i = 0; i < frames.size(); ++i) {
    const std::vector<uint8_t>& f = frames[i];
    if (f.size() > kPcapMaxRecordBytes) {
      return Error{ErrorCode::LimitExceeded, path, "frame " + std::to_string(i), "",
                   std::to_string(f.size()) + " bytes, over the " +
                       std::to_string(kPcapMaxRecordBytes) + " a pcap record may hold"};
    }
    put_le32(out, static_cast<uint32_t>(i / 1000000));  // seconds
    put_le32(out, static_cast<uint32_t>(i % 1000000));  // microseconds
    put_le32(out, static_cast<uint32_t>(f.size()));
    put_le32(out, static_cast<uint32_t>(f.size()));
    out.insert(out.end(), f.begin(), f.end());
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) {
    return io_error(path, "cannot create");
  }
  file.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
  file.close();
  if (!file) {
    return io_error(path, "cannot write");
  }
  return true;
}

policy::Result<std::vector<std::vector<uint8_t>>> read_pcap(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return io_error(path, "cannot open");
  }
  const std::vector<uint8_t> data((std::istreambuf_iterator<char>(file)),
                                  std::istreambuf_iterator<char>());
  if (file.bad()) {
    return io_error(path, "cannot read");
  }
  if (data.size() < kFileHeaderBytes) {
    return file_error(ErrorCode::Syntax, path,
                      "truncated: " + std::to_string(data.size()) +
                          " bytes, shorter than the 24-byte pcap file header");
  }
  const uint32_t magic = load32(data.data(), false);
  if (magic == kMagicPcapng) {
    return file_error(ErrorCode::Unsupported, path,
                      "a pcapng file; only classic pcap is read (editcap -F pcap converts)");
  }
  bool nano = false;
  const std::optional<bool> swapped = byte_order(magic, nano);
  if (!swapped) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", magic);
    return file_error(ErrorCode::Syntax, path, std::string("not a pcap file: magic ") + hex);
  }
  const uint32_t link = load32(data.data() + 20, *swapped);
  // The top bits of the link-type field may carry an FCS length (pcap-savefile(5)).
  if ((link & 0x0fffffff) != kLinkEthernet) {
    return file_error(ErrorCode::Unsupported, path,
                      "link type " + std::to_string(link) + "; only 1 (Ethernet) is read");
  }
  std::vector<std::vector<uint8_t>> frames;
  size_t pos = kFileHeaderBytes;
  for (size_t record = 1; pos < data.size(); ++record) {
    const size_t remain = data.size() - pos;
    if (remain < kRecordHeaderBytes) {
      return record_error(path, record, pos,
                          "truncated: " + std::to_string(remain) +
                              " bytes, shorter than the 16-byte record header");
    }
    const uint8_t* h = data.data() + pos;
    const uint32_t sub_second = load32(h + 4, *swapped);
    const uint32_t captured = load32(h + 8, *swapped);
    if (sub_second >= (nano ? 1000000000u : 1000000u)) {
      return record_error(path, record, pos,
                          "garbled: sub-second timestamp " + std::to_string(sub_second) +
                              (nano ? " ns" : " us") + " is a second or more");
    }
    if (captured > kPcapMaxRecordBytes) {
      return record_error(path, record, pos,
                          "garbled: " + std::to_string(captured) +
                              " captured bytes announced, over the limit of " +
                              std::to_string(kPcapMaxRecordBytes));
    }
    if (captured > remain - kRecordHeaderBytes) {
      return record_error(path, record, pos,
                          "truncated: " + std::to_string(captured) + " captured bytes announced, " +
                              std::to_string(remain - kRecordHeaderBytes) + " present");
    }
    const auto begin = data.begin() + static_cast<std::ptrdiff_t>(pos + kRecordHeaderBytes);
    frames.emplace_back(begin, begin + captured);
    pos += kRecordHeaderBytes + captured;
  }
  return frames;
}

}  // namespace palisade::control
