#include "cortex/swap.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>

#include "engine/random/generator.h"
#include "kernels/common/philox.h"
#include "cortex/sheet_grid.h"

namespace mtmap::cortex {

Tensor response_correlation(const Tensor& responses) {
  MTMAP_CHECK(responses.ndim() == 2 && responses.size(0) >= 2 && responses.device().is_cpu(),
              "response_correlation: responses {} on {} must be (S, U) with S >= 2 stimuli, on the CPU",
              shape_str(responses.shape()), responses.device().str());
  const int64_t S = responses.size(0), U = responses.size(1);
  std::vector<double> x = responses.to_vector<double>();
  std::vector<double> zt(static_cast<size_t>(U * S));
#pragma omp parallel for schedule(static)
  for (int64_t u = 0; u < U; ++u) {
    double m = 0, ss = 0;
    for (int64_t s = 0; s < S; ++s) m += x[size_t(s * U + u)];
    m /= double(S);
    for (int64_t s = 0; s < S; ++s) ss += (x[size_t(s * U + u)] - m) * (x[size_t(s * U + u)] - m);
    double inv = ss > 0 ? 1.0 / std::sqrt(ss) : 0.0;  // constant unit: all-zero row → correlation 0
    for (int64_t s = 0; s < S; ++s) zt[size_t(u * S + s)] = (x[size_t(s * U + u)] - m) * inv;
  }
  Tensor out = empty({U, U}, DType::f32);
  float* c = out.data<float>();
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < U; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0;
      const double *a = zt.data() + i * S, *b = zt.data() + j * S;
      for (int64_t k = 0; k < S; ++k) s += a[k] * b[k];
      c[i * U + j] = c[j * U + i] = float(std::min(1.0, std::max(-1.0, s)));
    }
  return out;
}

