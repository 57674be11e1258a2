#include "cortex/sheet.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "formats/safetensors.h"
#include "kernels/common/philox.h"
#include "cortex/sheet_grid.h"

namespace mtmap::cortex {

uint64_t detail::PhiloxStream::next() { return philox_pair(seed, 0, int64_t(counter++)); }

std::vector<SheetSpec> preprint_sheets() {
  return {{"layer1.0", 2.39, 0.047}, {"layer1.1", 2.39, 0.047}, {"layer2.0", 34.4, 2.7}, {"layer2.1", 34.4, 2.7},
          {"layer3.0", 30.7, 4.2},   {"layer3.1", 7.07, 2.1},   {"layer4.0", 7.48, 2.7}, {"layer4.1", 7.48, 2.7}};
}

const SheetSpec& find_sheet(const std::vector<SheetSpec>& sheets, const std::string& block) {
  std::string known;
  for (const SheetSpec& s : sheets) {
    if (s.block == block) return s;
    known += (known.empty() ? "" : ", ") + s.block;
  }
  MTMAP_FAIL("sheet: no entry for block '{}' (known: {})", block, known);
}

double hypercolumn_overlap(int64_t n, const RetinotopyOptions& o) {
  MTMAP_CHECK(n >= 1, "hypercolumn_overlap: grid size {} must be >= 1", n);
  return std::min(o.overlap_scale * (o.overlap_reference / double(n)), 1.0);
}

double hypercolumn_width(int64_t n, double side_mm, const RetinotopyOptions& o) {
  double ov = hypercolumn_overlap(n, o);
  return side_mm / (double(n) - double(n) * ov + ov);
}

Tensor retinotopic_positions(int64_t C, int64_t H, int64_t W, double side_mm, Generator& gen,
                             const RetinotopyOptions& o) {
  MTMAP_CHECK(C >= 1 && H >= 1 && W >= 1 && side_mm > 0 && o.jitter_mm >= 0,
              "retinotopic_positions: C {}, H {}, W {}, side {} mm, jitter {} mm: need positive sizes", C, H, W,
              side_mm, o.jitter_mm);
  const int64_t U = C * H * W;
  // Anchor centres per axis: linspace(r, S − r, N).
  auto anchors = [&](int64_t n, double& width) {
    width = hypercolumn_width(n, side_mm, o);
    double r = width / 2;
    std::vector<double> a(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      a[size_t(i)] = n == 1 ? side_mm / 2 : r + (side_mm - 2 * r) * double(i) / double(n - 1);
    return a;
  };
  double wx = 0, wy = 0;
  std::vector<double> ax = anchors(W, wx), ay = anchors(H, wy);
  std::vector<double> off = rand({U, 2}, gen, DType::f64).to_vector<double>();
  std::vector<double> xy(static_cast<size_t>(2 * U));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w) {
        int64_t u = (c * H + h) * W + w;
        xy[size_t(2 * u)] = ax[size_t(w)] + (off[size_t(2 * u)] - 0.5) * wx;
        xy[size_t(2 * u + 1)] = ay[size_t(h)] + (off[size_t(2 * u + 1)] - 0.5) * wy;
      }
  if (o.jitter_mm > 0 && U > 1) {
    std::vector<double> noise = randn({U, 2}, gen, DType::f64).to_vector<double>();
    for (int axis = 0; axis < 2; ++axis) {
      double lo = INFINITY, hi = -INFINITY, jlo = INFINITY, jhi = -INFINITY;
      for (int64_t u = 0; u < U; ++u) {
        double& v = xy[size_t(2 * u + axis)];
        lo = std::min(lo, v), hi = std::max(hi, v);
        v += o.jitter_mm * noise[size_t(2 * u + axis)];
        jlo = std::min(jlo, v), jhi = std::max(jhi, v);
      }
      double scale = jhi > jlo ? (hi - lo) / (jhi - jlo) : 1.0;
      for (int64_t u = 0; u < U; ++u) {
        double& v = xy[size_t(2 * u + axis)];
        v = (v - jlo) * scale + lo;
      }
    }
  }
  return from_vector(xy, {U, 2}, DType::f64);
}

namespace {

std::vector<double> host_positions(const Tensor& positions, const char* op) {
  MTMAP_CHECK(positions.ndim() == 2 && positions.size(1) == 2 && positions.size(0) >= 1,
              "{}: positions {} must be (U, 2)", op, shape_str(positions.shape()));
  MTMAP_CHECK(positions.device().is_cpu(), "{}: positions on {}; the sheet is computed on the CPU", op,
              positions.device().str());
  return positions.to_vector<double>();
}

}  // namespace

std::vector<int64_t> units_in_window(const Tensor& positions, double cx, double cy, double width_mm) {
  std::vector<double> xy = host_positions(positions, "units_in_window");
  std::vector<int64_t> out;
  const double h = width_mm / 2;
  for (int64_t u = 0; u < positions.size(0); ++u) {
    double x = xy[size_t(2 * u)], y = xy[size_t(2 * u + 1)];
    if (x >= cx - h && x <= cx + h && y >= cy - h && y <= cy + h) out.push_back(u);
  }
  return out;
}

Tensor neighbourhoods(const Tensor& positions, double width_mm, Generator& gen, const NeighbourhoodOptions& o) {
  std::vector<double> xy = host_positions(positions, "neighbourhoods");
  MTMAP_CHECK(width_mm > 0 && o.windows >= 1 && o.max_units >= 1 && o.min_units >= 1 && o.percentile >= 0 &&
                  o.percentile <= 100,
              "neighbourhoods: width {} mm, {} windows, percentile {}, units [{}, {}]: bad options", width_mm,
              o.windows, o.percentile, o.min_units, o.max_units);
  const int64_t U = positions.size(0);
  double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  for (int64_t u = 0; u < U; ++u)
    for (int a = 0; a < 2; ++a)
      lo[a] = std::min(lo[a], xy[size_t(2 * u + a)]), hi[a] = std::max(hi[a], xy[size_t(2 * u + a)]);
  const double r = width_mm / 2;
  MTMAP_CHECK(hi[0] - lo[0] >= width_mm && hi[1] - lo[1] >= width_mm,
              "neighbourhoods: the sheet's extent {} × {} mm is smaller than the window width {} mm", hi[0] - lo[0],
              hi[1] - lo[1], width_mm);
  std::vector<double> centre = rand({o.windows, 2}, gen, DType::f64).to_vector<double>();
  const uint64_t key = gen.seed() ^ (0x9e3779b97f4a7c15ull * (gen.advance(1) + 1));
  detail::SheetGrid grid(xy.data(), U, width_mm);
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(o.windows));
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t w = 0; w < o.windows; ++w) {
    double cx = lo[0] + r + centre[size_t(2 * w)] * (hi[0] - lo[0] - width_mm);
    double cy = lo[1] + r + centre[size_t(2 * w + 1)] * (hi[1] - lo[1] - width_mm);
    grid.members(cx, cy, r, members[size_t(w)]);
    std::sort(members[size_t(w)].begin(), members[size_t(w)].end());
  }
  std::vector<int64_t> counts;
  for (const auto& m : members) counts.push_back(int64_t(m.size()));
  std::sort(counts.begin(), counts.end());
  // Percentile with linear interpolation (numpy's default), then floored.
  double pos = o.percentile / 100.0 * double(counts.size() - 1);
  size_t i0 = size_t(pos);
  double pv =
      double(counts[i0]) + (i0 + 1 < counts.size() ? (pos - double(i0)) * double(counts[i0 + 1] - counts[i0]) : 0.0);
  const int64_t M = std::min(std::max(int64_t(std::floor(pv)), o.min_units), o.max_units);
  std::vector<int64_t> kept;
  for (int64_t w = 0; w < o.windows; ++w)
    if (int64_t(members[size_t(w)].size()) >= M) kept.push_back(w);
  MTMAP_CHECK(!kept.empty(),
              "neighbourhoods: no window of width {} mm holds M = {} units (largest holds {}; {} units on the sheet)",
              width_mm, M, counts.back(), U);
  const int64_t P = int64_t(kept.size());
  std::vector<int64_t> out(static_cast<size_t>(P * M));
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < P; ++i) {
    std::vector<int64_t>& m = members[size_t(kept[size_t(i)])];
    detail::PhiloxStream rng{key + uint64_t(kept[size_t(i)]) * 0xbf58476d1ce4e5b9ull};
    // Partial Fisher–Yates: the first M of a uniform random permutation.
    for (int64_t j = 0; j < M; ++j) std::swap(m[size_t(j)], m[size_t(j + rng.below(int64_t(m.size()) - j))]);
    std::sort(m.begin(), m.begin() + M);
    std::copy(m.begin(), m.begin() + M, out.begin() + i * M);
  }
  return from_vector(out, {P, M}, DType::i64);
}

