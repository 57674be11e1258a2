#pragma once
// The implicit-GEMM conv3d kernel on tensor cores (mma.sync, sm_80+), one template for the three
// operators (their coordinate maps are kernels/common/conv3d_igemm.h). Not a public header.
//
// A CTA computes a BM × BN tile of C[M][Ngemm] over its share of the reduction (split-K over
// gridDim.z); 8 warps, each a (BM/WARPS_M) × (BN/WARPS_N) block of m16n8 MMA tiles. Per
// BK = 32 step both operand tiles reach shared memory in the layout their global chunks run in:
// [row][k] (k fastest) for operands read along the reduction (fprop, dgrad), [k][row] for those
// read along their rows (wgrad), so a chunk is always one or two 16-byte shared stores and the
// MMA fragments are read with ldmatrix (.trans for [k][row]) or 32-bit loads. Two kernels:
//   igemm_kernel: global → registers → shared, the next step's loads in flight during this
//     step's MMAs (register double buffering); every operand map, element or vector loads.
//   igemm_async_kernel: a 3-stage cp.async pipeline (global → shared without registers) for
//     vector operands of the general maps.
//   bf16: mma.m16n8k16 bf16 → f32, 2 k-steps per tile.
//   f32 (TF32): operands rounded to TF32 (cvt.rna) on their way into shared memory (register-
//     staged) or out of it (cp.async), mma.m16n8k8.
// Operands are read in chunks of 8 consecutive elements (two 16-byte loads for f32, one for bf16)
// when conv3d_igemm_vector holds, else element by element (odd channel counts).
// Output: with one split, the tile is written in the storage type; with several, fp32 partials go
// to workspace [split][M][Ngemm] and igemm_reduce_splits sums them in split order: deterministic.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/common/bf16.h"
#include "kernels/common/conv3d_igemm.h"
#include "kernels/common/dtype.h"
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

// One operand tile of ROWS rows × kBK reduction indices in shared memory. [row][k] keeps Smem's
// padded rows; [k][row] (KMajor) pads each k-row by 8 elements: 144 or 272 bytes (bf16) and
// ROWS + 8 ≡ 8 words mod 32 (TF32), so the 8 row addresses of an ldmatrix matrix, and the
// 32 lanes' scalar TF32 fragment loads (k = t, row = g), each fall in different banks.
template <class T, bool KMajor, int ROWS>
struct TileLayout {
  static constexpr bool k_major = KMajor;
  static constexpr int ld = KMajor ? ROWS + 8 : Smem<T>::ld;
  static constexpr int elems = KMajor ? kBK * ld : ROWS * ld;
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
  static constexpr int ld = TileLayout<T, !AlongK, ROWS>::ld;

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
      // A chunk's 8 elements are consecutive in the tile's layout ([row][k] along k, [k][row]
      // along the rows): 16 (bf16) or 32 (TF32) bytes, 16-byte aligned (ld·sizeof(S) and the
      // chunk's first index · sizeof(S) are multiples of 16), stored as whole vectors.
      alignas(16) S tmp[kChunk];
#pragma unroll
      for (int e = 0; e < kChunk; ++e) tmp[e] = to_smem(reg[i].v[e]);
      uint4* dst = reinterpret_cast<uint4*>(AlongK ? tile + row[i] * ld + kk[i] : tile + kk[i] * ld + row[i]);
#pragma unroll
      for (int v = 0; v < int(sizeof(tmp)) / int(sizeof(uint4)); ++v) dst[v] = reinterpret_cast<const uint4*>(tmp)[v];
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

// ---- shared pieces of the two kernels -------------------------------------------------------

// ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16: lane l gives the address of row l % 8 of
// matrix l / 8; .trans hands each lane the elements of the transposed matrix.
template <bool Trans>
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
#if defined(MTMAP_CUDA_EMU)
  ::mtmap::emu::ldmatrix<4>(r, row, Trans);
#elif MTMAP_SM80_CODE
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(row));
  if constexpr (Trans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
#else
  (void)r, (void)row;
#endif
}

