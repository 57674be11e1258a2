#pragma once
// The implicit-GEMM conv3d kernel on tensor cores (mma.sync, sm_80+), one template for the three
// operators (their coordinate maps are kernels/common/conv3d_igemm.h). Not a public header.
//
// A CTA computes a BM × BN tile of C[M][Ngemm] over its share of the reduction (split-K over
// gridDim.z); 8 warps, each a (BM/WARPS_M) × (BN/WARPS_N) block of m16n8 MMA tiles. Per
// BK = 32 step both operand tiles go global → registers → shared memory (as [row][k], k fastest,
// so one 32-bit shared load is one MMA register), and the next step's global loads are issued
// before this step's MMAs so their latency hides behind the math (register double buffering; a
// cp.async pipeline would also overlap the shared-memory stores and is the next step).
//   bf16: mma.m16n8k16 bf16 → f32, 2 k-steps per tile.
//   f32 (TF32): operands rounded to TF32 (cvt.rna) on their way to shared memory, mma.m16n8k8.
// Operands are read in chunks of 8 consecutive elements (two 16-byte loads for f32, one for bf16)
// when conv3d_igemm_vector holds, else element by element (odd channel counts).
// Output: with one split, the tile is written in the storage type; with several, fp32 partials go
// to workspace [split][M][Ngemm] and igemm_reduce_splits sums them in split order: deterministic.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/common/bf16.h"
#include "kernels/common/conv3d_igemm.h"
#include "kernels/cuda/dialect.h"

namespace mtmap::cuda::igemm {

// The tiling and the split plan are host code in the common header (the CPU tests check them).
using ::mtmap::igemm::chunk_pos;
using ::mtmap::igemm::ChunkPos;
using ::mtmap::igemm::kBK;
using ::mtmap::igemm::kChunk;
using ::mtmap::igemm::Plan;
using ::mtmap::igemm::Tile;
using ::mtmap::igemm::tile_m;
using ::mtmap::igemm::tile_n;

inline constexpr int kThreads = 256;

struct Args {
  IgemmGeom g;
  const void* a;          // operand A (channels-last tensor)
  const void* b;          // operand B
  void* out;              // C[M][Ngemm] in the storage type (splits == 1) or fp32 partials
  int k_tiles_per_split;  // reduction tiles per gridDim.z slice
  bool vector;            // conv3d_igemm_vector held (and the pointers are 16-byte aligned)
};

template <class T>
struct Smem;  // shared-memory element: bf16 bits, or TF32 bits in a 32-bit word
template <>
struct Smem<BFloat16> {
  using type = uint16_t;
  static constexpr int ld = kBK + 8;  // 80-byte rows: fragment loads of a warp hit 32 banks
};
template <>
struct Smem<float> {
  using type = uint32_t;
  static constexpr int ld = kBK + 4;  // 144-byte rows: same property
};

template <class T>
__device__ __forceinline__ typename Smem<T>::type to_smem(T v) {
  if constexpr (std::is_same_v<T, BFloat16>) {
    return v.bits;
  } else {
#if defined(MTMAP_CUDA_EMU)
    return ::mtmap::emu::cvt_rna_tf32(v);
#else
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
    return r;
#endif
  }
}

// Eight elements of T from a 16-byte aligned address (vector path).
template <class T>
struct alignas(16) Chunk {
  T v[kChunk];
};

template <class T>
__device__ __forceinline__ void load_chunk(Chunk<T>& c, const T* base, int off) {
  if constexpr (std::is_same_v<T, BFloat16>) {
    *reinterpret_cast<uint4*>(c.v) = __ldg(reinterpret_cast<const uint4*>(base + off));
  } else {
    const float4* p = reinterpret_cast<const float4*>(base + off);
    *reinterpret_cast<float4*>(c.v) = __ldg(p);
    *reinterpret_cast<float4*>(c.v + 4) = __ldg(p + 1);
  }
}

template <class T>
__device__ __forceinline__ T load_one(const T* base, int off) {
  if constexpr (std::is_same_v<T, BFloat16>) {
    return BFloat16{__ldg(reinterpret_cast<const unsigned short*>(base) + off)};
  } else {
    return __ldg(base + off);
  }
}

template <class T>
__device__ __forceinline__ T zero() {
  if constexpr (std::is_same_v<T, BFloat16>)
    return BFloat16{0};
  else
    return 0.0f;
}

// One operand tile (ROWS × kBK) of a CTA: which chunks this thread loads, their per-row prep,
// the global → register load and the register → shared store.
template <class Map, bool AlongK, int ROWS, class T>
struct TileLoader {
  static constexpr int kChunks = ROWS * kBK / kChunk / kThreads;  // per thread
  static_assert(kChunks >= 1 && ROWS * kBK % (kChunk * kThreads) == 0, "tile too small for the CTA");
  using S = typename Smem<T>::type;
  static constexpr int ld = Smem<T>::ld;

