// LatencyHistogram: how long something took, in Prometheus's cumulative-bucket form, plus the
// exact recent samples for percentiles (the admin API's p50/p99 of event-to-enforcement).
// Thread: one owner (the control thread).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <vector>

namespace palisade::control {

class LatencyHistogram {
 public:
  // Upper bounds in seconds, from 1 ms to 10 s: the span between a debounce window and a
  // full compile at cluster scale.
  static constexpr std::array<double, 12> kBounds{0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                                  0.1,   0.25,  0.5,   1.0,  2.5,  10.0};
  static constexpr size_t kRecent = 1024;

  void record(double seconds) {
    ++count_;
    sum_ += seconds;
    for (size_t i = 0; i < kBounds.size(); ++i) {
      if (seconds <= kBounds[i]) {
        ++buckets_[i];
      }
    }
    recent_.push_back(seconds);
    if (recent_.size() > kRecent) {
      recent_.pop_front();
    }
  }

  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  // Cumulative: samples at most kBounds[i].
  uint64_t bucket(size_t i) const { return buckets_[i]; }

  // The q-quantile (0..1) of the latest kRecent samples (nearest rank); 0 when none.
  double quantile(double q) const {
    if (recent_.empty()) {
      return 0;
    }
    std::vector<double> sorted(recent_.begin(), recent_.end());
    std::sort(sorted.begin(), sorted.end());
    const size_t rank = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(rank, sorted.size() - 1)];
  }

 private:
  uint64_t count_ = 0;
  double sum_ = 0;
  std::array<uint64_t, kBounds.size()> buckets_{};
  std::deque<double> recent_;
};

}  // namespace palisade::control
