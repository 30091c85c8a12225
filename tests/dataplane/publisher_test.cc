#include "dataplane/publisher.h"

#include <gtest/gtest.h>

#include <thread>

namespace palisade::dataplane {
namespace {

// A version that records its death, so that a reader can tell if it was freed under it.
struct Version {
  uint64_t generation;
  std::atomic<int>* alive;
  explicit Version(uint64_t g, std::atomic<int>* counter) : generation(g), alive(counter) {
    alive->fetch_add(1);
  }
  ~Version() { alive->fetch_sub(1); }
  uint64_t payload[8] = {};
};

TEST(Publisher, NothingIsPublishedBeforeTheFirstVersion) {
  Publisher<Version> p(1);
  EXPECT_EQ(p.current(), nullptr);
}

TEST(Publisher, AnOldVersionWaitsForEveryReaderToPassAQuiescentPoint) {
  std::atomic<int> alive{0};
  Publisher<Version> p(2);
  ASSERT_EQ(rte_rcu_qsbr_thread_register(p.qsbr(), 0), 0);
  ASSERT_EQ(rte_rcu_qsbr_thread_register(p.qsbr(), 1), 0);
  rte_rcu_qsbr_thread_online(p.qsbr(), 0);
  rte_rcu_qsbr_thread_online(p.qsbr(), 1);
  p.publish(std::make_unique<Version>(1, &alive));
  const Version* held = p.current();  // reader 0 holds version 1
  p.publish(std::make_unique<Version>(2, &alive));
  EXPECT_EQ(p.retired(), 1u);
  EXPECT_EQ(alive.load(), 2);
  rte_rcu_qsbr_quiescent(p.qsbr(), 0);  // reader 0 lets go; reader 1 has not reported yet
  EXPECT_EQ(p.reclaim(), 0u);
  EXPECT_EQ(held->generation, 1u);  // still readable: not freed
  rte_rcu_qsbr_quiescent(p.qsbr(), 1);
  EXPECT_EQ(p.reclaim(), 1u);
  EXPECT_EQ(alive.load(), 1);
  EXPECT_EQ(p.current()->generation, 2u);
}

TEST(Publisher, AnOfflineReaderDoesNotHoldBackReclaim) {
  std::atomic<int> alive{0};
  Publisher<Version> p(2);
  rte_rcu_qsbr_thread_register(p.qsbr(), 0);
  rte_rcu_qsbr_thread_register(p.qsbr(), 1);
  rte_rcu_qsbr_thread_online(p.qsbr(), 0);  // reader 1 stays offline (blocked, say)
  p.publish(std::make_unique<Version>(1, &alive));
  p.publish(std::make_unique<Version>(2, &alive));
  rte_rcu_qsbr_quiescent(p.qsbr(), 0);
  EXPECT_EQ(p.reclaim(), 1u);
}

TEST(Publisher, ReadersUnderConstantSwapsNeverSeeAFreedVersion) {
  std::atomic<int> alive{0};
  constexpr int kReaders = 2;
  Publisher<Version> p(kReaders);
  p.publish(std::make_unique<Version>(0, &alive));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> torn{0}, reads{0};
  std::atomic<int> started{0};
  std::vector<std::thread> readers;
  for (int id = 0; id < kReaders; ++id) {
    rte_rcu_qsbr_thread_register(p.qsbr(), id);
    readers.emplace_back([&, id] {
      rte_rcu_qsbr_thread_online(p.qsbr(), id);
      while (!stop.load(std::memory_order_relaxed)) {
        rte_rcu_qsbr_quiescent(p.qsbr(), id);  // top of the poll loop
        const Version* v = p.current();
        const uint64_t g = v->generation;
        for (uint64_t word : v->payload) {  // a whole "burst" against one version
          if (word != g) {
            torn.fetch_add(1);
          }
        }
        if (reads.fetch_add(1, std::memory_order_relaxed) < kReaders) {
          started.fetch_add(1);
        }
      }
      rte_rcu_qsbr_thread_offline(p.qsbr(), id);
    });
  }
  while (started.load() < kReaders) {  // swap only while readers are reading
    std::this_thread::yield();
  }
  const uint64_t reads_before = reads.load();
  for (uint64_t g = 1; g <= 2000; ++g) {
    auto v = std::make_unique<Version>(g, &alive);
    for (uint64_t& word : v->payload) {
      word = g;
    }
    p.publish(std::move(v));
  }
  while (reads.load() <= reads_before + kReaders) {  // readers still read after the swaps
    std::this_thread::yield();
  }
  stop.store(true);
  for (std::thread& t : readers) {
    t.join();
  }
  p.reclaim();
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_EQ(p.retired(), 0u);  // every reader went offline: all old versions are freed
  EXPECT_EQ(alive.load(), 1);  // only the current version remains
}

}  // namespace
}  // namespace palisade::dataplane