Tensor sample_window(const Tensor& neighbourhoods, Generator& gen) {
  MTMAP_CHECK(neighbourhoods.ndim() == 2 && neighbourhoods.dtype() == DType::i64 && neighbourhoods.size(0) >= 1,
              "sample_window: neighbourhoods {} ({}) must be a non-empty (P, M) i64 tensor",
              shape_str(neighbourhoods.shape()), dtype_name(neighbourhoods.dtype()));
  const int64_t P = neighbourhoods.size(0);
  double u = rand({1}, gen, DType::f64).item();
  return neighbourhoods.narrow(0, std::min(P - 1, int64_t(u * double(P))), 1)
      .reshape({neighbourhoods.size(1)})
      .contiguous();
}

void save_sheets(const std::string& path, const std::vector<LayerSheet>& sheets) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::map<std::string, std::string> meta;
  std::string blocks;
  for (const LayerSheet& s : sheets) {
    MTMAP_CHECK(s.positions.ndim() == 2 && s.positions.size(1) == 2, "save_sheets: {} positions {} must be (U, 2)",
                s.spec.block, shape_str(s.positions.shape()));
    MTMAP_CHECK(s.neighbourhoods.ndim() == 2 && s.neighbourhoods.dtype() == DType::i64,
                "save_sheets: {} neighbourhoods {} ({}) must be (P, M) i64", s.spec.block,
                shape_str(s.neighbourhoods.shape()), dtype_name(s.neighbourhoods.dtype()));
    MTMAP_CHECK(s.spec.block.find(',') == std::string::npos, "save_sheets: block name '{}' contains a comma",
                s.spec.block);
    tensors.emplace_back(s.spec.block + ".positions", s.positions);
    tensors.emplace_back(s.spec.block + ".neighbourhoods", s.neighbourhoods);
    meta[s.spec.block + ".side_mm"] = fmt::format("{:.17g}", s.spec.side_mm);
    meta[s.spec.block + ".neighbourhood_mm"] = fmt::format("{:.17g}", s.spec.neighbourhood_mm);
    blocks += (blocks.empty() ? "" : ",") + s.spec.block;
  }
  meta["blocks"] = blocks;
  formats::save_safetensors(path, tensors, meta);
}

