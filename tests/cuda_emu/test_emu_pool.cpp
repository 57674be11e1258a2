// The CUDA pooling kernels (kernels/cuda/pool3d.cu, their own source on the CPU emulator) against
// the CPU kernels, bit for bit as tests/cuda/test_cuda_norm_pool.cpp requires of the GPU: max
// pooling (padding, overlapping windows, ties, a NaN) and its gather backward; adaptive average
// pooling with overlapping (In/Out not whole) and repeating (Out > In) cells, and its backward.
#include <catch2/catch.hpp>

#include <cstring>

#include "kernels/cpu/pool3d.h"
#include "kernels/cuda/pool3d.cu"
#include "tests/cuda_emu/emu_test_util.h"

using namespace mtmap;
using namespace mtmap::emu_test;

namespace {

template <class T>
void expect_same_bits(const std::vector<T>& got, const std::vector<T>& want, const char* what) {
  REQUIRE(got.size() == want.size());
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) bad += std::memcmp(&got[i], &want[i], sizeof(T)) != 0;
  INFO(what << ": " << bad << " of " << got.size() << " differ");
  CHECK(bad == 0);
}

Pool3dShape max_shape(int64_t planes, int64_t D, int64_t H, int64_t W, int k, int st, int pad) {
  Pool3dShape s;
  s.planes = planes, s.D = D, s.H = H, s.W = W;
  s.kd = s.kh = s.kw = k, s.sd = s.sh = s.sw = st, s.pd = s.ph = s.pw = pad;
  s.Z = (D + 2 * pad - k) / st + 1, s.P = (H + 2 * pad - k) / st + 1, s.Q = (W + 2 * pad - k) / st + 1;
  return s;
}

Pool3dShape avg_shape(int64_t planes, int64_t D, int64_t H, int64_t W, int64_t Z, int64_t P, int64_t Q) {
  Pool3dShape s;
  s.planes = planes, s.D = D, s.H = H, s.W = W, s.Z = Z, s.P = P, s.Q = Q;
  return s;
}

// The CPU pools have no bf16: for bf16 the reference is the f32 kernel on the same values, rounded
// once to bf16, which is exactly what the GPU computes (it works in float and rounds once).
template <class T>
void check_max(const Pool3dShape& s, uint32_t seed) {
  INFO("max pool planes " << s.planes << " " << s.D << "x" << s.H << "x" << s.W << " k " << s.kd << " stride "
                          << s.sd << " pad " << s.pd << " " << dtype_name(dtype_of<T>()));
  const size_t in = size_t(s.planes * s.D * s.H * s.W), out = size_t(s.planes * s.Z * s.P * s.Q);
  std::vector<T> x = random_values<T>(in, seed);
  for (size_t i = 0; i < in; i += 7) x[i] = x[i / 2];  // ties
  x[in / 3] = from_double<T>(std::nan(""));            // a NaN wins its windows
  std::vector<T> dy = random_values<T>(out, seed + 1);
  emu::DeviceBuffer bx(x.data(), in * sizeof(T)), bdy(dy.data(), out * sizeof(T));
  std::vector<T> y = poisoned<T>(out), y_ref(out), dx = poisoned<T>(in), dx_ref(in);
  std::vector<int64_t> am(out, -7), am_ref(out);
  emu::DeviceBuffer bam(am.data(), out * 8);
  cuda::max_pool3d(dtype_of<T>(), s, x.data(), y.data(), am.data(), nullptr);
  std::vector<Ref<T>> xr = convert<Ref<T>>(x), dyr = convert<Ref<T>>(dy), yr(out), dxr(in);
  cpu::max_pool3d(dtype_of<Ref<T>>(), s, xr.data(), yr.data(), am_ref.data());
  y_ref = convert<T>(yr);
  expect_same_bits(y, y_ref, "y");
  CHECK(am == am_ref);
  cuda::max_pool3d_backward(dtype_of<T>(), s, dy.data(), am.data(), dx.data(), nullptr);
  cpu::max_pool3d_backward(dtype_of<Ref<T>>(), s, dyr.data(), am_ref.data(), dxr.data());
  dx_ref = convert<T>(dxr);
  expect_same_bits(dx, dx_ref, "dx");
}

template <class T>
void check_avg(const Pool3dShape& s, uint32_t seed) {
  INFO("adaptive avg pool planes " << s.planes << " " << s.D << "x" << s.H << "x" << s.W << " → " << s.Z << "x" << s.P
                                   << "x" << s.Q << " " << dtype_name(dtype_of<T>()));
  const size_t in = size_t(s.planes * s.D * s.H * s.W), out = size_t(s.planes * s.Z * s.P * s.Q);
  std::vector<T> x = random_values<T>(in, seed), dy = random_values<T>(out, seed + 1);
  emu::DeviceBuffer bx(x.data(), in * sizeof(T)), bdy(dy.data(), out * sizeof(T));
  std::vector<T> y = poisoned<T>(out), y_ref(out), dx = poisoned<T>(in), dx_ref(in);
  cuda::adaptive_avg_pool3d(dtype_of<T>(), s, x.data(), y.data(), nullptr);
  std::vector<Ref<T>> xr = convert<Ref<T>>(x), dyr = convert<Ref<T>>(dy), yr(out), dxr(in);
  cpu::adaptive_avg_pool3d(dtype_of<Ref<T>>(), s, xr.data(), yr.data());
  y_ref = convert<T>(yr);
  expect_same_bits(y, y_ref, "y");
  cuda::adaptive_avg_pool3d_backward(dtype_of<T>(), s, dy.data(), dx.data(), nullptr);
  cpu::adaptive_avg_pool3d_backward(dtype_of<Ref<T>>(), s, dyr.data(), dxr.data());
  dx_ref = convert<T>(dxr);
  expect_same_bits(dx, dx_ref, "dx");
}

}  // namespace

TEST_CASE("emulated cuda max_pool3d forward and backward are bit-exact with the CPU", "[emu][pool]") {
  uint32_t seed = 3;
  for (const Pool3dShape& s : {max_shape(3, 4, 9, 9, 3, 2, 1), max_shape(2, 5, 6, 7, 2, 1, 1),
                               max_shape(1, 3, 3, 3, 3, 3, 0), max_shape(4, 2, 8, 5, 3, 2, 1)}) {
    check_max<double>(s, seed += 10);
    check_max<float>(s, seed += 10);
    check_max<BFloat16>(s, seed += 10);
  }
}

TEST_CASE("emulated cuda adaptive_avg_pool3d forward and backward are bit-exact with the CPU", "[emu][pool]") {
  uint32_t seed = 5;
  for (const Pool3dShape& s : {avg_shape(3, 4, 7, 7, 1, 1, 1), avg_shape(2, 5, 7, 6, 3, 4, 4),
                               avg_shape(2, 2, 3, 3, 3, 5, 4), avg_shape(5, 1, 1, 1, 1, 1, 1)}) {
    check_avg<double>(s, seed += 10);
    check_avg<float>(s, seed += 10);
    check_avg<BFloat16>(s, seed += 10);
  }
}
