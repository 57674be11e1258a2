// The cortical sheet: hypercolumn geometry, retinotopic layout statistics, neighbourhoods, files.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "cortex/sheet.h"
#include "tests/test_support.h"

using namespace mtmap;

namespace {

struct Extent {
  double lo[2], hi[2];
};

Extent extent_of(const std::vector<double>& xy) {
  Extent e{{INFINITY, INFINITY}, {-INFINITY, -INFINITY}};
  for (size_t i = 0; i < xy.size(); ++i)
    e.lo[i % 2] = std::min(e.lo[i % 2], xy[i]), e.hi[i % 2] = std::max(e.hi[i % 2], xy[i]);
  return e;
}

}  // namespace

TEST_CASE("sheet: preprint sheet sizes and neighbourhood widths") {
  auto sheets = cortex::preprint_sheets();
  REQUIRE(sheets.size() == 8);
  CHECK(cortex::find_sheet(sheets, "layer3.1").side_mm == 7.07);
  CHECK(cortex::find_sheet(sheets, "layer3.1").neighbourhood_mm == 2.1);
  CHECK(cortex::find_sheet(sheets, "layer1.0").neighbourhood_mm == 0.047);
  CHECK(cortex::find_sheet(sheets, "layer2.1").side_mm == 34.4);
  CHECK_THROWS_WITH(cortex::find_sheet(sheets, "layer5.0"), Catch::Contains("'layer5.0'"));
}

TEST_CASE("sheet: hypercolumn width and overlap follow 2r = S / (N − N·ov + ov)") {
  CHECK(cortex::hypercolumn_overlap(56) == Approx(0.1));
  CHECK(cortex::hypercolumn_overlap(7) == Approx(0.8));
  CHECK(cortex::hypercolumn_overlap(3) == 1.0);
  CHECK(cortex::hypercolumn_width(56, 2.39) == Approx(2.39 / 50.5));
  CHECK(cortex::hypercolumn_width(7, 7.48) == Approx(7.48 / (7 - 5.6 + 0.8)));
  // Neighbouring hypercolumns overlap by the fraction ov: spacing = 2r (1 − ov).
  for (int64_t n : {7, 14, 28, 56}) {
    double w = cortex::hypercolumn_width(n, 10.0), spacing = (10.0 - w) / double(n - 1);
    CHECK((w - spacing) / w == Approx(cortex::hypercolumn_overlap(n)));
  }
}

TEST_CASE("sheet: without jitter every unit lies in its anchor's hypercolumn, which its channels fill") {
  const int64_t C = 64, H = 14, W = 14;
  const double S = 30.7;
  Generator gen(7);
  cortex::RetinotopyOptions o;
  o.jitter_mm = 0;
  std::vector<double> xy = cortex::retinotopic_positions(C, H, W, S, gen, o).to_vector<double>();
  const double w = cortex::hypercolumn_width(W, S), r = w / 2;
  for (int64_t h : {int64_t(0), int64_t(6), H - 1})
    for (int64_t x : {int64_t(0), int64_t(9), W - 1}) {
      double ax = r + (S - 2 * r) * double(x) / double(W - 1), ay = r + (S - 2 * r) * double(h) / double(H - 1);
      double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
      for (int64_t c = 0; c < C; ++c) {
        int64_t u = (c * H + h) * W + x;
        double px = xy[size_t(2 * u)], py = xy[size_t(2 * u + 1)];
        CHECK(std::abs(px - ax) <= r);
        CHECK(std::abs(py - ay) <= r);
        lo[0] = std::min(lo[0], px), hi[0] = std::max(hi[0], px), lo[1] = std::min(lo[1], py),
        hi[1] = std::max(hi[1], py);
      }
      // 64 uniform draws span most of the square (expected span 63/65 of it).
      CHECK(hi[0] - lo[0] > 0.85 * w);
      CHECK(hi[1] - lo[1] > 0.85 * w);
    }
  Extent e = extent_of(xy);
  CHECK(e.lo[0] >= 0);
  CHECK(e.hi[0] <= S);
}