// Raw f32 bits → TF32 (round to nearest, ties away), for tiles that cp.async filled unconverted.
__device__ __forceinline__ uint32_t tf32_bits(uint32_t f32_bits) { return to_smem<float>(__uint_as_float(f32_bits)); }

// Element (row, k) of a shared operand tile in its layout (TileLayout).
template <bool KMajor, int LD, class S>
__device__ __forceinline__ const S* tile_at(const S* tile, int row, int k) {
  return KMajor ? tile + k * LD + row : tile + row * LD + k;
}

// One BK step of a warp's MMAs on the CTA's shared tiles As (BM rows), Bs (BN rows), each in its
// TileLayout (LA, LB): [row][k], or [k][row] where k_major.
// Fragment layouts (PTX ISA, "Matrix fragments for mma.m16n8k16 / m16n8k8"): lane = 4·g + t.
//   bf16 A: {A[g][2t..2t+1], A[g+8][2t..], A[g][2t+8..], A[g+8][2t+8..]}; B: {B[2t..2t+1][g], B[2t+8..][g]}
//     loaded with ldmatrix.x4: for A the matrices (rows 0–7 | 8–15) × (k 0–7 | 8–15); for B two
//     n-tiles at once, (n-tile j | j+1) × (k 0–7 | 8–15). Lane l addresses stored row l % 8 of
//     its matrix: a tile row in [row][k] tiles, a k in [k][row] tiles, where .trans turns the
//     stored 8 × 8 block back into the fragment's orientation. Stored rows are 80 ([row][k]),
//     144 or 272 bytes ([k][row]) apart: a matrix's 8 rows fall in 8 different 16-byte bank
//     groups (no conflicts).
//   tf32 A: {A[g][t], A[g+8][t], A[g][t+4], A[g+8][t+4]};                  B: {B[t][g], B[t+4][g]}
//     32-bit shared loads; with kRawF32 the tiles hold f32 bits, rounded to TF32 here.
//   C (both): {C[g][2t], C[g][2t+1], C[g+8][2t], C[g+8][2t+1]}
template <class T, int MT, int NT, int WTM, int WTN, bool kRawF32, class LA, class LB>
__device__ __forceinline__ void warp_mma_tile(const typename Smem<T>::type* As, const typename Smem<T>::type* Bs,
                                              int warp_m, int warp_n, int lane, float (&acc)[MT][NT][4]) {
  using S = typename Smem<T>::type;
  constexpr bool kBf16 = std::is_same_v<T, BFloat16>;
  constexpr int KSTEP = kBf16 ? 16 : 8;
  constexpr bool AKMajor = LA::k_major, BKMajor = LB::k_major;
  constexpr int LDA = LA::ld, LDB = LB::ld;
  const int gq = lane / 4, tq = lane % 4;
  const int m_base = warp_m * WTM, n_base = warp_n * WTN;
#pragma unroll
  for (int ks = 0; ks < kBK; ks += KSTEP) {
    uint32_t af[MT][4], bfr[NT][2];
    if constexpr (kBf16) {
      static_assert(NT % 2 == 0, "B fragments are loaded two n-tiles at a time");
      const int r8 = lane % 8;  // the stored row this lane addresses within its matrix
      // A: matrix l / 8 covers rows 8·((l / 8) % 2) and k 8·(l / 16) of the 16 × 16 block.
      const int a_row = 8 * ((lane / 8) % 2) + (AKMajor ? 0 : r8), a_k = 8 * (lane / 16) + (AKMajor ? r8 : 0);
      // B: matrix l / 8 covers n-tile l / 16 and k 8·((l / 8) % 2).
      const int b_row = 8 * (lane / 16) + (BKMajor ? 0 : r8), b_k = 8 * ((lane / 8) % 2) + (BKMajor ? r8 : 0);
#pragma unroll
      for (int i = 0; i < MT; ++i)
        ldmatrix_x4<AKMajor>(af[i], tile_at<AKMajor, LDA>(As, m_base + i * 16 + a_row, ks + a_k));
#pragma unroll
      for (int j = 0; j < NT; j += 2) {
        uint32_t r[4];
        ldmatrix_x4<BKMajor>(r, tile_at<BKMajor, LDB>(Bs, n_base + j * 8 + b_row, ks + b_k));
        bfr[j][0] = r[0], bfr[j][1] = r[1], bfr[j + 1][0] = r[2], bfr[j + 1][1] = r[3];
      }
    } else {
      auto a_at = [&](int row, int k) {
        S v = *tile_at<AKMajor, LDA>(As, row, k);
        return kRawF32 ? tf32_bits(v) : v;
      };
      auto b_at = [&](int row, int k) {
        S v = *tile_at<BKMajor, LDB>(Bs, row, k);
        return kRawF32 ? tf32_bits(v) : v;
      };
#pragma unroll
      for (int i = 0; i < MT; ++i) {
        const int row = m_base + i * 16 + gq;
        af[i][0] = a_at(row, ks + tq);
        af[i][1] = a_at(row + 8, ks + tq);
        af[i][2] = a_at(row, ks + tq + 4);
        af[i][3] = a_at(row + 8, ks + tq + 4);
      }
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const int row = n_base + j * 8 + gq;
        bfr[j][0] = b_at(row, ks + tq);
        bfr[j][1] = b_at(row, ks + tq + 4);
      }
    }
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int j = 0; j < NT; ++j) mma<T>(acc[i][j], af[i], bfr[j]);
  }
}

