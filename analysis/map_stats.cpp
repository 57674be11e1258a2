#include "analysis/map_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "analysis/neighbours.h"

namespace mtmap::analysis {
namespace {

double abs_delta(double a, double b, double period) {
  double d = std::fmod(std::abs(a - b), period);
  return std::min(d, period - d);
}

}  // namespace

DeltaHistogram delta_histogram(const MapUnits& u, const StatsConfig& cfg, double period) {
  check_map_units(u, "delta histogram");
  const int n = static_cast<int>(u.size());
  const PointIndex index(u.x_mm, u.y_mm);
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < n; ++i)
    for (int j : index.nearest(i, cfg.delta_neighbours)) pairs.emplace_back(i, j);
  DeltaHistogram h;
  const int bins = cfg.delta_bins;
  const double top = period / 2;
  for (int b = 0; b <= bins; ++b) h.edges_deg.push_back(top * b / bins);
  auto histogram = [&](const std::vector<double>& theta, std::vector<double>& frac, double& mean) {
    frac.assign(bins, 0.0);
    double total = 0;
    for (auto [i, j] : pairs) {
      const double d = abs_delta(theta[i], theta[j], period);
      frac[std::min(bins - 1, static_cast<int>(d / top * bins))] += 1;
      total += d;
    }
    for (double& f : frac) f /= std::max<size_t>(1, pairs.size());
    mean = pairs.empty() ? 0 : total / pairs.size();
  };
  histogram(u.theta_deg, h.fraction, h.mean_delta_deg);
  std::mt19937_64 rng(cfg.seed);
  std::vector<double> shuffled = u.theta_deg, frac;
  h.fraction_shuffled.assign(bins, 0.0);
  for (int s = 0; s < cfg.shuffle_repeats; ++s) {
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    double m = 0;
    histogram(shuffled, frac, m);
    for (int b = 0; b < bins; ++b) h.fraction_shuffled[b] += frac[b] / cfg.shuffle_repeats;
    h.mean_delta_shuffled_deg += m / cfg.shuffle_repeats;
  }
  h.pairs = static_cast<int>(pairs.size());
  return h;
}

SmoothnessCurve smoothness(const MapUnits& u, const StatsConfig& cfg, double period) {
  check_map_units(u, "smoothness");
  const int n = static_cast<int>(u.size());
  const PointIndex index(u.x_mm, u.y_mm);
  std::mt19937_64 rng(cfg.seed + 1);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  order.resize(std::min(n, cfg.smoothness_sample_units));
  const int bins = cfg.smoothness_bins;
  const double rmax = cfg.smoothness_max_distance_mm;
  // Pairs (reference unit, partner, distance bin) are drawn once and reused for every shuffle.
  std::vector<int> ref, partner, bin;
  std::vector<int> near;
  for (int i : order) {
    index.within(u.x_mm[i], u.y_mm[i], rmax, i, near);
    for (int j : near) {
      const double d = std::hypot(u.x_mm[j] - u.x_mm[i], u.y_mm[j] - u.y_mm[i]);
      ref.push_back(i), partner.push_back(j), bin.push_back(std::min(bins - 1, static_cast<int>(d / rmax * bins)));
    }
  }
  SmoothnessCurve s;
  s.reference_units = static_cast<int>(order.size());
  auto means = [&](const std::vector<double>& theta) {
    std::vector<double> sum(bins, 0.0);
    for (size_t p = 0; p < ref.size(); ++p) sum[bin[p]] += abs_delta(theta[ref[p]], theta[partner[p]], period);
    return sum;
  };
  s.pairs.assign(bins, 0);
  for (int b : bin) ++s.pairs[b];
  const std::vector<double> real = means(u.theta_deg);
  std::vector<double> shuffled_sum(bins, 0.0), shuffled = u.theta_deg;
  for (int r = 0; r < cfg.shuffle_repeats; ++r) {
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    const std::vector<double> m = means(shuffled);
    for (int b = 0; b < bins; ++b) shuffled_sum[b] += m[b] / cfg.shuffle_repeats;
  }
  for (int b = 0; b < bins; ++b) {
    s.distance_mm.push_back(rmax * (b + 0.5) / bins);
    const double np = static_cast<double>(s.pairs[b]);
    s.mean_delta_deg.push_back(np > 0 ? real[b] / np : NAN);
    s.mean_delta_shuffled_deg.push_back(np > 0 ? shuffled_sum[b] / np : NAN);
    s.ratio.push_back(np > 0 && shuffled_sum[b] > 0 ? real[b] / shuffled_sum[b] : NAN);
  }
  return s;
}

}  // namespace mtmap::analysis