namespace {

// One window's state: its units, their local correlation rows and positions.
struct Window {
  double cx = 0, cy = 0;
  uint64_t key = 0;
};

constexpr int64_t kAhead = 16;  // corr entries prefetched ahead of use

struct Local {
  std::vector<int64_t> units;
  std::vector<double> c;             // (m, m) local correlations
  std::vector<double> cmean, cnorm;  // per row over j ≠ a
  std::vector<double> x, y;          // positions
  std::vector<double> d;             // (m, m) 1/(distance + 1) at the current positions, zero diagonal
  std::vector<double> s1, s2, sc;    // per row over j ≠ a: Σ d, Σ d², Σ c·d
};

// (1 − Pearson_{j ≠ a}(c[a, j], d[a, j]))/2 from row a's sums.
double row_loss(const Local& L, int64_t a, int64_t m, double s1, double s2, double sc) {
  const double n = double(m - 1), md = s1 / n;
  const double dvar = s2 - n * md * md, cov = sc - n * L.cmean[size_t(a)] * md;
  if (!(dvar > 0) || !(L.cnorm[size_t(a)] > 0)) return 0.5;
  return (1 - cov / (std::sqrt(dvar) * L.cnorm[size_t(a)])) / 2;
}

// L.units already holds the window's members (sorted). Writes the final positions back to xy and
// keeps the grid's buckets in step.
//
// Swapping the positions of a and b swaps rows and columns a and b of d (d_ab stays), so row a's
// Σ d and Σ d² after the swap are row b's before it, and only Σ c·d needs a pass over the window:
// an attempt costs two dot products of length m and no square root. An accepted swap updates the
// other rows' Σ c·d by (c_ja − c_jb)(d_jb − d_ja) each.
template <class T>
void run_window(const Window& w, const SwapOptions& o, const T* corr, int64_t U, detail::SheetGrid& grid,
                std::vector<double>& xy, Local& L, SwapProgress& st) {
  detail::PhiloxStream rng{w.key};
  if (int64_t(L.units.size()) < o.min_units) {
    ++st.windows_skipped;
    return;
  }
  if (int64_t(L.units.size()) > o.max_units) {
    for (int64_t j = 0; j < o.max_units; ++j)
      std::swap(L.units[size_t(j)], L.units[size_t(j + rng.below(int64_t(L.units.size()) - j))]);
    L.units.resize(size_t(o.max_units));
  }
  const int64_t m = int64_t(L.units.size());
  L.c.resize(size_t(m * m));
  L.d.resize(size_t(m * m));
  L.cmean.assign(size_t(m), 0);
  L.cnorm.assign(size_t(m), 0);
  L.s1.assign(size_t(m), 0);
  L.s2.assign(size_t(m), 0);
  L.sc.assign(size_t(m), 0);
  L.x.resize(size_t(m));
  L.y.resize(size_t(m));
  for (int64_t a = 0; a < m; ++a) {
    const int64_t ua = L.units[size_t(a)];
    L.x[size_t(a)] = xy[size_t(2 * ua)], L.y[size_t(a)] = xy[size_t(2 * ua + 1)];
  }
  for (int64_t a = 0; a < m; ++a) {
    const int64_t ua = L.units[size_t(a)];
    double s = 0, ss = 0, s1 = 0, s2 = 0, sc = 0;
    const T* row = corr + ua * U;
    // The window's entries of a corr row are scattered (one cache line each): prefetching ahead
    // keeps many loads in flight instead of waiting out each miss.
    for (int64_t j = 0; j < std::min<int64_t>(m, kAhead); ++j) __builtin_prefetch(row + L.units[size_t(j)]);
    for (int64_t j = 0; j < m; ++j) {
      if (j + kAhead < m) __builtin_prefetch(row + L.units[size_t(j + kAhead)]);
      double v = double(row[L.units[size_t(j)]]);
      if (!std::isfinite(v)) v = 0;
      L.c[size_t(a * m + j)] = v;
      double dx = L.x[size_t(j)] - L.x[size_t(a)], dy = L.y[size_t(j)] - L.y[size_t(a)];
      double d = j == a ? 0.0 : 1.0 / (std::sqrt(dx * dx + dy * dy) + 1.0);
      L.d[size_t(a * m + j)] = d;
      if (j != a) s += v, ss += v * v, s1 += d, s2 += d * d, sc += v * d;
    }
    double mean = s / double(m - 1);
    L.cmean[size_t(a)] = mean;
    L.cnorm[size_t(a)] = std::sqrt(std::max(0.0, ss - double(m - 1) * mean * mean));
    L.s1[size_t(a)] = s1, L.s2[size_t(a)] = s2, L.sc[size_t(a)] = sc;
  }
  for (int64_t t = 0; t < o.attempts_per_window; ++t) {
    int64_t a = rng.below(m), b = rng.below(m - 1);
    if (b >= a) ++b;
    const double* ca = L.c.data() + a * m;
    const double* cb = L.c.data() + b * m;
    double* da = L.d.data() + a * m;
    double* db = L.d.data() + b * m;
    const double before = row_loss(L, a, m, L.s1[size_t(a)], L.s2[size_t(a)], L.sc[size_t(a)]) +
                          row_loss(L, b, m, L.s1[size_t(b)], L.s2[size_t(b)], L.sc[size_t(b)]);
    double sca = 0, scb = 0;
    for (int64_t j = 0; j < m; ++j) sca += ca[j] * db[j], scb += cb[j] * da[j];
    const double dab = da[b];
    sca += -ca[a] * db[a] + ca[b] * dab;
    scb += -cb[b] * da[b] + cb[a] * dab;
    const double after = row_loss(L, a, m, L.s1[size_t(b)], L.s2[size_t(b)], sca) +
                         row_loss(L, b, m, L.s1[size_t(a)], L.s2[size_t(a)], scb);
    ++st.attempts;
    if (!(after < before)) continue;
    ++st.accepted;
    for (int64_t j = 0; j < m; ++j) {
      if (j == a || j == b) continue;
      double* dj = L.d.data() + j * m;
      const double* cj = L.c.data() + j * m;
      L.sc[size_t(j)] += (cj[a] - cj[b]) * (dj[b] - dj[a]);
      std::swap(dj[a], dj[b]);
      std::swap(da[j], db[j]);
    }
    std::swap(L.s1[size_t(a)], L.s1[size_t(b)]);
    std::swap(L.s2[size_t(a)], L.s2[size_t(b)]);
    L.sc[size_t(a)] = sca, L.sc[size_t(b)] = scb;
    std::swap(L.x[size_t(a)], L.x[size_t(b)]);
    std::swap(L.y[size_t(a)], L.y[size_t(b)]);
    grid.swap_units(L.units[size_t(a)], L.units[size_t(b)]);
  }
  for (int64_t a = 0; a < m; ++a) {
    const int64_t ua = L.units[size_t(a)];
    xy[size_t(2 * ua)] = L.x[size_t(a)], xy[size_t(2 * ua + 1)] = L.y[size_t(a)];
  }
}

}  // namespace

