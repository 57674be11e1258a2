#include "bench/fma_peak.h"

#include <immintrin.h>

#include <chrono>
#include <thread>
#include <vector>

namespace mtmap::bench {
namespace {

constexpr long kIters = 20'000'000;

// 12 independent accumulators hide the FMA latency (4 cycles × 2 ports needs ≥ 8 in flight).
__attribute__((target("avx512f"))) double run_avx512(float* sink) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(1.0f + 1e-7f * float(i));
  const __m512 m = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < kIters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  alignas(64) float out[16];
  _mm512_store_ps(out, s);
  *sink = out[0];
  return 2.0 * 16 * 12 * double(kIters);
}

__attribute__((target("avx2,fma"))) double run_avx2(float* sink) {
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(1.0f + 1e-7f * float(i));
  const __m256 m = _mm256_set1_ps(0.9999999f), c = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < kIters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  float out[8];
  __m256 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
  _mm256_storeu_ps(out, s);
  *sink = out[0];
  return 2.0 * 8 * 12 * double(kIters);
}

double run_scalar(float* sink) {
  float a[12];
  for (int i = 0; i < 12; ++i) a[i] = 1.0f + 1e-7f * float(i);
  for (long it = 0; it < kIters / 4; ++it)
    for (int i = 0; i < 12; ++i) a[i] = a[i] * 0.9999999f + 1e-7f;
  *sink = a[0];
  return 2.0 * 12 * double(kIters / 4);
}

}  // namespace

FmaPeak measure_fma_peak(int threads) {
  FmaPeak peak;
  peak.threads = threads;
  double (*kernel)(float*) = run_scalar;
  peak.isa = "scalar";
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    kernel = run_avx512;
    peak.isa = "avx512";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    kernel = run_avx2;
    peak.isa = "avx2";
  }
  std::vector<float> sinks(static_cast<size_t>(threads) * 16);
  std::vector<double> flops(static_cast<size_t>(threads));
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { flops[size_t(t)] = kernel(&sinks[size_t(t) * 16]); });
  for (auto& th : pool) th.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double total = 0;
  for (double f : flops) total += f;
  peak.gflops = total / seconds * 1e-9;
  return peak;
}

}  // namespace mtmap::bench