  int row[kChunks];  // first row of each chunk (within the tile)
  int kk[kChunks];   // first reduction index of each chunk (within the tile)
  typename Map::Prep prep[kChunks];
  Chunk<T> reg[kChunks];

  __device__ void init(const IgemmGeom& g, int row0, int tid) {
#pragma unroll
    for (int i = 0; i < kChunks; ++i) {
      ChunkPos c = chunk_pos(tid, i, kThreads, ROWS, AlongK);
      row[i] = c.row;
      kk[i] = c.kk;
      // (A gather map along the rows prepares per reduction index in load(); this one is unused.)
      prep[i] = Map::prep(g, row0 + row[i]);
    }
  }

  __device__ void load(const IgemmGeom& g, const T* base, int row0, int k0, bool vector) {
#pragma unroll
    for (int i = 0; i < kChunks; ++i) {
      int kr = k0 + kk[i];
      if constexpr (std::is_base_of_v<IgemmGatherMap, Map>) {
        // The stem's maps give a chunk's 8 offsets at once (conv3d_igemm.h). Along the rows their
        // per-reduction-index part is what varies, so it is prepared here, once per chunk.
        int off[kChunk];
        if constexpr (AlongK)
          Map::offsets(g, prep[i], row0 + row[i], kr, off);
        else
          Map::offsets(g, Map::prep(g, kr), row0 + row[i], kr, off);
#pragma unroll
        for (int e = 0; e < kChunk; ++e) reg[i].v[e] = off[e] >= 0 ? load_one(base, off[e]) : zero<T>();
      } else if (vector) {
        // The first element's offset covers the chunk (conv3d_igemm.h: the vector condition).
        int off = Map::offset(g, prep[i], kr);
        if (off >= 0) {
          load_chunk(reg[i], base, off);
        } else {
#pragma unroll
          for (int e = 0; e < kChunk; ++e) reg[i].v[e] = zero<T>();
        }
      } else {
#pragma unroll
        for (int e = 0; e < kChunk; ++e) {
          int off;
          if constexpr (AlongK)
            off = Map::offset(g, prep[i], kr + e);
          else
            off = Map::offset(g, Map::prep(g, row0 + row[i] + e), kr);
          reg[i].v[e] = off >= 0 ? load_one(base, off) : zero<T>();
        }
      }
    }
  }

