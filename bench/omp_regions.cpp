// What one OpenMP parallel region costs under the current wait policy: 2,000 empty regions in a
// row, then each after about 20 µs and 200 µs of serial work (the gaps between a training step's
// regions). Run it under each policy to compare, e.g.
//   OMP_WAIT_POLICY=PASSIVE ./build/bench/bench_omp_regions
//   ./build/bench/bench_omp_regions
// A region under PASSIVE wakes sleeping threads (docs/perf/cpu.md).
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

int main() {
  volatile double sink = 0;
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  std::printf("{\"kind\": \"omp_regions\", \"threads\": %d, \"wait_policy\": \"%s\"", omp_get_max_threads(),
              policy ? policy : "default");
  for (const long serial : {0L, 20000L, 200000L}) {
    // The serial work alone, timed first, is subtracted from each region's time.
    auto work = [&] {
      double s = 0;
      for (long k = 0; k < serial; ++k) s += std::sqrt(double(k));
      sink = sink + s;
    };
    const int n = 2000;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) work();
    const double serial_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / n;
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
#pragma omp parallel
      { sink = sink + omp_get_thread_num(); }
      work();
    }
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / n;
    std::printf(", \"region_us_after_%.0f_us\": %.1f", serial_s * 1e6, (total - serial_s) * 1e6);
  }
  std::printf("}\n");
}
