#include "dataplane/lpm_pool.h"

#include <rte_errno.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <unordered_set>

namespace palisade::dataplane {

namespace {

// Two tables alternate in steady state (the generation in force and the next one); a few
// more cover generations published faster than they are retired.
constexpr size_t kPoolSize = 4;
constexpr uint32_t kMaxNextHop = (1u << 24) - 1;  // rte_lpm's next hops are 24 bits

std::atomic<uint64_t> g_serial{0};  // rte_lpm names must be unique

struct Pool {
  std::mutex mutex;
  std::vector<std::unique_ptr<PooledLpm>> tables;
};
Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: the EAL may be gone at exit
  return *p;
}

size_t distinct_slash24(const std::vector<uint32_t>& addresses) {
  std::unordered_set<uint32_t> s;
  for (uint32_t a : addresses) {
    s.insert(a >> 8);
  }
  return s.size();
}

std::unique_ptr<PooledLpm> create(size_t addresses, size_t slash24) {
  auto t = std::make_unique<PooledLpm>();
  // Headroom, so that the table serves later generations that grew.
  t->max_rules = static_cast<uint32_t>(std::max<size_t>(2 * addresses, 1024));
  t->tbl8s = static_cast<uint32_t>(std::max<size_t>(2 * slash24 + 1, 256));
  rte_lpm_config config{};
  config.max_rules = t->max_rules;
  config.number_tbl8s = t->tbl8s;
  const std::string name = "palisade-ep4-" + std::to_string(g_serial.fetch_add(1));
  t->lpm = rte_lpm_create(name.c_str(), SOCKET_ID_ANY, &config);
  return t->lpm != nullptr ? std::move(t) : nullptr;
}

// Makes `t` route exactly `addresses`. False when a route does not fit (the table is then in
// no defined state and must be dropped).
bool route_exactly(PooledLpm& t, const std::vector<uint32_t>& addresses) {
  const std::unordered_set<uint32_t> wanted(addresses.begin(), addresses.end());
  size_t gone = 0;
  for (const auto& [address, slot] : t.slot_of) {
    gone += wanted.contains(address) ? 0 : 1;
  }
  // rte_lpm_delete searches the rules of a depth linearly: many deletes cost more than
  // starting over (which zeroes tbl24 once, without a page fault on a table in use before).
  if (gone > 64 && gone > addresses.size() / 4) {
    rte_lpm_delete_all(t.lpm);
    t.slot_of.clear();
    t.free_slots.clear();
    t.slots = 0;
  }
  for (auto it = t.slot_of.begin(); it != t.slot_of.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    if (rte_lpm_delete(t.lpm, it->first, 32) != 0) {
      return false;
    }
    t.free_slots.push_back(it->second);
    it = t.slot_of.erase(it);
  }
  for (uint32_t address : addresses) {
    if (t.slot_of.contains(address)) {
      continue;
    }
    uint32_t slot = t.slots;
    if (!t.free_slots.empty()) {
      slot = t.free_slots.back();
      t.free_slots.pop_back();
    } else if (t.slots++ > kMaxNextHop) {
      rte_errno = ENOSPC;
      return false;
    }
    if (const int rc = rte_lpm_add(t.lpm, address, 32, slot); rc != 0) {
      rte_errno = -rc;
      return false;
    }
    t.slot_of.emplace(address, slot);
  }
  return true;
}

}  // namespace

PooledLpm::~PooledLpm() { rte_lpm_free(lpm); }

std::unique_ptr<PooledLpm> take_lpm(const std::vector<uint32_t>& addresses) {
  const size_t slash24 = distinct_slash24(addresses);
  std::unique_ptr<PooledLpm> t;
  {
    Pool& p = pool();
    std::lock_guard lock(p.mutex);
    if (!p.tables.empty()) {
      t = std::move(p.tables.back());
      p.tables.pop_back();
    }
  }
  if (t != nullptr && (t->max_rules < addresses.size() || t->tbl8s < slash24 + 1 ||
                       !route_exactly(*t, addresses))) {
    t.reset();  // too small for this generation: a bigger one replaces it
  }
  if (t == nullptr) {
    t = create(addresses.size(), slash24);
    if (t == nullptr || !route_exactly(*t, addresses)) {
      return nullptr;
    }
  }
  return t;
}

void give_back_lpm(std::unique_ptr<PooledLpm> lpm) {
  if (lpm == nullptr) {
    return;
  }
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  if (p.tables.size() < kPoolSize) {
    p.tables.push_back(std::move(lpm));
  }
  // else freed on return: the pool is full
}

}  // namespace palisade::dataplane
