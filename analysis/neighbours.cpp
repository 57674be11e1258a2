#include "analysis/neighbours.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace mtmap::analysis {

PointIndex::PointIndex(std::span<const double> x, std::span<const double> y) : x_(x), y_(y) {
  const auto [xa, xb] = std::minmax_element(x.begin(), x.end());
  const auto [ya, yb] = std::minmax_element(y.begin(), y.end());
  x0_ = *xa, y0_ = *ya;
  const double w = std::max(*xb - *xa, 1e-12), h = std::max(*yb - *ya, 1e-12);
  // About two points per bucket.
  cell_ = std::max(std::sqrt(2.0 * w * h / std::max<size_t>(1, x.size())), 1e-9);
  nx_ = std::min(4096, static_cast<int>(w / cell_) + 1);
  ny_ = std::min(4096, static_cast<int>(h / cell_) + 1);
  cell_ = std::max(w / nx_, h / ny_) * (1 + 1e-9);
  nx_ = static_cast<int>(w / cell_) + 1;
  ny_ = static_cast<int>(h / cell_) + 1;
  start_.assign(size_t(nx_) * ny_ + 1, 0);
  std::vector<int> bucket(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    bucket[i] = cell_of(y[i], y0_, ny_) * nx_ + cell_of(x[i], x0_, nx_);
    ++start_[bucket[i] + 1];
  }
  for (size_t b = 1; b < start_.size(); ++b) start_[b] += start_[b - 1];
  items_.resize(x.size());
  std::vector<int> fill(start_.begin(), start_.end() - 1);
  for (size_t i = 0; i < x.size(); ++i) items_[fill[bucket[i]]++] = static_cast<int>(i);
}

int PointIndex::cell_of(double v, double lo, int n) const {
  return std::clamp(static_cast<int>((v - lo) / cell_), 0, n - 1);
}

void PointIndex::within(double x, double y, double r, int skip, std::vector<int>& out) const {
  out.clear();
  const int cx0 = cell_of(x - r, x0_, nx_), cx1 = cell_of(x + r, x0_, nx_);
  const int cy0 = cell_of(y - r, y0_, ny_), cy1 = cell_of(y + r, y0_, ny_);
  for (int cy = cy0; cy <= cy1; ++cy)
    for (int cx = cx0; cx <= cx1; ++cx) {
      const int b = cy * nx_ + cx;
      for (int j = start_[b]; j < start_[b + 1]; ++j) {
        const int p = items_[j];
        if (p != skip && std::hypot(x_[p] - x, y_[p] - y) <= r) out.push_back(p);
      }
    }
}

std::vector<int> PointIndex::nearest(int i, int k) const {
  const int n = static_cast<int>(x_.size());
  k = std::min(k, n - 1);
  if (k <= 0) return {};
  // Grow the search radius until it holds k points; the k nearest then lie within it.
  double r = cell_;
  std::vector<int> cand;
  for (;;) {
    within(x_[i], y_[i], r, i, cand);
    if (static_cast<int>(cand.size()) >= k) break;
    r *= 2;
  }
  std::vector<std::pair<double, int>> d;
  for (int p : cand) d.emplace_back(std::hypot(x_[p] - x_[i], y_[p] - y_[i]), p);
  std::partial_sort(d.begin(), d.begin() + k, d.end());
  std::vector<int> out;
  for (int j = 0; j < k; ++j) out.push_back(d[j].second);
  return out;
}

}  // namespace mtmap::analysis
