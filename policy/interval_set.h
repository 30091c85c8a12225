// IntervalSet<T>: a set of unsigned integers kept as sorted, disjoint, non-adjacent closed
// intervals. Union, intersection and difference are exact, which is what lets the compiler
// lower `except`, `notNets`, `notPorts`, `notProtocol` and `notSelector` without
// approximation. Values run over [0, max]; the complement is taken within that range.
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

namespace palisade::policy {

template <typename T>
class IntervalSet {
 public:
  struct Interval {
    T first, last;  // inclusive
    friend bool operator==(const Interval&, const Interval&) = default;
  };

  IntervalSet() = default;
  explicit IntervalSet(T max) : max_(max) {}
  static IntervalSet all(T max) {
    IntervalSet s(max);
    s.items_.push_back({T(0), max});
    return s;
  }

  void add(T first, T last) {
    items_.push_back({first, last});
    normalize();
  }
  // Many at once: one sort instead of one per interval.
  void add_all(const std::vector<Interval>& intervals) {
    items_.insert(items_.end(), intervals.begin(), intervals.end());
    normalize();
  }
  bool empty() const { return items_.empty(); }
  bool is_all() const {
    return items_.size() == 1 && items_[0].first == 0 && items_[0].last == max_;
  }
  bool contains(T v) const {
    return std::ranges::any_of(items_,
                               [&](const Interval& i) { return i.first <= v && v <= i.last; });
  }
  const std::vector<Interval>& intervals() const { return items_; }
  T max() const { return max_; }

  IntervalSet unite(const IntervalSet& o) const {
    IntervalSet out(max_);
    out.items_ = items_;
    out.items_.insert(out.items_.end(), o.items_.begin(), o.items_.end());
    out.normalize();
    return out;
  }

  IntervalSet intersect(const IntervalSet& o) const {
    IntervalSet out(max_);
    size_t i = 0, j = 0;
    while (i < items_.size() && j < o.items_.size()) {
      T lo = std::max(items_[i].first, o.items_[j].first);
      T hi = std::min(items_[i].last, o.items_[j].last);
      if (lo <= hi) {
        out.items_.push_back({lo, hi});
      }
      (items_[i].last < o.items_[j].last) ? ++i : ++j;
    }
    return out;
  }

  IntervalSet complement() const {
    IntervalSet out(max_);
    T next = 0;
    bool open = true;  // whether [next, ...] is still to be emitted
    for (const Interval& i : items_) {
      if (i.first > next) {
        out.items_.push_back({next, T(i.first - 1)});
      }
      if (i.last == max_) {
        open = false;
        break;
      }
      next = T(i.last + 1);
    }
    if (open) {
      out.items_.push_back({next, max_});
    }
    return out;
  }

  IntervalSet subtract(const IntervalSet& o) const { return intersect(o.complement()); }

  friend bool operator==(const IntervalSet&, const IntervalSet&) = default;

 private:
  void normalize() {
    std::ranges::sort(items_,
                      [](const Interval& a, const Interval& b) { return a.first < b.first; });
    std::vector<Interval> merged;
    for (const Interval& i : items_) {
      // Merge overlapping and adjacent intervals (last + 1 == first), minding overflow at max.
      if (!merged.empty() && (merged.back().last == max_ || i.first <= T(merged.back().last + 1))) {
        merged.back().last = std::max(merged.back().last, i.last);
      } else {
        merged.push_back(i);
      }
    }
    items_ = std::move(merged);
  }

  T max_ = 0;
  std::vector<Interval> items_;
};

}  // namespace palisade::policy
