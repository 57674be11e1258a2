#pragma once
// Positions of a channels-last convolution grouped by the filter taps they read real data with.
// Near the borders some taps read only zero padding, and which ones depends on the position: at
// the quickstart's layer4 (4×4 outputs) 44 % of the (h, w) taps do. A block of the register
// kernel computes every tap on its list for each of its positions, so a block that mixes border
// and interior positions computes their union. Grouping positions whose taps are the same per
// axis makes each block's list exactly its positions' taps, as oneDNN skips them per position.
//
// Per axis, the indices fall into a few classes (first, interior, last; times the stride phases
// of an input gradient); a class of positions is one class per axis, and its members are the
// product n × indices₀ × indices₁ × indices₂, enumerated without any per-position table.
#include <array>
#include <cstdint>
#include <vector>

namespace mtmap::cpu {

// The taps of one axis an index reads data with: taps phase + stride·j for j in [lo, hi) (phase 0,
// stride 1 for a forward pass: taps [lo, hi)).
struct AxisWindow {
  int64_t phase = 0, lo = 0, hi = 0;
  bool operator==(const AxisWindow&) const = default;
};

struct AxisClass {
  AxisWindow window;
  std::vector<int64_t> indices;  // ascending
};

// The classes of an axis of `extent` indices; window_of(i) gives index i's window.
template <class WindowOf>
std::vector<AxisClass> axis_classes(int64_t extent, WindowOf window_of) {
  std::vector<AxisClass> out;
  for (int64_t i = 0; i < extent; ++i) {
    const AxisWindow w = window_of(i);
    size_t c = 0;
    while (c < out.size() && !(out[c].window == w)) ++c;
    if (c == out.size()) out.push_back({w, {}});
    out[c].indices.push_back(i);
  }
  return out;
}

// Classes of positions (n, i₀, i₁, i₂) over N samples and three axes' classes.
class PositionClasses {
 public:
  PositionClasses(int64_t samples, std::array<std::vector<AxisClass>, 3> axes)
      : samples_(samples), axes_(std::move(axes)) {}

  int64_t count() const { return int64_t(axes_[0].size() * axes_[1].size() * axes_[2].size()); }
  // The per-axis classes of class c.
  std::array<const AxisClass*, 3> axes_of(int64_t c) const {
    const int64_t n1 = int64_t(axes_[1].size()), n2 = int64_t(axes_[2].size());
    return {&axes_[0][size_t(c / (n1 * n2))], &axes_[1][size_t((c / n2) % n1)], &axes_[2][size_t(c % n2)]};
  }
  int64_t size(int64_t c) const {
    const auto a = axes_of(c);
    return samples_ * int64_t(a[0]->indices.size() * a[1]->indices.size() * a[2]->indices.size());
  }
  // Member j of class c (in (n, i₀, i₁, i₂) order): its sample and indices.
  void member(const std::array<const AxisClass*, 3>& a, int64_t j, int64_t* n, int64_t idx[3]) const {
    for (int k = 2; k >= 0; --k) {
      const int64_t len = int64_t(a[size_t(k)]->indices.size());
      idx[k] = a[size_t(k)]->indices[size_t(j % len)];
      j /= len;
    }
    *n = j;
  }

 private:
  int64_t samples_;
  std::array<std::vector<AxisClass>, 3> axes_;
};

}  // namespace mtmap::cpu
