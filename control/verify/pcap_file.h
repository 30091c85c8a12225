// Classic libpcap capture files, read and written without libpcap: what DPDK's net_pcap vdev
// takes (rx_pcap=) and produces (tx_pcap=) in integration tests, and what the traffic
// generator and the verify engine exchange with it. Format: a 24-byte file header (magic,
// version 2.4, snapshot length, link type), then per frame a 16-byte record header
// (seconds, sub-second, captured length, original length) and the captured bytes.
// pcapng is not read.
//
// Not hot path. Thread: any; functions share no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "policy/error.h"

namespace palisade::control {

// libpcap's own limit on one record (MAXIMUM_SNAPLEN); larger is taken as a garbled file.
inline constexpr size_t kPcapMaxRecordBytes = 262144;

// Writes `frames` to `path` (replacing it) as a classic pcap file: magic 0xa1b2c3d4 in
// little-endian order, microsecond timestamps, link type 1 (Ethernet), snapshot length
// kPcapMaxRecordBytes. Record i is stamped i microseconds after the epoch, so the same frames
// always give the same bytes. Each frame is written whole (captured length = original).
// Errors: Io naming the path (cannot create, short write); LimitExceeded naming the frame
// (0-based index, as in `frames`) when one is over kPcapMaxRecordBytes.
policy::Result<bool> write_pcap(const std::string& path,
                                std::span<const std::vector<uint8_t>> frames);

// The captured bytes of every record of `path`, in file order. Reads either byte order, with
// microsecond (0xa1b2c3d4) or nanosecond (0xa1b23c4d) timestamps: DPDK's tx_pcap writes the
// latter. Link type 1 (Ethernet) only. A record captured shorter than its original length
// (snapshot length cut it) gives the bytes captured.
// Errors name the file and, past the file header, the record (1-based) and where it starts:
//   "out.pcap: record 3 at byte 1056: truncated: 98 captured bytes announced, 40 present"
// Io: cannot open or read. Syntax: not a pcap file, or truncated or garbled. Unsupported:
// pcapng, or a link type other than Ethernet.
policy::Result<std::vector<std::vector<uint8_t>>> read_pcap(const std::string& path);

}  // namespace palisade::control
