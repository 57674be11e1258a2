// Layout moves of the conv3d GEMM path: NCDHW ↔ NDHWC (with channel padding for the stem), channel
// repacking of channels-last tensors and the dgrad weight layout. Elements are moved as raw 2- or
// 4-byte words (bf16 / f32 bit patterns), so one kernel serves both dtypes and zero is all-zero.
#include <stdexcept>
#include <string>

#include "kernels/cuda/conv3d_internal.h"
#include "kernels/cuda/launch.cuh"

namespace mtmap::cuda::conv_detail {
namespace {

constexpr int kTile = 32, kRowsPerPass = 8;  // 32 × 32 tile, 32 × 8 threads

// [B][C][X] → [B][X][Cp] through a shared tile (padded by one column against bank conflicts):
// reads run along x, writes along c, both coalesced.
template <class E>
__global__ void to_channels_last_kernel(int64_t C, int64_t X, int64_t Cp, const E* __restrict__ src,
                                        E* __restrict__ dst) {
  __shared__ E tile[kTile][kTile + 1];
  const int64_t b = blockIdx.z, x0 = int64_t(blockIdx.x) * kTile, c0 = int64_t(blockIdx.y) * kTile;
  for (int i = threadIdx.y; i < kTile; i += kRowsPerPass) {
    int64_t c = c0 + i, x = x0 + threadIdx.x;
    tile[i][threadIdx.x] = c < C && x < X ? src[(b * C + c) * X + x] : E(0);
  }
  __syncthreads();
  for (int i = threadIdx.y; i < kTile; i += kRowsPerPass) {
    int64_t x = x0 + i, c = c0 + threadIdx.x;
    if (x < X && c < Cp) dst[(b * X + x) * Cp + c] = tile[threadIdx.x][i];
  }
}

// [B][X][Cp] → [B][C][X].
template <class E>
__global__ void to_channels_first_kernel(int64_t C, int64_t X, int64_t Cp, const E* __restrict__ src,
                                         E* __restrict__ dst) {
  __shared__ E tile[kTile][kTile + 1];
  const int64_t b = blockIdx.z, x0 = int64_t(blockIdx.x) * kTile, c0 = int64_t(blockIdx.y) * kTile;
  for (int i = threadIdx.y; i < kTile; i += kRowsPerPass) {
    int64_t x = x0 + i, c = c0 + threadIdx.x;
    tile[i][threadIdx.x] = x < X && c < C ? src[(b * X + x) * Cp + c] : E(0);
  }
  __syncthreads();
  for (int i = threadIdx.y; i < kTile; i += kRowsPerPass) {
    int64_t c = c0 + i, x = x0 + threadIdx.x;
    if (c < C && x < X) dst[(b * C + c) * X + x] = tile[threadIdx.x][i];
  }
}

template <class E>
__global__ void repack_channels_kernel(int64_t n, int64_t Cs, int64_t Cd, const E* __restrict__ src,
                                       E* __restrict__ dst) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t row = i / Cd, c = i % Cd;
    dst[i] = c < Cs ? src[row * Cs + c] : E(0);
  }
}

// One thread per destination element (weights are small: ≤ 7M elements in the r3d-18).
template <class E>
__global__ void ktrsc_to_ctrsk_kernel(int64_t K, int64_t TRS, int64_t C, const E* __restrict__ src,
                                      E* __restrict__ dst) {
  const int64_t n = K * TRS * C;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t k = i % K, rest = i / K;
    int64_t trs = rest % TRS, c = rest / TRS;
    dst[i] = src[(k * TRS + trs) * C + c];
  }
}

template <class F>
void word_switch(const char* launcher, size_t elem, F&& f) {
  if (elem == 2)
    f(uint16_t{});
  else if (elem == 4)
    f(uint32_t{});
  else
    throw std::invalid_argument(std::string("cuda launcher ") + launcher + ": element size " + std::to_string(elem) +
                                " (2 or 4 expected)");
}

dim3 transpose_grid(const char* launcher, int64_t B, int64_t C, int64_t X) {
  if (B > 65535 || (C + kTile - 1) / kTile > 65535)
    throw std::invalid_argument(std::string("cuda launcher ") + launcher + ": batch " + std::to_string(B) +
                                " or channels " + std::to_string(C) + " too large for the grid");
  return dim3(unsigned((X + kTile - 1) / kTile), unsigned((C + kTile - 1) / kTile), unsigned(B));
}

}  // namespace

void to_channels_last(size_t elem, int64_t B, int64_t C, int64_t X, int64_t Cp, const void* src, void* dst,
                      cudaStream_t stream) {
  word_switch("conv3d to_channels_last", elem, [&](auto w) {
    using E = decltype(w);
    launch_kernel(to_channels_last_kernel<E>, dim3(transpose_grid("conv3d to_channels_last", B, Cp, X)), dim3(kTile, kRowsPerPass), 0, stream, C, X, Cp, static_cast<const E*>(src), static_cast<E*>(dst));
  });
  detail::check_launch("conv3d to_channels_last");
}

void to_channels_first(size_t elem, int64_t B, int64_t C, int64_t X, int64_t Cp, const void* src, void* dst,
                       cudaStream_t stream) {
  word_switch("conv3d to_channels_first", elem, [&](auto w) {
    using E = decltype(w);
    launch_kernel(to_channels_first_kernel<E>, dim3(transpose_grid("conv3d to_channels_first", B, C, X)), dim3(kTile, kRowsPerPass), 0, stream, C, X, Cp, static_cast<const E*>(src), static_cast<E*>(dst));
  });
  detail::check_launch("conv3d to_channels_first");
}

void repack_channels(size_t elem, int64_t rows, int64_t Cs, int64_t Cd, const void* src, void* dst,
                     cudaStream_t stream) {
  word_switch("conv3d repack_channels", elem, [&](auto w) {
    using E = decltype(w);
    int64_t n = rows * Cd;
    launch_kernel(repack_channels_kernel<E>, dim3(detail::blocks_for(n)), dim3(detail::kThreads), 0, stream, n, Cs, Cd, static_cast<const E*>(src), static_cast<E*>(dst));
  });
  detail::check_launch("conv3d repack_channels");
}

void weights_ktrsc_to_ctrsk(size_t elem, int64_t K, int64_t TRS, int64_t C, const void* src, void* dst,
                            cudaStream_t stream) {
  word_switch("conv3d weights_ktrsc_to_ctrsk", elem, [&](auto w) {
    using E = decltype(w);
    launch_kernel(ktrsc_to_ctrsk_kernel<E>, dim3(detail::blocks_for(K * TRS * C)), dim3(detail::kThreads), 0, stream, K, TRS, C, static_cast<const E*>(src), static_cast<E*>(dst));
  });
  detail::check_launch("conv3d weights_ktrsc_to_ctrsk");
}

}  // namespace mtmap::cuda::conv_detail
