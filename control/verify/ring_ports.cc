#include "control/verify/ring_ports.h"

#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

namespace palisade::control {

policy::Result<RingPort> create_ring_port(const std::string& name, uint32_t ring_size) {
  RingPort p;
  p.name = name;
  p.inbound = rte_ring_create((name + "-in").c_str(), ring_size, SOCKET_ID_ANY,
                              RING_F_SP_ENQ | RING_F_SC_DEQ);
  p.outbound = rte_ring_create((name + "-out").c_str(), ring_size, SOCKET_ID_ANY,
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (p.inbound == nullptr || p.outbound == nullptr) {
    return policy::Error{policy::ErrorCode::LimitExceeded,
                         "ring port",
                         name,
                         {},
                         std::string("cannot create its rings: ") + rte_strerror(rte_errno)};
  }
  const int id = rte_eth_from_rings(name.c_str(), &p.inbound, 1, &p.outbound, 1, SOCKET_ID_ANY);
  if (id < 0) {
    return policy::Error{policy::ErrorCode::Unsupported,
                         "ring port",
                         name,
                         {},
                         std::string("cannot create the port: ") + rte_strerror(rte_errno)};
  }
  p.id = static_cast<uint16_t>(id);
  char device[RTE_ETH_NAME_MAX_LEN];
  if (rte_eth_dev_get_name_by_port(p.id, device) == 0) {
    p.device = device;  // the ring PMD names the ethdev itself (net_ring_NAME)
  }
  return p;
}

bool inject(const RingPort& port, rte_mempool* pool, const std::vector<uint8_t>& frame,
            uint32_t segment_bytes) {
  rte_mbuf* head = nullptr;
  size_t at = 0;
  do {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) {
      rte_pktmbuf_free(head);
      return false;
    }
    size_t take = std::min<size_t>(frame.size() - at, rte_pktmbuf_tailroom(m));
    if (segment_bytes != 0) {
      take = std::min<size_t>(take, segment_bytes);
    }
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(take)), frame.data() + at, take);
    at += take;
    if (head == nullptr) {
      head = m;
    } else if (rte_pktmbuf_chain(head, m) != 0) {  // too many segments
      rte_pktmbuf_free(m);
      rte_pktmbuf_free(head);
      return false;
    }
  } while (at < frame.size());
  if (rte_ring_enqueue(port.inbound, head) != 0) {
    rte_pktmbuf_free(head);
    return false;
  }
  return true;
}

std::vector<std::vector<uint8_t>> collect(const RingPort& port) {
  std::vector<std::vector<uint8_t>> frames;
  void* obj = nullptr;
  while (rte_ring_dequeue(port.outbound, &obj) == 0) {
    auto* m = static_cast<rte_mbuf*>(obj);
    std::vector<uint8_t> bytes(rte_pktmbuf_pkt_len(m));
    // rte_pktmbuf_read copies only when the frame is segmented; otherwise it points into m.
    const void* at = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(bytes.size()), bytes.data());
    if (at != bytes.data()) {
      std::memcpy(bytes.data(), at, bytes.size());
    }
    frames.push_back(std::move(bytes));
    rte_pktmbuf_free(m);
  }
  return frames;
}

}  // namespace palisade::control
