#pragma once
// Spatiotemporal spectra for tests: a 3D FFT (power-of-two sizes) of a luminance clip, the
// location of its peak, and motion energy per direction of motion.
//
// A pattern component exp(2πi(k·x − f·t)) moves along k when f > 0. With the DFT's sign
// convention it appears at temporal bin −f, so a bin (kx, ky, ω) with ω < 0 is motion along
// (kx, ky) and one with ω > 0 is motion along −(kx, ky). y counts rows upward (row axis flipped).
#include <complex>
#include <cstdint>
#include <vector>

namespace mtmap::test {

using cd = std::complex<double>;

// In-place 3D FFT of (T, H, W) data (row-major). Every size must be a power of two.
void fft3(std::vector<cd>& a, int T, int H, int W);

struct SpectralPeak {
  double direction_deg;  // of motion, [0, 360)
  double spatial_freq;   // cycles/pixel
  double temporal_freq;  // cycles/frame
};
// The strongest moving component of a luminance clip (T, H, W).
SpectralPeak spectral_peak(const std::vector<float>& lum, int T, int H, int W);

// Power of the moving components (ω ≠ 0), summed into `bins` direction-of-motion bins centred on
// 0°, 360°/bins, ... after a Hann window in x, y and t.
std::vector<double> motion_energy_by_direction(const std::vector<float>& lum, int T, int H, int W, int bins);

}  // namespace mtmap::test