  __device__ void store(S* tile) const {
#pragma unroll
    for (int i = 0; i < kChunks; ++i) {
      if constexpr (AlongK) {
        // One row's 8 consecutive k: 16 (bf16) or 32 (TF32) bytes, 16-byte aligned (ld·sizeof(S)
        // and kk·sizeof(S) are multiples of 16), stored as whole vectors.
        alignas(16) S tmp[kChunk];
#pragma unroll
        for (int e = 0; e < kChunk; ++e) tmp[e] = to_smem(reg[i].v[e]);
        uint4* dst = reinterpret_cast<uint4*>(tile + row[i] * ld + kk[i]);
#pragma unroll
        for (int v = 0; v < int(sizeof(tmp)) / int(sizeof(uint4)); ++v) dst[v] = reinterpret_cast<const uint4*>(tmp)[v];
      } else {
#pragma unroll
        for (int e = 0; e < kChunk; ++e) tile[(row[i] + e) * ld + kk[i]] = to_smem(reg[i].v[e]);
      }
    }
  }
};

template <class T>
__device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(MTMAP_CUDA_EMU)
  if constexpr (std::is_same_v<T, BFloat16>)
    ::mtmap::emu::mma_m16n8k16_bf16(d, a, b);
  else
    ::mtmap::emu::mma_m16n8k8_tf32(d, a, b);
#elif MTMAP_SM80_CODE
  if constexpr (std::is_same_v<T, BFloat16>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
#else
  (void)d, (void)a, (void)b;
#endif
}

template <class T>
__device__ __forceinline__ void store_out(T* out, int64_t i, float v) {
  if constexpr (std::is_same_v<T, BFloat16>)
    out[i] = float_to_bf16(v);
  else
    out[i] = v;
}

// Fragment layouts (PTX ISA, "Matrix fragments for mma.m16n8k16 / m16n8k8"): lane = 4·g + t.
//   bf16 A: {A[g][2t..2t+1], A[g+8][2t..], A[g][2t+8..], A[g+8][2t+8..]}; B: {B[2t..2t+1][g], B[2t+8..][g]}
//   tf32 A: {A[g][t], A[g+8][t], A[g][t+4], A[g+8][t+4]};                  B: {B[t][g], B[t+4][g]}
//   C (both): {C[g][2t], C[g][2t+1], C[g+8][2t], C[g+8][2t+1]}
template <class Op, class T, int BM, int BN, int WARPS_M, int WARPS_N>
__global__ void __launch_bounds__(kThreads) igemm_kernel(Args args) {
#if MTMAP_SM80_CODE
  static_assert(WARPS_M * WARPS_N * 32 == kThreads, "8 warps per CTA");
  constexpr int WTM = BM / WARPS_M, WTN = BN / WARPS_N;  // warp tile
  constexpr int MT = WTM / 16, NT = WTN / 8;             // MMA tiles per warp
  constexpr bool kBf16 = std::is_same_v<T, BFloat16>;
  constexpr int KSTEP = kBf16 ? 16 : 8;
  using S = typename Smem<T>::type;
  constexpr int ld = Smem<T>::ld;
  __shared__ __align__(16) S As[BM * ld];
  __shared__ __align__(16) S Bs[BN * ld];

  const IgemmGeom& g = args.g;
  const T* a = static_cast<const T*>(args.a);
  const T* b = static_cast<const T*>(args.b);
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int warp_m = warp / WARPS_N, warp_n = warp % WARPS_N;
  const int gq = lane / 4, tq = lane % 4;
  const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;

  const int k_tiles = (g.Kred + kBK - 1) / kBK;
  const int kt_begin = blockIdx.z * args.k_tiles_per_split;
  const int kt_end = min(k_tiles, kt_begin + args.k_tiles_per_split);

  TileLoader<typename Op::A, Op::a_along_k, BM, T> la;
  TileLoader<typename Op::B, Op::b_along_k, BN, T> lb;
  la.init(g, m0, tid);
  lb.init(g, n0, tid);

  float acc[MT][NT][4];
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

  if (kt_begin < kt_end) {
    la.load(g, a, m0, kt_begin * kBK, args.vector);
    lb.load(g, b, n0, kt_begin * kBK, args.vector);
  }
  for (int kt = kt_begin; kt < kt_end; ++kt) {
    la.store(As);
    lb.store(Bs);
    __syncthreads();
    if (kt + 1 < kt_end) {  // next tile's global loads, in flight during this tile's MMAs
      la.load(g, a, m0, (kt + 1) * kBK, args.vector);
      lb.load(g, b, n0, (kt + 1) * kBK, args.vector);
    }
#pragma unroll
    for (int ks = 0; ks < kBK; ks += KSTEP) {
      uint32_t af[MT][4], bfr[NT][2];
#pragma unroll
      for (int i = 0; i < MT; ++i) {
        const S* base = As + (warp_m * WTM + i * 16 + gq) * ld + ks;
        if constexpr (kBf16) {
          af[i][0] = *reinterpret_cast<const uint32_t*>(base + 2 * tq);
          af[i][1] = *reinterpret_cast<const uint32_t*>(base + 8 * ld + 2 * tq);
          af[i][2] = *reinterpret_cast<const uint32_t*>(base + 2 * tq + 8);
          af[i][3] = *reinterpret_cast<const uint32_t*>(base + 8 * ld + 2 * tq + 8);
        } else {
          af[i][0] = base[tq];
          af[i][1] = base[8 * ld + tq];
          af[i][2] = base[tq + 4];
          af[i][3] = base[8 * ld + tq + 4];
        }
      }
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const S* base = Bs + (warp_n * WTN + j * 8 + gq) * ld + ks;
        if constexpr (kBf16) {
          bfr[j][0] = *reinterpret_cast<const uint32_t*>(base + 2 * tq);
          bfr[j][1] = *reinterpret_cast<const uint32_t*>(base + 2 * tq + 8);
        } else {
          bfr[j][0] = base[tq];
          bfr[j][1] = base[tq + 4];
        }
      }
#pragma unroll
      for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j) mma<T>(acc[i][j], af[i], bfr[j]);
    }
    __syncthreads();  // every warp is done reading before the next store overwrites the tiles
  }

  // Epilogue: row-major C[M][Ngemm], ld = Ngemm.
  const bool partial = gridDim.z > 1;
  float* part = static_cast<float*>(args.out) + int64_t(blockIdx.z) * g.M * g.Ngemm;
  T* out = static_cast<T*>(args.out);
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        int r = m0 + warp_m * WTM + i * 16 + gq + (e >= 2 ? 8 : 0);
        int c = n0 + warp_n * WTN + j * 8 + 2 * tq + (e & 1);
        if (r < g.M && c < g.Ngemm) {
          int64_t idx = int64_t(r) * g.Ngemm + c;
          if (partial)
            part[idx] = acc[i][j][e];
          else
            store_out(out, idx, acc[i][j][e]);
        }
      }