// Where this thread and its CTA sit: warp within the CTA, the CTA's output tile, and its share
// of the reduction tiles (split-K over gridDim.z).
struct CtaPlace {
  int tid, lane, warp_m, warp_n, m0, n0, kt_begin, kt_end;
  __device__ CtaPlace(const Args& args, int BM, int BN, int WARPS_N) {
    tid = int(threadIdx.x), lane = tid % 32;
    const int warp = tid / 32;
    warp_m = warp / WARPS_N, warp_n = warp % WARPS_N;
    m0 = int(blockIdx.x) * BM, n0 = int(blockIdx.y) * BN;
    const int k_tiles = (args.g.Kred + kBK - 1) / kBK;
    kt_begin = int(blockIdx.z) * args.k_tiles_per_split;
    kt_end = min(k_tiles, kt_begin + args.k_tiles_per_split);
  }
};

template <int MT, int NT>
__device__ __forceinline__ void zero_acc(float (&acc)[MT][NT][4]) {
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;
}

// The accumulators to C[M][Ngemm]: in the storage type at the output rows of Op
// (igemm_out_row), or as fp32 partials of split z, dense [z][M][Ngemm].
template <class Op, class T, int MT, int NT, int WTM, int WTN>
__device__ __forceinline__ void write_tile(const Args& args, int m0, int n0, int warp_m, int warp_n, int lane,
                                           const float (&acc)[MT][NT][4]) {
  const IgemmGeom& g = args.g;
  const int gq = lane / 4, tq = lane % 4;
  const bool partial = gridDim.z > 1;
  float* part = static_cast<float*>(args.out) + int64_t(blockIdx.z) * g.M * g.Ngemm;
  T* out = static_cast<T*>(args.out);
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int half = 0; half < 2; ++half) {  // accumulator elements {0, 1} are row g, {2, 3} row g + 8
      const int r = m0 + warp_m * WTM + i * 16 + gq + 8 * half;
      if (r >= g.M) continue;
      const int64_t row = partial ? r : igemm_out_row<Op>(g, r);
#pragma unroll
      for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = n0 + warp_n * WTN + j * 8 + 2 * tq + e;
          if (c >= g.Ngemm) continue;
          const int64_t idx = row * g.Ngemm + c;
          const float v = acc[i][j][2 * half + e];
          if (partial)
            part[idx] = v;
          else
            store_out(out, idx, v);
        }
    }
}