TEST_CASE("sheet: jitter keeps each axis's extent and minimum, units per window match the density") {
  const int64_t C = 64, H = 14, W = 14;  // layer3-like: 12,544 units
  const double S = 7.07, width = 2.1;
  Generator g0(11), g1(11);
  cortex::RetinotopyOptions flat;
  flat.jitter_mm = 0;
  std::vector<double> before = cortex::retinotopic_positions(C, H, W, S, g0, flat).to_vector<double>();
  Tensor pos = cortex::retinotopic_positions(C, H, W, S, g1);
  std::vector<double> after = pos.to_vector<double>();
  Extent a = extent_of(before), b = extent_of(after);
  for (int ax = 0; ax < 2; ++ax) {
    CHECK(b.lo[ax] == Approx(a.lo[ax]).margin(1e-12));
    CHECK(b.hi[ax] == Approx(a.hi[ax]).margin(1e-12));
  }
  // The jitter is N(0, σ = 0.3 mm) noise (the generator's next draw after the uniform offsets),
  // then per axis an affine map from the jittered extent back onto the original one.
  Generator g2(11);
  (void)rand({C * H * W, 2}, g2, DType::f64);
  std::vector<double> noise = randn({C * H * W, 2}, g2, DType::f64).to_vector<double>();
  double scale[2];
  for (int ax = 0; ax < 2; ++ax) {
    double jlo = INFINITY, jhi = -INFINITY;
    for (size_t i = size_t(ax); i < before.size(); i += 2)
      jlo = std::min(jlo, before[i] + 0.3 * noise[i]), jhi = std::max(jhi, before[i] + 0.3 * noise[i]);
    scale[ax] = (a.hi[ax] - a.lo[ax]) / (jhi - jlo);
    CHECK(scale[ax] < 1);  // the jitter widened the extent, so the rescale compresses
    for (size_t i = size_t(ax); i < before.size(); i += 2)
      REQUIRE(after[i] == Approx((before[i] + 0.3 * noise[i] - jlo) * scale[ax] + a.lo[ax]).margin(1e-12));
  }
  // Units per window: without jitter the interior holds C units per anchor cell, spacing² =
  // (2r (1 − ov))²; the rescale packs the interior by 1 / (scale_x · scale_y). Central windows hold
  // that many, within 10%.
  const double spacing = cortex::hypercolumn_width(W, S) * (1 - cortex::hypercolumn_overlap(W));
  const double density = double(C) / (spacing * spacing);
  Tensor flat_pos = from_vector(before, {C * H * W, 2});
  for (double cx : {2.5, 3.5, 4.5}) {
    CHECK(double(cortex::units_in_window(flat_pos, cx, 3.5, width).size()) ==
          Approx(density * width * width).epsilon(0.1));
    CHECK(double(cortex::units_in_window(pos, cx, 3.5, width).size()) ==
          Approx(density * width * width / (scale[0] * scale[1])).epsilon(0.1));
  }
}

