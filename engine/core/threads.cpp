#include "engine/core/threads.h"

#include <cblas.h>
#include <omp.h>

#include <cstdlib>
#include <vector>

#include "engine/core/error.h"

namespace mtmap {

void set_num_threads(int n) {
  MTMAP_CHECK(n >= 1, "set_num_threads: {} threads requested", n);
  openblas_set_num_threads(n);
  omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

void reserve_blas_buffers() {
  const int n = omp_get_max_threads();
  // One buffer per thread and one for the calling thread, with room to spare: OpenBLAS's
  // BUFFER_SIZE is 128 MiB on x86-64 (plus alignment).
  constexpr size_t kBuffer = size_t(136) << 20;
  const size_t need = kBuffer * size_t(n + 1);
  void* probe = std::malloc(need);
  if (!probe)
    throw OutOfMemory(fmt::format("out of memory at the start: OpenBLAS's work buffers need about {} MiB of address "
                                  "space ({} thread{} and the caller, 128 MiB each) and the process cannot get it "
                                  "(a low `ulimit -v`, or a full machine); fewer threads need less",
                                  need >> 20, n, n == 1 ? "" : "s"));
  std::free(probe);
  // A GEMM large enough to take OpenBLAS's buffered path (small ones may skip the buffer).
  constexpr int k = 64;
  std::vector<float> a(k * k, 1.0f), b(k * k, 1.0f);
  auto touch = [&] {
    std::vector<float> c(k * k, 0.0f);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, k, k, 1.0f, a.data(), k, b.data(), k, 0.0f, c.data(), k);
  };
  touch();
#pragma omp parallel
  touch();
}

}  // namespace mtmap
