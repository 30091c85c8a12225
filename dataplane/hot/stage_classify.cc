// stage::classify: what policy says of each packet to judge. The connection's original
// direction (a rejudged reply is turned around), the source's egress key and the
// destination's ingress key for whichever side is an endpoint judged here, one rte_acl call
// per family for the whole burst, and the tier walk of each result.
#include <cstring>

#include "dataplane/hot/stages.h"

namespace palisade::dataplane::stage {

namespace {

template <typename Key>
void fill(Key& key, const PacketState& p, uint32_t set, size_t address_bytes) {
  key.proto = p.parsed.proto;
  key.set_id = rte_cpu_to_be_32(set);
  std::memcpy(&key.src, p.c_src, address_bytes);
  std::memcpy(&key.dst, p.c_dst, address_bytes);
  key.sport = rte_cpu_to_be_16(p.c_sport);
  key.dport = rte_cpu_to_be_16(p.c_dport);
}

}  // namespace

void classify(Burst& b, const Generation& g) noexcept {
  ClassifyWork& w = b.classify;
  w.n4 = w.n6 = w.n_pending = 0;
  for (uint32_t j = 0; j < b.n_judged; ++j) {
    PacketState& p = b.packets[b.judged[j]];
    b.count(Counter::Classified);
    p.egress_judged = p.ingress_judged = false;
    p.egress = p.ingress = Outcome{};
    // On a rejudged reply the sides swap: the connection's source is this packet's dst.
    const ParsedPacket& pp = p.parsed;
    const bool reply = p.match.index != kNoFlow && p.match.dir == FlowDir::Reply;
    p.c_src = reply ? pp.dst : pp.src;
    p.c_dst = reply ? pp.src : pp.dst;
    p.c_sport = reply ? pp.dport : pp.sport;
    p.c_dport = reply ? pp.sport : pp.dport;
    if (reply && ipproto::is_icmp(pp.proto) && (pp.sport == 0 || pp.sport == 129)) {
      p.c_sport = pp.sport == 0 ? 8 : 128;  // judged as the echo request it answers
      p.c_dport = 0;
    }
    const EndpointSets& c_src_sets = reply ? p.dst_sets : p.src_sets;
    const EndpointSets& c_dst_sets = reply ? p.src_sets : p.dst_sets;
    const bool v4 = pp.kind == L3Kind::Ipv4;
    for (const bool egress : {true, false}) {
      const uint32_t set = egress ? c_src_sets.egress : c_dst_sets.ingress;
      if (set == 0) {
        continue;  // that side is not an endpoint judged here
      }
      const uint32_t slot = v4 ? w.n4++ : w.n6++;
      if (v4) {
        fill(w.keys4[slot], p, set, 4);
        w.ptr4[slot] = reinterpret_cast<const uint8_t*>(&w.keys4[slot]);
      } else {
        fill(w.keys6[slot], p, set, 16);
        w.ptr6[slot] = reinterpret_cast<const uint8_t*>(&w.keys6[slot]);
      }
      w.pending[w.n_pending++] = {&p, egress, static_cast<uint8_t>(v4 ? 4 : 6), slot, set};
    }
  }
  if (w.n4 != 0) {
    dataplane::classify(g.tables, 4, w.ptr4.data(), w.results4.data(), w.n4);
  }
  if (w.n6 != 0) {
    dataplane::classify(g.tables, 6, w.ptr6.data(), w.results6.data(), w.n6);
  }
  const uint32_t cats = g.tables.categories;
  for (uint32_t j = 0; j < w.n_pending; ++j) {
    const ClassifyWork::Pending& q = w.pending[j];
    const uint32_t* results =
        (q.family == 4 ? w.results4.data() : w.results6.data()) + size_t{q.slot} * cats;
    const Outcome o = walk(g.walk, q.set, results);
    if (q.egress) {
      q.p->egress = o;
      q.p->egress_judged = true;
    } else {
      q.p->ingress = o;
      q.p->ingress_judged = true;
    }
  }
}

}  // namespace palisade::dataplane::stage