#else
  (void)args;
  __trap();  // built for an architecture without mma.sync bf16/tf32: the launcher refuses first
#endif
}

// out[i] = Σ_{s < splits} part[s][i], summed in split order (deterministic), stored as T.
template <class T>
__global__ void igemm_reduce_splits(const float* part, int64_t n, int splits, T* out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float s = 0.0f;
    for (int k = 0; k < splits; ++k) s += part[int64_t(k) * n + i];
    store_out(out, i, s);
  }
}

}  // namespace mtmap::cuda::igemm

namespace mtmap::cuda::igemm {

// Enqueues the GEMM of operator Op (and the split reduction) for storage type T. `partial` holds
// splits · M · Ngemm floats when splits > 1.
template <class Op, class T>
void run(const Plan& plan, const IgemmGeom& g, const void* a, const void* b, void* out, float* partial,
         cudaStream_t stream) {
  Args args{g, a, b, plan.splits > 1 ? static_cast<void*>(partial) : out, plan.k_tiles_per_split, plan.vector};
  dim3 grid(unsigned((g.M + tile_m(plan.tile) - 1) / tile_m(plan.tile)),
            unsigned((g.Ngemm + tile_n(plan.tile) - 1) / tile_n(plan.tile)), unsigned(plan.splits));
  switch (plan.tile) {
    case Tile::t128x128:
      launch_kernel(igemm_kernel<Op, T, 128, 128, 2, 4>, grid, dim3(kThreads), 0, stream, args);
      break;
    case Tile::t128x64:
      launch_kernel(igemm_kernel<Op, T, 128, 64, 4, 2>, grid, dim3(kThreads), 0, stream, args);
      break;
    case Tile::t64x128:
      launch_kernel(igemm_kernel<Op, T, 64, 128, 2, 4>, grid, dim3(kThreads), 0, stream, args);
      break;
  }
  if (plan.splits > 1) {
    int64_t n = int64_t(g.M) * g.Ngemm;
    unsigned blocks = unsigned(std::min<int64_t>((n + 255) / 256, 65536));
    launch_kernel(igemm_reduce_splits<T>, dim3(blocks), dim3(256), 0, stream, static_cast<const float*>(partial), n,
                  plan.splits, static_cast<T*>(out));
  }
}

#if !defined(MTMAP_CUDA_EMU)
// The kernel's compiled architecture (cudaFuncAttributes::binaryVersion, e.g. 90), to refuse a
// build without sm_80+ code before launching a kernel that would trap.
template <class Op, class T>
int binary_version() {
  cudaFuncAttributes attr{};
  if (cudaFuncGetAttributes(&attr, igemm_kernel<Op, T, 128, 128, 2, 4>) != cudaSuccess) return 0;
  return attr.binaryVersion;
}
#endif

}  // namespace mtmap::cuda::igemm