// ---- the register-staged kernel (any operand map) ---------------------------------------------
template <class Op, class T, int BM, int BN, int WARPS_M, int WARPS_N>
__global__ void __launch_bounds__(kThreads) igemm_kernel(Args args) {
#if MTMAP_SM80_CODE
  static_assert(WARPS_M * WARPS_N * 32 == kThreads, "8 warps per CTA");
  constexpr int WTM = BM / WARPS_M, WTN = BN / WARPS_N;  // warp tile
  constexpr int MT = WTM / 16, NT = WTN / 8;             // MMA tiles per warp
  using S = typename Smem<T>::type;
  using LA = TileLayout<T, !Op::a_along_k, BM>;
  using LB = TileLayout<T, !Op::b_along_k, BN>;
  __shared__ __align__(16) S As[LA::elems];
  __shared__ __align__(16) S Bs[LB::elems];

  const IgemmGeom& g = args.g;
  const T* a = static_cast<const T*>(args.a);
  const T* b = static_cast<const T*>(args.b);
  const CtaPlace cta(args, BM, BN, WARPS_N);
  const int tid = cta.tid, lane = cta.lane, warp_m = cta.warp_m, warp_n = cta.warp_n;
  const int m0 = cta.m0, n0 = cta.n0, kt_begin = cta.kt_begin, kt_end = cta.kt_end;

  TileLoader<typename Op::A, Op::a_along_k, BM, T> la;
  TileLoader<typename Op::B, Op::b_along_k, BN, T> lb;
  la.init(g, m0, tid);
  lb.init(g, n0, tid);

  float acc[MT][NT][4];
  zero_acc(acc);

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
    warp_mma_tile<T, MT, NT, WTM, WTN, false, LA, LB>(As, Bs, warp_m, warp_n, lane, acc);
    __syncthreads();  // every warp is done reading before the next store overwrites the tiles
  }
  write_tile<Op, T, MT, NT, WTM, WTN>(args, m0, n0, warp_m, warp_n, lane, acc);
#else
  (void)args;
  __trap();  // built for an architecture without mma.sync bf16/tf32: the launcher refuses first
#endif
}

// ---- the cp.async multi-stage kernel (vector operands whose chunks run along the reduction) -----

// cp.async.cg.shared.global of 16 bytes; src_bytes 0 writes zeros (padding) without reading.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int src_bytes) {
#if defined(MTMAP_CUDA_EMU)
  ::mtmap::emu::cp_async_16(smem, gmem, src_bytes);
#elif MTMAP_SM80_CODE
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(a), "l"(gmem), "r"(src_bytes));
#else
  (void)smem, (void)gmem, (void)src_bytes;
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#if defined(MTMAP_CUDA_EMU)
  ::mtmap::emu::cp_async_commit();
#elif MTMAP_SM80_CODE
  asm volatile("cp.async.commit_group;");
#endif
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#if defined(MTMAP_CUDA_EMU)
  ::mtmap::emu::cp_async_wait(N);
#elif MTMAP_SM80_CODE
  asm volatile("cp.async.wait_group %0;" ::"n"(N));
#endif
}

// One operand tile's chunks (as TileLoader, vector chunks of a general map) copied global → shared
// with cp.async: no registers in between, so a stage's copies overlap the MMAs of earlier stages.
// Shared memory holds the storage bits (f32 stays f32; warp_mma_tile rounds to TF32), in the
// tile's layout: a chunk is 8 consecutive elements of a row ([row][k]) or of a k ([k][row]).
template <class Map, bool AlongK, int ROWS, class T>
struct AsyncTileLoader {
  static constexpr int kChunks = ROWS * kBK / kChunk / kThreads;
  static constexpr int kCopies = kChunk * int(sizeof(T)) / 16;  // 16-byte copies per chunk
  using S = typename Smem<T>::type;
  using Layout = TileLayout<T, !AlongK, ROWS>;
  static_assert(sizeof(S) == sizeof(T), "the async path stores the storage bits unconverted");

  int row[kChunks], kk[kChunks];
  typename Map::Prep prep[kChunks];

  __device__ void init(const IgemmGeom& g, int row0, int tid) {
#pragma unroll
    for (int i = 0; i < kChunks; ++i) {
      ChunkPos c = chunk_pos(tid, i, kThreads, ROWS, AlongK);
      row[i] = c.row;
      kk[i] = c.kk;
      prep[i] = Map::prep(g, row0 + row[i]);
    }
  }

