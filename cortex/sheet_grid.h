#pragma once
// A bucket grid over unit positions, so a window's members are found by visiting a few cells
// instead of every unit. Internal to losses/.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace mtmap::cortex::detail {

class SheetGrid {
 public:
  // xy: U interleaved (x, y) pairs; cell: the bucket side (the window width works well).
  SheetGrid(const double* xy, int64_t units, double cell) : xy_(xy), cell_(cell) {
    x0_ = y0_ = INFINITY;
    double x1 = -INFINITY, y1 = -INFINITY;
    for (int64_t u = 0; u < units; ++u) {
      x0_ = std::min(x0_, xy[2 * u]), y0_ = std::min(y0_, xy[2 * u + 1]);
      x1 = std::max(x1, xy[2 * u]), y1 = std::max(y1, xy[2 * u + 1]);
    }
    nx_ = std::max<int64_t>(1, int64_t((x1 - x0_) / cell) + 1);
    ny_ = std::max<int64_t>(1, int64_t((y1 - y0_) / cell) + 1);
    start_.assign(size_t(nx_ * ny_ + 1), 0);
    std::vector<int64_t> cell_of(static_cast<size_t>(units));
    for (int64_t u = 0; u < units; ++u) {
      cell_of[size_t(u)] = cy(xy[2 * u + 1]) * nx_ + cx(xy[2 * u]);
      ++start_[size_t(cell_of[size_t(u)] + 1)];
    }
    for (size_t i = 1; i < start_.size(); ++i) start_[i] += start_[i - 1];
    items_.resize(size_t(units));
    where_.resize(size_t(units));
    std::vector<int64_t> fill(start_.begin(), start_.end() - 1);
    for (int64_t u = 0; u < units; ++u) {
      where_[size_t(u)] = fill[size_t(cell_of[size_t(u)])]++;
      items_[size_t(where_[size_t(u)])] = u;
    }
  }

  // After units a and b exchanged positions: each takes the other's bucket slot. Calls for
  // disjoint unit pairs touch disjoint slots, so threads working on disjoint windows may call it.
  void swap_units(int64_t a, int64_t b) {
    std::swap(items_[size_t(where_[size_t(a)])], items_[size_t(where_[size_t(b)])]);
    std::swap(where_[size_t(a)], where_[size_t(b)]);
  }

  // Members of [cx − h, cx + h] × [cy − h, cy + h], edges included, appended to out (unsorted).
  void members(double cxm, double cym, double h, std::vector<int64_t>& out) const {
    int64_t ax = cx(cxm - h), bx = cx(cxm + h), ay = cy(cym - h), by = cy(cym + h);
    for (int64_t gy = ay; gy <= by; ++gy)
      for (int64_t gx = ax; gx <= bx; ++gx) {
        int64_t c = gy * nx_ + gx;
        for (int64_t i = start_[size_t(c)]; i < start_[size_t(c + 1)]; ++i) {
          int64_t u = items_[size_t(i)];
          double x = xy_[2 * u], y = xy_[2 * u + 1];
          if (x >= cxm - h && x <= cxm + h && y >= cym - h && y <= cym + h) out.push_back(u);
        }
      }
  }

 private:
  int64_t cx(double x) const { return std::clamp<int64_t>(int64_t(std::floor((x - x0_) / cell_)), 0, nx_ - 1); }
  int64_t cy(double y) const { return std::clamp<int64_t>(int64_t(std::floor((y - y0_) / cell_)), 0, ny_ - 1); }
  const double* xy_;
  double cell_, x0_, y0_;
  int64_t nx_ = 1, ny_ = 1;
  std::vector<int64_t> start_, items_, where_;
};

// A stream of 64-bit random words from Philox under one key (a derived seed).
struct PhiloxStream {
  uint64_t seed;
  uint64_t counter = 0;
  uint64_t next();
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
  // Uniform integer in [0, n), n > 0 (multiply-shift; bias < 2^-32 for n < 2^32).
  int64_t below(int64_t n) { return int64_t((unsigned __int128)(next()) * uint64_t(n) >> 64); }
};

}  // namespace mtmap::cortex::detail