std::vector<LayerSheet> load_sheets(const std::string& path) {
  formats::SafetensorsFile f = formats::load_safetensors(path);
  auto it = f.metadata.find("blocks");
  MTMAP_CHECK(it != f.metadata.end(), "load_sheets: {} has no 'blocks' metadata (not a sheet file)", path);
  std::vector<LayerSheet> out;
  std::stringstream ss(it->second);
  std::string block;
  auto number = [&](const std::string& key) {
    auto m = f.metadata.find(key);
    MTMAP_CHECK(m != f.metadata.end(), "load_sheets: {} lacks metadata '{}'", path, key);
    return std::stod(m->second);
  };
  while (std::getline(ss, block, ',')) {
    LayerSheet s;
    s.spec = {block, number(block + ".side_mm"), number(block + ".neighbourhood_mm")};
    s.positions = f.at(block + ".positions");
    s.neighbourhoods = f.at(block + ".neighbourhoods");
    MTMAP_CHECK(s.positions.ndim() == 2 && s.positions.size(1) == 2, "load_sheets: {}: {}.positions {} is not (U, 2)",
                path, block, shape_str(s.positions.shape()));
    MTMAP_CHECK(s.neighbourhoods.ndim() == 2 && s.neighbourhoods.dtype() == DType::i64,
                "load_sheets: {}: {}.neighbourhoods {} is not (P, M) i64", path, block,
                shape_str(s.neighbourhoods.shape()));
    std::vector<int64_t> idx = s.neighbourhoods.to_vector<int64_t>();
    for (int64_t v : idx)
      MTMAP_CHECK(v >= 0 && v < s.positions.size(0), "load_sheets: {}: {}.neighbourhoods holds unit {} outside [0, {})",
                  path, block, v, s.positions.size(0));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace mtmap::cortex