TEST_CASE("sheet: neighbourhoods are windows of the right width, sized by the 5th percentile, capped at 500") {
  Generator gen(21);
  Tensor pos = cortex::retinotopic_positions(16, 14, 14, 7.07, gen);  // 3,136 units
  cortex::NeighbourhoodOptions o;
  o.windows = 2000;
  Tensor nb = cortex::neighbourhoods(pos, 1.0, gen, o);
  REQUIRE(nb.ndim() == 2);
  const int64_t P = nb.size(0), M = nb.size(1);
  // About 3136/50 ≈ 63 units per 1 mm² window inside; the 5th percentile (edge windows) is lower.
  CHECK(M >= 25);
  CHECK(M < 63);
  CHECK(P >= 1900);  // at most ~5% dropped (ties at the percentile are kept)
  CHECK(P <= 2000);
  std::vector<double> xy = pos.to_vector<double>();
  std::vector<int64_t> idx = nb.to_vector<int64_t>();
  for (int64_t p = 0; p < P; p += 97) {
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    std::set<int64_t> seen;
    for (int64_t j = 0; j < M; ++j) {
      int64_t u = idx[size_t(p * M + j)];
      REQUIRE(u >= 0);
      REQUIRE(u < pos.size(0));
      seen.insert(u);
      for (int a = 0; a < 2; ++a)
        lo[a] = std::min(lo[a], xy[size_t(2 * u + a)]), hi[a] = std::max(hi[a], xy[size_t(2 * u + a)]);
    }
    CHECK(int64_t(seen.size()) == M);  // without replacement
    CHECK(hi[0] - lo[0] <= 1.0);
    CHECK(hi[1] - lo[1] <= 1.0);
  }
  // The MT layer at full scale: thousands of units per window, so M is the cap, 500.
  Generator g2(22);
  Tensor mt = cortex::retinotopic_positions(256, 14, 14, 7.07, g2);
  o.windows = 200;
  CHECK(cortex::neighbourhoods(mt, 2.1, g2, o).size(1) == 500);
  // Same generator state, same windows.
  Generator g3(5), g4(5);
  CHECK(cortex::neighbourhoods(pos, 1.0, g3, o).to_vector<int64_t>() ==
        cortex::neighbourhoods(pos, 1.0, g4, o).to_vector<int64_t>());
  CHECK_THROWS_WITH(cortex::neighbourhoods(pos, 20.0, gen, o), Catch::Contains("smaller than the window width 20"));
  // A training step's window: a uniformly drawn row (every row of a small table comes up).
  Tensor few = nb.narrow(0, 0, 4);
  std::set<int64_t> firsts;
  for (int i = 0; i < 200; ++i) {
    Tensor w = cortex::sample_window(few, gen);
    REQUIRE(w.shape() == Shape{M});
    firsts.insert(w.to_vector<int64_t>()[0] * 1000003 + w.to_vector<int64_t>()[1]);
  }
  std::set<int64_t> rows;
  for (int64_t p = 0; p < 4; ++p) rows.insert(idx[size_t(p * M)] * 1000003 + idx[size_t(p * M + 1)]);
  CHECK(firsts == rows);
  CHECK_THROWS_WITH(cortex::sample_window(zeros({3, 4}), gen), Catch::Contains("neighbourhoods [3, 4] (f32)"));
}

TEST_CASE("sheet: positions and neighbourhoods round-trip through a safetensors file") {
  Generator gen(31);
  std::vector<cortex::LayerSheet> sheets;
  for (const char* block : {"layer3.1", "layer4.0"}) {
    cortex::LayerSheet s;
    s.spec = cortex::find_sheet(cortex::preprint_sheets(), block);
    s.positions = cortex::retinotopic_positions(8, 7, 7, s.spec.side_mm, gen);
    cortex::NeighbourhoodOptions o;
    o.windows = 50;
    s.neighbourhoods = cortex::neighbourhoods(s.positions, s.spec.neighbourhood_mm, gen, o);
    sheets.push_back(s);
  }
  std::string path = (std::filesystem::temp_directory_path() / "mtmap_test_sheets.safetensors").string();
  cortex::save_sheets(path, sheets);
  std::vector<cortex::LayerSheet> back = cortex::load_sheets(path);
  REQUIRE(back.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(back[i].spec.block == sheets[i].spec.block);
    CHECK(back[i].spec.side_mm == sheets[i].spec.side_mm);
    CHECK(back[i].spec.neighbourhood_mm == sheets[i].spec.neighbourhood_mm);
    CHECK(back[i].positions.to_vector<double>() == sheets[i].positions.to_vector<double>());
    CHECK(back[i].neighbourhoods.to_vector<int64_t>() == sheets[i].neighbourhoods.to_vector<int64_t>());
  }
  std::remove(path.c_str());
  CHECK_THROWS_WITH(cortex::load_sheets(path), Catch::Contains(path));
}
