#pragma once
// Scratch buffers of the direct convolution kernels. std::vector<float>(n) zero-fills on the
// calling thread while the other workers wait (4 % of a CPU training step in `perf record`):
// these buffers are left uninitialised when the kernel writes every element, and zeroed by all
// threads when it needs the zeros (padding).
#include <cstddef>
#include <cstring>
#include <memory>

namespace mtmap::cpu {

template <class T>
std::unique_ptr<T[]> uninitialized_buffer(size_t n) {
  return std::unique_ptr<T[]>(new T[n]);  // default-initialised: no fill
}

// n zeros, written by every OpenMP thread in disjoint ranges.
template <class T>
std::unique_ptr<T[]> zeroed_buffer(size_t n) {
  std::unique_ptr<T[]> p(new T[n]);
  constexpr size_t kChunk = size_t(1) << 16;  // elements per task
  const long chunks = long((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static)
  for (long c = 0; c < chunks; ++c) {
    const size_t first = size_t(c) * kChunk, count = first + kChunk <= n ? kChunk : n - first;
    std::memset(static_cast<void*>(p.get() + first), 0, count * sizeof(T));
  }
  return p;
}

}  // namespace mtmap::cpu
