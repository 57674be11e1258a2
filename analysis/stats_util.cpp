#include "analysis/stats_util.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace mtmap::analysis {
namespace {
std::vector<double> finite(std::span<const double> v) {
  std::vector<double> out;
  for (double x : v)
    if (std::isfinite(x)) out.push_back(x);
  return out;
}
}  // namespace

double median(std::span<const double> v) {
  std::vector<double> f = finite(v);
  if (f.empty()) return std::numeric_limits<double>::quiet_NaN();
  const size_t h = f.size() / 2;
  std::nth_element(f.begin(), f.begin() + h, f.end());
  if (f.size() % 2) return f[h];
  const double hi = f[h];
  return 0.5 * (hi + *std::max_element(f.begin(), f.begin() + h));
}

double mean(std::span<const double> v) {
  std::vector<double> f = finite(v);
  if (f.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double x : f) s += x;
  return s / f.size();
}

double student_t975(int dof) {
  // Table for small dof (where the normal approximation is poor), then Cornish-Fisher expansion.
  static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                 2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                 2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (dof < 1) return std::numeric_limits<double>::quiet_NaN();
  if (dof <= 30) return table[dof - 1];
  const double z = 1.959963985, n = dof;
  return z + (z * z * z + z) / (4 * n) + (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * n * n);
}

double ci95_half_width(std::span<const double> v) {
  std::vector<double> f = finite(v);
  if (f.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  const double m = mean(f);
  double ss = 0;
  for (double x : f) ss += (x - m) * (x - m);
  const double sd = std::sqrt(ss / (f.size() - 1));
  return student_t975(static_cast<int>(f.size()) - 1) * sd / std::sqrt(double(f.size()));
}

double wrap_deg_180(double d) {
  double r = std::fmod(d, 360.0);
  if (r <= -180) r += 360;
  if (r > 180) r -= 360;
  return r;
}

}  // namespace mtmap::analysis