SwapResult swap_optimise(const Tensor& positions, const Tensor& corr, const SwapOptions& o) {
  MTMAP_CHECK(positions.ndim() == 2 && positions.size(1) == 2 && positions.device().is_cpu(),
              "swap_optimise: positions {} on {} must be (U, 2) on the CPU", shape_str(positions.shape()),
              positions.device().str());
  const int64_t U = positions.size(0);
  MTMAP_CHECK(corr.shape() == Shape({U, U}) && corr.device().is_cpu() &&
                  (corr.dtype() == DType::f32 || corr.dtype() == DType::f64),
              "swap_optimise: corr {} ({}, {}) must be (U, U) = [{}, {}], f32 or f64, on the CPU",
              shape_str(corr.shape()), dtype_name(corr.dtype()), corr.device().str(), U, U);
  MTMAP_CHECK(
      o.width_mm > 0 && o.windows >= 0 && o.attempts_per_window >= 0 && o.min_units >= 3 && o.max_units >= o.min_units,
      "swap_optimise: width {} mm, {} windows × {} attempts, units [{}, {}]: bad options", o.width_mm, o.windows,
      o.attempts_per_window, o.min_units, o.max_units);
  std::vector<double> xy = positions.to_vector<double>();
  double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  for (int64_t u = 0; u < U; ++u)
    for (int a = 0; a < 2; ++a)
      lo[a] = std::min(lo[a], xy[size_t(2 * u + a)]), hi[a] = std::max(hi[a], xy[size_t(2 * u + a)]);
  const double r = o.width_mm / 2;
  MTMAP_CHECK(hi[0] - lo[0] >= o.width_mm && hi[1] - lo[1] >= o.width_mm,
              "swap_optimise: the sheet's extent {} × {} mm is smaller than the window width {} mm", hi[0] - lo[0],
              hi[1] - lo[1], o.width_mm);
  Tensor corr_c = corr.contiguous();
  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  // Swaps only exchange positions, so the set of positions (and the grid's cells) never changes; the
  // grid follows each accepted swap by exchanging the two units' bucket slots.
  detail::SheetGrid grid(xy.data(), U, o.width_mm);
  SwapResult res;
  res.stats.windows_total = o.windows;
  const auto t0 = std::chrono::steady_clock::now();
  auto draw = [&, next = int64_t(0)]() mutable {
    Window w;
    w.cx = lo[0] + r + philox_uniform_f64(o.seed, uint64_t(next), 0) * (hi[0] - lo[0] - o.width_mm);
    w.cy = lo[1] + r + philox_uniform_f64(o.seed, uint64_t(next), 1) * (hi[1] - lo[1] - o.width_mm);
    w.key = philox_pair(o.seed ^ 0x5851f42d4c957f2dull, 0, next);
    ++next;
    return w;
  };
  std::deque<Window> queue;
  int64_t drawn = 0, last_report = 0;
  std::vector<Local> locals(static_cast<size_t>(threads));
  std::vector<SwapProgress> per_thread(static_cast<size_t>(threads));
  while (res.stats.windows_done < o.windows) {
    while (drawn < o.windows && int64_t(queue.size()) < 8 * threads) queue.push_back(draw()), ++drawn;
    // This round: each queued window disjoint from every window queued before it (taken or not).
    // Overlapping windows thus keep their drawing order and disjoint ones commute (a swap moves
    // positions only within one square), so the result equals running the windows one by one.
    std::vector<Window> round, scanned;
    for (auto it = queue.begin(); it != queue.end() && int(round.size()) < threads;) {
      bool free = std::all_of(scanned.begin(), scanned.end(), [&](const Window& w) {
        return std::abs(w.cx - it->cx) > o.width_mm || std::abs(w.cy - it->cy) > o.width_mm;
      });
      scanned.push_back(*it);
      if (free) {
        round.push_back(*it);
        it = queue.erase(it);
      } else {
        ++it;
      }
    }
    // Members first, serially (a window's cells may hold units of another window of the round).
    for (size_t i = 0; i < round.size(); ++i) {
      locals[i].units.clear();
      grid.members(round[i].cx, round[i].cy, r, locals[i].units);
      std::sort(locals[i].units.begin(), locals[i].units.end());
    }
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int64_t i = 0; i < int64_t(round.size()); ++i) {
      if (corr_c.dtype() == DType::f32)
        run_window(round[size_t(i)], o, corr_c.data<float>(), U, grid, xy, locals[size_t(i)], per_thread[size_t(i)]);
      else
        run_window(round[size_t(i)], o, corr_c.data<double>(), U, grid, xy, locals[size_t(i)], per_thread[size_t(i)]);
    }
    res.stats.windows_done += int64_t(round.size());
    if (o.progress && o.progress_every > 0 &&
        (res.stats.windows_done - last_report >= o.progress_every || res.stats.windows_done == o.windows)) {
      last_report = res.stats.windows_done;
      SwapProgress p = res.stats;
      for (const SwapProgress& t : per_thread)
        p.attempts += t.attempts, p.accepted += t.accepted, p.windows_skipped += t.windows_skipped;
      p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      o.progress(p);
    }
  }
  for (const SwapProgress& t : per_thread)
    res.stats.attempts += t.attempts, res.stats.accepted += t.accepted, res.stats.windows_skipped += t.windows_skipped;
  res.stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.positions = from_vector(xy, {U, 2}, DType::f64);
  return res;
}

