// Pinwheel detection and column spacing on fields with known ground truth
// (docs/measurements.md §5).
#include <catch2/catch.hpp>

#include <cmath>

#include "analysis/pinwheels.h"
#include "analysis/spectrum.h"
#include "tests/analysis/planted_maps.h"

using namespace mtmap::analysis;
using namespace mtmap::analysis::testing;

namespace {

const std::vector<Planted> kPlanted = {{1.03, 1.07, +1}, {2.91, 1.21, -1}, {1.52, 2.88, -1}, {3.02, 3.13, +1}};

// Every planted pinwheel is found once, with its charge, within `tol` mm; nothing else is found.
void check_found(const std::vector<Pinwheel>& found, double tol, double charge_unit = 1.0) {
  REQUIRE(found.size() == kPlanted.size());
  for (const auto& p : kPlanted) {
    int hits = 0;
    for (const auto& f : found)
      if (std::hypot(f.x_mm - p.x, f.y_mm - p.y) <= tol && f.charge == p.charge * charge_unit) ++hits;
    INFO("planted at (" << p.x << ", " << p.y << ") charge " << p.charge);
    CHECK(hits == 1);
  }
}

}  // namespace

TEST_CASE("Winding number of a closed loop", "[analysis][pinwheels]") {
  using C = std::complex<double>;
  CHECK(winding_number(C(1, 0), C(0, 1), C(-1, 0), C(0, -1)) == 1);
  CHECK(winding_number(C(1, 0), C(0, -1), C(-1, 0), C(0, 1)) == -1);
  CHECK(winding_number(C(1, 0), C(1, 0.5), C(1, 1), C(1, -0.2)) == 0);
}

TEST_CASE("Planted zeros: every pinwheel found with its charge and position, by both methods", "[analysis][pinwheels]") {
  const double h = 0.05;
  const FieldGrid g = grid_from([](double x, double y) { return planted_field(x, y, kPlanted); }, 4.0, h);
  const PinwheelResult r = find_pinwheels(g, 360.0, 0.0, 0.2);
  CHECK(r.n_positive == 2);
  CHECK(r.n_negative == 2);
  check_found(r.pinwheels, h / std::sqrt(2.0) + 1e-9);  // reported at the plaquette centre
  CHECK(r.zc_positive == 2);
  CHECK(r.zc_negative == 2);
  check_found(r.zero_crossings, 0.1 * h);  // the bilinear zero sits near the true zero
  CHECK(r.matched == 4);
  // Border 0.2 mm on a 4 mm grid: 3.6 mm × 3.6 mm analysed.
  CHECK(r.analysed_area_mm2 == Approx(3.6 * 3.6));
  CHECK(r.density_per_mm2 == Approx(4 / (3.6 * 3.6)));
}

TEST_CASE("Planted poles (w − p)^−1 give charge −1 too", "[analysis][pinwheels]") {
  const double h = 0.05;
  const FieldGrid g = grid_from([](double x, double y) { return planted_field(x, y, kPlanted, true); }, 4.0, h);
  const PinwheelResult r = find_pinwheels(g, 360.0, 0.0, 0.2);
  check_found(r.pinwheels, h / std::sqrt(2.0) + 1e-9);
}

TEST_CASE("Axis maps (period 180°) give charges ±1/2", "[analysis][pinwheels]") {
  // The field of an axis map carries e^{2iθ}: the same planted z read with period 180.
  const FieldGrid g = grid_from([](double x, double y) { return planted_field(x, y, kPlanted); }, 4.0, 0.05);
  const PinwheelResult r = find_pinwheels(g, 180.0, 0.0, 0.2);
  check_found(r.pinwheels, 0.05, 0.5);
}

TEST_CASE("A smooth map has no pinwheels, pinwheels outside the border are not counted", "[analysis][pinwheels]") {
  const FieldGrid smooth = grid_from([](double x, double y) { return std::polar(1.0, 1.7 * x - 0.9 * y); }, 4.0, 0.05);
  const PinwheelResult r = find_pinwheels(smooth, 360.0, 0.05, 0.2);
  CHECK(r.pinwheels.empty());
  CHECK(r.zero_crossings.empty());
  const std::vector<Planted> edge = {{0.112, 2.013, +1}};
  const FieldGrid g = grid_from([&](double x, double y) { return planted_field(x, y, edge); }, 4.0, 0.05);
  CHECK(find_pinwheels(g, 360.0, 0.0, 0.2).pinwheels.empty());
  CHECK(find_pinwheels(g, 360.0, 0.0, 0.0).pinwheels.size() == 1);
}

TEST_CASE("Low-magnitude cells are masked", "[analysis][pinwheels]") {
  // Left half carries a planted pinwheel at tiny amplitude; masking at 5 % of the median drops it.
  const std::vector<Planted> one = {{1.013, 2.027, +1}};
  FieldGrid g = grid_from([&](double x, double y) { return planted_field(x, y, one) * (x < 2 ? 1e-4 : 1.0); }, 4.0, 0.05);
  CHECK(find_pinwheels(g, 360.0, 0.0, 0.2).pinwheels.size() == 1);
  CHECK(find_pinwheels(g, 360.0, 0.05, 0.2).pinwheels.empty());
}

TEST_CASE("Column spacing from the power spectrum recovers the planted wavelength", "[analysis][spectrum]") {
  for (double lambda : {0.6, 0.8, 1.2}) {
    const WaveField f = random_waves(24, lambda, 7);
    const FieldGrid g = grid_from(f, 8.0, 0.04);
    const SpectrumResult s = power_spectrum(g, 0.0);
    INFO("lambda " << lambda);
    CHECK(s.lambda_mm == Approx(lambda).epsilon(0.03));
  }
}

TEST_CASE("A monochromatic random map has about π pinwheels per Λ², equal in sign", "[analysis][pinwheels]") {
  // Gaussian random fields with all power on one ring have pinwheel density π/Λ² (Wolf & Geisel
  // 1998); a sum of 100 random waves is close to Gaussian. Each map covers 100 Λ² (about 314
  // pinwheels); the mean over four maps is within 6 % of π.
  const double lambda = 0.8;
  double rho_sum = 0;
  for (unsigned seed = 1; seed <= 4; ++seed) {
    const FieldGrid g = grid_from(random_waves(100, lambda, seed), 8.4, 0.02);
    const PinwheelResult r = find_pinwheels(g, 360.0, 0.0, 0.2);
    const int total = r.n_positive + r.n_negative;
    rho_sum += total * lambda * lambda / r.analysed_area_mm2 / 4;
    INFO("seed " << seed);
    CHECK(std::abs(r.n_positive - r.n_negative) <= 0.1 * total);
    CHECK(r.matched >= 0.95 * total);
  }
  CHECK(rho_sum == Approx(std::numbers::pi).epsilon(0.06));
}
