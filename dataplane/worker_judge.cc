// Stage 4 of Worker::process: classify new and rejudged connections against the current
// generation's tables, then insert, refresh or cut them.
#include <cstring>

#include "dataplane/worker_burst.h"

namespace palisade::dataplane {

// 4. Classify what must be judged: the source's egress and the destination's ingress,
//    one classify call per family for the whole burst; then insert, refresh or cut.
uint32_t Worker::judge(const Ruleset& rs, uint16_t in_port, uint8_t* live, uint32_t n,
                       const uint8_t* judged, uint32_t n_judged, uint64_t now,
                       Tally& tally) noexcept {
  Packet* burst = burst_.get();
  AclKeyV4 keys4[kBurst * 2];
  AclKeyV6 keys6[kBurst * 2];
  const uint8_t* ptr4[kBurst * 2];
  const uint8_t* ptr6[kBurst * 2];
  uint32_t results4[kBurst * 2 * policy::kMaxCategories];
  uint32_t results6[kBurst * 2 * policy::kMaxCategories];
  struct Pending {
    Packet* p;
    bool egress;
    uint8_t family;
    uint32_t slot;
    uint32_t set;
  } pending[kBurst * 2];
  uint32_t n4 = 0, n6 = 0, np = 0;
  for (uint32_t j = 0; j < n_judged; ++j) {
    Packet& p = burst[judged[j]];
    tally.add(Counter::Classified);
    p.egress_judged = p.ingress_judged = false;
    p.egress = p.ingress = policy::CompiledPolicy::Outcome{};
    // On a rejudged reply the sides swap: the connection's source is this packet's dst.
    const ParsedPacket& pp = p.parsed;
    const bool reply = p.match.index != kNoFlow && p.match.dir == FlowDir::Reply;
    p.c_src = reply ? pp.dst : pp.src;
    p.c_dst = reply ? pp.src : pp.dst;
    p.c_sport = reply ? pp.dport : pp.sport;
    p.c_dport = reply ? pp.sport : pp.dport;
    if (reply && is_icmp(pp.proto) && (pp.sport == 0 || pp.sport == 129)) {
      p.c_sport = pp.sport == 0 ? 8 : 128;  // judged as the echo request it answers
      p.c_dport = 0;
    }
    const EndpointSets& c_src_sets = reply ? p.dst_sets : p.src_sets;
    const EndpointSets& c_dst_sets = reply ? p.src_sets : p.dst_sets;
    for (const bool egress : {true, false}) {
      const uint32_t set = egress ? c_src_sets.egress : c_dst_sets.ingress;
      if (set == 0) {
        continue;
      }
      const bool v4 = pp.kind == L3Kind::Ipv4;
      const uint32_t slot = v4 ? n4++ : n6++;
      if (v4) {
        AclKeyV4& key = keys4[slot];
        key.proto = pp.proto;
        key.set_id = rte_cpu_to_be_32(set);
        std::memcpy(&key.src, p.c_src, 4);
        std::memcpy(&key.dst, p.c_dst, 4);
        key.sport = rte_cpu_to_be_16(p.c_sport);
        key.dport = rte_cpu_to_be_16(p.c_dport);
        ptr4[slot] = reinterpret_cast<const uint8_t*>(&key);
      } else {
        AclKeyV6& key = keys6[slot];
        key.proto = pp.proto;
        key.set_id = rte_cpu_to_be_32(set);
        std::memcpy(key.src, p.c_src, 16);
        std::memcpy(key.dst, p.c_dst, 16);
        key.sport = rte_cpu_to_be_16(p.c_sport);
        key.dport = rte_cpu_to_be_16(p.c_dport);
        ptr6[slot] = reinterpret_cast<const uint8_t*>(&key);
      }
      pending[np++] = {&p, egress, static_cast<uint8_t>(v4 ? 4 : 6), slot, set};
    }
  }
  const uint32_t cats = rs.tables->num_categories();
  if (n4 != 0) {
    rs.tables->classify(4, ptr4, results4, n4);
  }
  if (n6 != 0) {
    rs.tables->classify(6, ptr6, results6, n6);
  }
  for (uint32_t j = 0; j < np; ++j) {
    const Pending& q = pending[j];
    const uint32_t* results = (q.family == 4 ? results4 : results6) + q.slot * cats;
    const policy::CompiledPolicy::Outcome o = rs.policy.walk(q.set, results);
    if (q.egress) {
      q.p->egress = o;
      q.p->egress_judged = true;
    } else {
      q.p->ingress = o;
      q.p->ingress_judged = true;
    }
  }
  Conntrack& ct = *setup_.conntrack;
  // A new connection's entry is a cold line: prefetch every one the burst will write before
  // the first insert, so that their misses overlap.
  for (uint32_t j = 0; j < n_judged; ++j) {
    Packet& p = burst[judged[j]];
    p.allowed = (!p.egress_judged || p.egress.allow) && (!p.ingress_judged || p.ingress.allow);
    if (p.allowed && p.match.index == kNoFlow) {
      ct.prefetch_insert(p.probe);
    }
  }
  const uint32_t worker = setup_.id;
  const auto generation = static_cast<uint32_t>(rs.generation);
  for (uint32_t j = 0; j < n_judged; ++j) {
    Packet& p = burst[judged[j]];
    if (p.egress_judged && p.egress.verdict != 0) {
      rs.counters->hit(worker, p.egress.verdict);
    }
    if (p.ingress_judged && p.ingress.verdict != 0) {
      rs.counters->hit(worker, p.ingress.verdict);
    }
    log_event(rs, p, in_port);
    bool dropped = false;
    if (p.match.index != kNoFlow) {  // rejudged
      if (p.allowed) {
        ct.set_generation(p.match.index, generation, p.egress.verdict, p.ingress.verdict);
        ct.seen(p.match.index, p.match.dir, p.parsed.tcp_flags, now);
      } else {
        ct.remove(p.match.index);
        drop(p.m, Drop::ConnectionCut);
        dropped = true;
        if (p.parsed.fragment) {
          fragments_->on_first(p.parsed, false, now);
        }
      }
    } else if (!p.allowed) {
      tally.add(Counter::Denied);
      drop(p.m, Drop::PolicyDenied);
      dropped = true;
      if (p.parsed.fragment) {
        fragments_->on_first(p.parsed, false, now);  // its later fragments are denied too
      }
    } else {
      tally.add(Counter::Allowed);
      const uint32_t slot = ct.insert_probed(p.key, p.probe, generation, p.egress.verdict,
                                             p.ingress.verdict, p.parsed.tcp_flags, now);
      if (slot == kNoFlow) {
        drop(p.m, Drop::ConntrackFull);
        dropped = true;
      } else {
        flow_cache_->fill(p.cache_hash, slot, p.probe);
      }
    }
    if (dropped) {
      p.m = nullptr;
    }
  }
  if (event_count_ != 0) {
    flush_events();
  }
  uint32_t kept = 0;
  for (uint32_t j = 0; j < n; ++j) {
    if (burst[live[j]].m != nullptr) {
      live[kept++] = live[j];
    }
  }
  return kept;
}

}  // namespace palisade::dataplane
