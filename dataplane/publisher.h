// Publisher<T>: how the control thread hands new tables to the workers without stopping them.
// Workers read the current pointer at the top of each poll, after reporting quiescent; the
// control thread swaps the pointer and frees an old version only after every worker has
// reported quiescent since the swap (rte_rcu_qsbr). A packet is therefore judged entirely by
// one version, and no worker ever waits for the control thread, nor it for them.
//
// Threads: publish() and reclaim() from the control thread only. Workers call, per poll,
//   rte_rcu_qsbr_quiescent(publisher.qsbr(), id); const T& t = *publisher.current();
// and rte_rcu_qsbr_thread_offline before anything that blocks (STYLE.md, "Publishing").
#pragma once

#include <rte_common.h>
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

namespace palisade::dataplane {

template <typename T>
class Publisher {
 public:
  // max_readers: worker thread ids are 0 .. max_readers - 1.
  explicit Publisher(uint32_t max_readers) {
    const size_t size = rte_rcu_qsbr_get_memsize(max_readers);
    // rte_rcu_qsbr wants cache-line alignment; it needs no EAL memory.
    void* mem = std::aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(size, RTE_CACHE_LINE_SIZE));
    qsbr_ = static_cast<rte_rcu_qsbr*>(mem);
    rte_rcu_qsbr_init(qsbr_, max_readers);
  }
  ~Publisher() {  // the workers have stopped: nothing reads any version any more
    delete current_.load(std::memory_order_relaxed);
    for (const Retired& r : retired_) {
      delete r.tables;
    }
    std::free(qsbr_);
  }
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  rte_rcu_qsbr* qsbr() { return qsbr_; }
  // The version in force; nullptr before the first publish (the node is not ready).
  const T* current() const { return current_.load(std::memory_order_acquire); }

  // Control thread. The old version is retired with the token of this swap, then every
  // retired version whose token all workers have passed is freed, without waiting.
  void publish(std::unique_ptr<const T>&& next) {
    const T* old = current_.exchange(next.release(), std::memory_order_release);
    if (old != nullptr) {
      retired_.push_back({old, rte_rcu_qsbr_start(qsbr_)});
    }
    reclaim();
  }

  // Frees what no worker can still hold; returns how many versions it freed.
  size_t reclaim() {
    size_t freed = 0;
    std::erase_if(retired_, [&](const Retired& r) {
      if (rte_rcu_qsbr_check(qsbr_, r.token, false) == 0) {
        return false;  // some worker has not reported quiescent since the swap
      }
      delete r.tables;
      ++freed;
      return true;
    });
    return freed;
  }
  size_t retired() const { return retired_.size(); }

 private:
  struct Retired {
    const T* tables;
    uint64_t token;
  };
  rte_rcu_qsbr* qsbr_ = nullptr;
  std::atomic<const T*> current_{nullptr};
  std::vector<Retired> retired_;
};

}  // namespace palisade::dataplane
