#pragma once
// The emulated CUDA build (-DMTMAP_CUDA=EMU): a reference model of the one CUB call mtmap makes,
// cub::DeviceRadixSort::SortPairs, with its documented semantics (a stable ascending sort of the
// pairs by key bits [begin_bit, end_bit); a null temp storage only reports the bytes it needs).
#include <algorithm>
#include <cstddef>
#include <numeric>
#include <vector>

#include "tests/cuda_emu/emulator/runtime.h"

namespace cub {

struct DeviceRadixSort {
  template <class K, class V, class N>
  static cudaError_t SortPairs(void* temp, size_t& temp_bytes, const K* keys_in, K* keys_out, const V* values_in,
                               V* values_out, N n, int begin_bit = 0, int end_bit = int(sizeof(K) * 8),
                               cudaStream_t = nullptr) {
    if (temp == nullptr) {
      temp_bytes = 1;
      return cudaSuccess;
    }
    using U = std::make_unsigned_t<K>;
    auto bits = [&](K k) {
      U u = U(k) >> begin_bit;
      const int width = end_bit - begin_bit;
      return width >= int(sizeof(U) * 8) ? u : U(u & ((U(1) << width) - 1));
    };
    std::vector<size_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return bits(keys_in[a]) < bits(keys_in[b]); });
    std::vector<K> k(order.size());
    std::vector<V> v(order.size());
    for (size_t i = 0; i < order.size(); ++i) k[i] = keys_in[order[i]], v[i] = values_in[order[i]];
    std::copy(k.begin(), k.end(), keys_out);
    std::copy(v.begin(), v.end(), values_out);
    return cudaSuccess;
  }
};

}  // namespace cub
