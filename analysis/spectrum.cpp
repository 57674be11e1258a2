#include "analysis/spectrum.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <memory>
#include <numbers>

#include "engine/core/error.h"

namespace mtmap::analysis {
namespace {

struct FftwFree {
  void operator()(void* p) const { fftw_free(p); }
};
struct PlanDestroy {
  void operator()(fftw_plan p) const { fftw_destroy_plan(p); }
};

}  // namespace

SpectrumResult power_spectrum(const FieldGrid& g, double border_mm, int pad) {
  const int b = static_cast<int>(std::ceil(border_mm / g.h - 1e-9));
  const int nx = g.nx - 2 * b, ny = g.ny - 2 * b;
  MTMAP_CHECK(nx >= 8 && ny >= 8, "power spectrum: only {} × {} grid points inside the {} mm border", nx, ny,
              border_mm);
  std::complex<double> mean = 0;
  for (int iy = 0; iy < ny; ++iy)
    for (int ix = 0; ix < nx; ++ix) mean += g.z[g.at(ix + b, iy + b)];
  mean /= double(nx) * ny;

  const int px = nx * pad, py = ny * pad;
  std::unique_ptr<fftw_complex, FftwFree> buf(static_cast<fftw_complex*>(fftw_malloc(sizeof(fftw_complex) * px * py)));
  auto* data = reinterpret_cast<std::complex<double>*>(buf.get());
  std::unique_ptr<std::remove_pointer_t<fftw_plan>, PlanDestroy> plan(
      fftw_plan_dft_2d(py, px, buf.get(), buf.get(), FFTW_FORWARD, FFTW_ESTIMATE));
  std::fill(data, data + size_t(px) * py, 0.0);
  for (int iy = 0; iy < ny; ++iy)
    for (int ix = 0; ix < nx; ++ix) {
      const size_t i = g.at(ix + b, iy + b);
      const std::complex<double> v = g.coverage[i] > 0 ? g.z[i] - mean : 0.0;
      const double w = (0.5 - 0.5 * std::cos(2 * std::numbers::pi * (ix + 0.5) / nx)) *
                       (0.5 - 0.5 * std::cos(2 * std::numbers::pi * (iy + 0.5) / ny));
      data[size_t(iy) * px + ix] = w * v;
    }
  fftw_execute(plan.get());

  // Radial bins one padded-frequency step wide, along the finer of the two axes.
  const double dkx = 1.0 / (px * g.h), dky = 1.0 / (py * g.h);
  const double dk = std::max(dkx, dky);
  const double k_nyq = 0.5 / g.h;
  const int nbins = static_cast<int>(k_nyq / dk);
  std::vector<double> sum(nbins, 0.0), cnt(nbins, 0.0);
  for (int iy = 0; iy < py; ++iy)
    for (int ix = 0; ix < px; ++ix) {
      const double kx = (ix <= px / 2 ? ix : ix - px) * dkx, ky = (iy <= py / 2 ? iy : iy - py) * dky;
      const int bin = static_cast<int>(std::lround(std::hypot(kx, ky) / dk));
      if (bin >= nbins) continue;
      sum[bin] += std::norm(data[size_t(iy) * px + ix]);
      cnt[bin] += 1;
    }
  SpectrumResult s;
  double top = 0;
  for (int i = 0; i < nbins; ++i) {
    s.k_cyc_per_mm.push_back(i * dk);
    s.power.push_back(cnt[i] > 0 ? sum[i] / cnt[i] : 0.0);
    top = std::max(top, s.power.back());
  }
  if (top > 0)
    for (double& p : s.power) p /= top;
  // The Hann window's main lobe spans 2 unpadded bins: wavelengths above half the window cannot be
  // told from the mean and are not searched.
  s.k_min_cyc_per_mm = 2.0 / (std::min(nx, ny) * g.h);
  int best = -1;
  for (int i = 1; i + 1 < nbins; ++i)
    if (s.k_cyc_per_mm[i] >= s.k_min_cyc_per_mm && (best < 0 || s.power[i] > s.power[best])) best = i;
  MTMAP_CHECK(best > 0 && s.power[best] > 0, "power spectrum: the field has no power above {} cycles/mm (a constant map?)",
              s.k_min_cyc_per_mm);
  const double y0 = s.power[best - 1], y1 = s.power[best], y2 = s.power[best + 1];
  const double denom = y0 - 2 * y1 + y2;
  const double offset = denom < 0 ? std::clamp(0.5 * (y0 - y2) / denom, -0.5, 0.5) : 0.0;
  s.k_peak_cyc_per_mm = (best + offset) * dk;
  s.lambda_mm = 1.0 / s.k_peak_cyc_per_mm;
  return s;
}

}  // namespace mtmap::analysis