  __device__ void issue(const IgemmGeom& g, const T* base, int k0, S* tile) const {
#pragma unroll
    for (int i = 0; i < kChunks; ++i) {
      // The first element's offset covers the chunk (conv3d_igemm.h: the vector condition).
      const int off = Map::offset(g, prep[i], k0 + kk[i]);
      const T* src = off >= 0 ? base + off : base;
      S* dst = AlongK ? tile + row[i] * Layout::ld + kk[i] : tile + kk[i] * Layout::ld + row[i];
#pragma unroll
      for (int c = 0; c < kCopies; ++c) cp_async16(dst + c * 16 / int(sizeof(S)), src + c * 16 / int(sizeof(T)), off >= 0 ? 16 : 0);
    }
  }
};

inline constexpr int kStages = 3;

template <class Op, class T, int BM, int BN>
constexpr size_t async_smem_bytes() {
  return size_t(kStages) * (TileLayout<T, !Op::a_along_k, BM>::elems + TileLayout<T, !Op::b_along_k, BN>::elems) *
         sizeof(typename Smem<T>::type);
}

template <class Op, class T, int BM, int BN, int WARPS_M, int WARPS_N>
__global__ void __launch_bounds__(kThreads) igemm_async_kernel(Args args) {
#if MTMAP_SM80_CODE
  static_assert(WARPS_M * WARPS_N * 32 == kThreads, "8 warps per CTA");
  constexpr int WTM = BM / WARPS_M, WTN = BN / WARPS_N;
  constexpr int MT = WTM / 16, NT = WTN / 8;
  using S = typename Smem<T>::type;
  using LA = TileLayout<T, !Op::a_along_k, BM>;
  using LB = TileLayout<T, !Op::b_along_k, BN>;
  constexpr int kStageElems = LA::elems + LB::elems;
  MTMAP_DYNAMIC_SMEM(S, smem);  // kStages × {A tile, B tile}

  const IgemmGeom& g = args.g;
  const T* a = static_cast<const T*>(args.a);
  const T* b = static_cast<const T*>(args.b);
  const CtaPlace cta(args, BM, BN, WARPS_N);
  const int tid = cta.tid, lane = cta.lane, warp_m = cta.warp_m, warp_n = cta.warp_n;
  const int m0 = cta.m0, n0 = cta.n0, kt_begin = cta.kt_begin, kt_end = cta.kt_end;

  AsyncTileLoader<typename Op::A, Op::a_along_k, BM, T> la;
  AsyncTileLoader<typename Op::B, Op::b_along_k, BN, T> lb;
  la.init(g, m0, tid);
  lb.init(g, n0, tid);

  float acc[MT][NT][4];
  zero_acc(acc);

  // Prologue: stages 0 .. kStages−2 in flight. One commit per stage even past the end, so the
  // group count the waits below rely on is the same in every iteration.
#pragma unroll
  for (int st = 0; st < kStages - 1; ++st) {
    const int kt = kt_begin + st;
    if (kt < kt_end) {
      S* stage = smem + st * kStageElems;
      la.issue(g, a, kt * kBK, stage);
      lb.issue(g, b, kt * kBK, stage + LA::elems);
    }
    cp_async_commit();
  }
  for (int kt = kt_begin; kt < kt_end; ++kt) {
    cp_async_wait<kStages - 2>();  // this thread's copies of tile kt have landed
    __syncthreads();               // everyone's have, and everyone is done with tile kt − 1
    const int next = kt + kStages - 1;
    if (next < kt_end) {  // into the stage tile kt − 1 used
      S* stage = smem + ((next - kt_begin) % kStages) * kStageElems;
      la.issue(g, a, next * kBK, stage);
      lb.issue(g, b, next * kBK, stage + LA::elems);
    }
    cp_async_commit();
    const S* stage = smem + ((kt - kt_begin) % kStages) * kStageElems;
    warp_mma_tile<T, MT, NT, WTM, WTN, !std::is_same_v<T, BFloat16>, LA, LB>(stage, stage + LA::elems, warp_m, warp_n,
                                                                            lane, acc);
  }
  cp_async_wait<0>();  // nothing may be in flight into shared memory when the CTA exits
  write_tile<Op, T, MT, NT, WTM, WTN>(args, m0, n0, warp_m, warp_n, lane, acc);
#else
  (void)args;
  __trap();
#endif
}

