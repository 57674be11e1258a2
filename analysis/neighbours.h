#pragma once
// Uniform-bucket spatial index over 2-D points: k nearest neighbours and radius queries without an
// all-pairs scan (50,000 units on the MT sheet).
#include <span>
#include <vector>

namespace mtmap::analysis {

class PointIndex {
 public:
  PointIndex(std::span<const double> x, std::span<const double> y);
  // The k nearest other points of point i, nearest first (fewer when there are fewer points).
  std::vector<int> nearest(int i, int k) const;
  // Indices of points within distance r of (x, y), excluding `skip`.
  void within(double x, double y, double r, int skip, std::vector<int>& out) const;

 private:
  int cell_of(double v, double lo, int n) const;
  std::span<const double> x_, y_;
  double x0_ = 0, y0_ = 0, cell_ = 1;
  int nx_ = 1, ny_ = 1;
  std::vector<int> start_, items_;  // CSR buckets, (ny·nx + 1) offsets
};

}  // namespace mtmap::analysis