double layer_spatial_loss(const Tensor& positions, const Tensor& corr) {
  const int64_t U = positions.size(0);
  MTMAP_CHECK(positions.shape() == Shape({U, 2}) && corr.shape() == Shape({U, U}) && U >= 3,
              "layer_spatial_loss: positions {} must be (U, 2) and corr {} (U, U), U >= 3",
              shape_str(positions.shape()), shape_str(corr.shape()));
  std::vector<double> xy = positions.to_vector<double>(), c = corr.to_vector<double>();
  double n = 0, sv = 0, su = 0, svv = 0, suu = 0, svu = 0;
  for (int64_t i = 1; i < U; ++i)
    for (int64_t j = 0; j < i; ++j) {
      double dx = xy[size_t(2 * i)] - xy[size_t(2 * j)], dy = xy[size_t(2 * i + 1)] - xy[size_t(2 * j + 1)];
      double u = 1.0 / (std::sqrt(dx * dx + dy * dy) + 1.0), v = c[size_t(i * U + j)];
      if (!std::isfinite(v)) v = 0;
      n += 1, sv += v, su += u, svv += v * v, suu += u * u, svu += v * u;
    }
  double cov = svu - sv * su / n, vv = svv - sv * sv / n, uu = suu - su * su / n;
  return (vv > 0 && uu > 0) ? (1 - cov / std::sqrt(vv * uu)) / 2 : 0.5;
}

}  // namespace mtmap::cortex