// out at (row m, column c) = Σ_{s < splits} part[s][m][c], summed in split order
// (deterministic), stored as T at Op's output row of m (igemm_out_row).
template <class Op, class T>
__global__ void igemm_reduce_splits(IgemmGeom g, const float* part, int splits, T* out) {
  const int64_t n = int64_t(g.M) * g.Ngemm;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float s = 0.0f;
    for (int k = 0; k < splits; ++k) s += part[int64_t(k) * n + i];
    if constexpr (igemm_remaps_rows<Op>) {
      int m, c;
      g.div.Ngemm.divmod(int(i), m, c);  // i < M·Ngemm < 2^31 (igemm_fits)
      store_out(out, int64_t(igemm_out_row<Op>(g, m)) * g.Ngemm + c, s);
    } else {
      store_out(out, i, s);
    }
  }
}

// Whether the cp.async kernel takes this operator: both operands through general maps, read in
// 16-byte chunks (fprop, dgrad and wgrad; the stem's gather maps read element by element).
template <class Op>
constexpr bool async_capable() {
  return !std::is_base_of_v<IgemmGatherMap, typename Op::A> && !std::is_base_of_v<IgemmGatherMap, typename Op::B>;
}

// Whether `plan` runs on the cp.async kernel (where the GPU grants its shared memory).
template <class Op>
constexpr bool takes_async(const Plan& plan) {
  return async_capable<Op>() && plan.vector && plan.async_copy;
}

template <class Op, class T, int BM, int BN, int WM, int WN>
void launch_tile(const Plan& plan, dim3 grid, const Args& args, cudaStream_t stream) {
  if constexpr (async_capable<Op>()) {
    if (takes_async<Op>(plan)) {
      constexpr size_t bytes = async_smem_bytes<Op, T, BM, BN>();
      // Above 48 KB a kernel must opt in to its dynamic shared memory (once per kernel is enough,
      // but the call is cheap next to a convolution and keeps this function stateless). A GPU
      // with less shared memory per block (108 KiB TF32 tiles exceed some sm_86/sm_89 parts)
      // refuses: the register-staged kernel below takes the problem instead.
      if (cudaFuncSetAttribute(igemm_async_kernel<Op, T, BM, BN, WM, WN>,
                               cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)) == cudaSuccess) {
        launch_kernel(igemm_async_kernel<Op, T, BM, BN, WM, WN>, grid, dim3(kThreads), bytes, stream, args);
        return;
      }
      (void)cudaGetLastError();  // clear the refusal so the launch check below does not report it
    }
  }
  launch_kernel(igemm_kernel<Op, T, BM, BN, WM, WN>, grid, dim3(kThreads), 0, stream, args);
}

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
      launch_tile<Op, T, 128, 128, 2, 4>(plan, grid, args, stream);
      break;
    case Tile::t128x64:
      launch_tile<Op, T, 128, 64, 4, 2>(plan, grid, args, stream);
      break;
    case Tile::t64x128:
      launch_tile<Op, T, 64, 128, 2, 4>(plan, grid, args, stream);
      break;
  }
  if (plan.splits > 1) {
    int64_t n = int64_t(g.M) * g.Ngemm;
    unsigned blocks = unsigned(std::min<int64_t>((n + 255) / 256, 65536));
    launch_kernel(igemm_reduce_splits<Op, T>, dim3(blocks), dim3(256), 0, stream, g,
                  static_cast<const float*>(partial), plan.splits, static_cast<T*>(out));
  }
}

// run<Op, T> for the engine's dtype: bf16, or f32 with TF32 operands. `who` names the launcher and
// kernel in the error for any other dtype.
template <class Op>
void run_dtype(DType t, const char* who, const Plan& plan, const IgemmGeom& g, const void* a, const void* b, void* out,
               float* partial, cudaStream_t stream) {
  switch (t) {
    case DType::bf16:
      run<Op, BFloat16>(plan, g, a, b, out, partial, stream);
      return;
    case DType::f32:
      run<Op, float>(plan, g, a, b, out, partial, stream);
      return;
    default:
      throw std::invalid_argument(std::string(who) + " takes bf16 or f32, not " + dtype_name(t));
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
