#pragma once
// The CUDA kernel dialect on the CPU: a debugging backend that runs our kernel templates, as they
// are, on a machine without a GPU (kernels/cuda/dialect.h includes this under MTMAP_CUDA_EMU).
//
// Each CTA runs as blockDim cooperative fibers on the calling thread, one CTA after another:
//  - __syncthreads() is a real barrier of the CTA's fibers; shuffles and the warp-wide tensor-core
//    instructions (mma.sync, ldmatrix) exchange the 32 lanes' registers through a warp barrier and
//    compute each lane's result from the PTX ISA's fragment layouts (emu.cpp);
//  - cp.async copies are deferred until the thread's cp.async.wait_group lets them land, so a
//    kernel that reads a stage before waiting for it reads stale data and fails its test;
//  - __ldg and cp.async check that every global read lies inside a buffer registered with
//    DeviceBuffer (what the tests allocate); __ldg, cp.async and ldmatrix check their addresses'
//    alignment as the hardware requires (a misaligned address faults on a GPU); a barrier that
//    not every live thread reaches,
//    a thread exiting while others wait, or a deadlock, is an error naming the block and thread.
//  - the schedule a GPU is free to choose is chosen on purpose (Schedule): the order in which a
//    block's threads run between barriers (ascending, descending or shuffled each round), and
//    when a cp.async lands (at issue, at the wait, or either, per copy), so a missing barrier or
//    a stage overwritten while another thread still reads it gives wrong data whichever way round
//    the kernel got it wrong;
//  - static __shared__ variables live in their own linker section, poisoned (NaN) at every block's
//    start and kept per block in a cooperative grid, as dynamic shared memory is.
// What it cannot show: timing, the memory model between CTAs, bank conflicts, register spills, or
// whether ptxas accepts the inline assembly (nvcc compiles the same source for that). A kernel that
// passes here has correct index arithmetic, fragment layouts, tile edges and synchronisation
// order; it still has to run on a GPU before anyone calls it verified.
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

// ---- the dialect's keywords and built-in types --------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// Every static __shared__ variable of the program lands in the section mtmap_emu_shared, which
// the launcher poisons at each block's start and swaps per block in a cooperative grid (emu.cpp).
#define __shared__ static __attribute__((section("mtmap_emu_shared")))
#define __align__(n) __attribute__((aligned(n)))
#define __restrict__ __restrict

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
using uint3 = dim3;
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};
struct alignas(8) uint2 {
  unsigned x, y;
};
#include "tests/cuda_emu/emulator/runtime.h"

namespace mtmap::emu {

// ---- where the running fiber is -----------------------------------------------------------------
const dim3& thread_idx();
const dim3& block_idx();
const dim3& block_dim();
const dim3& grid_dim();
unsigned lane_id();
void* dynamic_shared_memory();

void sync_block();
// cooperative_groups::this_grid().sync(): every thread of a cooperative launch.
void sync_grid();
unsigned sync_block_count(bool predicate);  // how many threads passed a true predicate
bool sync_block_and(bool predicate);
// Every lane of the calling warp deposits `bytes` from `mine`; returns the 32 lanes' deposits
// (lane l's at offset l·kSlotBytes), valid until this lane's next exchange.
inline constexpr size_t kSlotBytes = 64;
const unsigned char* warp_exchange(const void* mine, size_t bytes);

[[noreturn]] void kernel_error(const std::string& what);

// ---- global memory the kernels may read ---------------------------------------------------------
// Registers [p, p + bytes) as device memory for the lifetime of the object.
class DeviceBuffer {
 public:
  DeviceBuffer(const void* p, size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

 private:
  const void* p_;
};
void check_global_read(const void* p, size_t bytes, const char* what);
// A kernel error unless p is a multiple of `alignment` bytes (global or shared memory).
void check_alignment(const void* p, size_t alignment, const char* what);

// ---- warp-level matrix instructions (PTX fragment layouts, computed per lane) -------------------
// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32: d += A·B.
void mma_m16n8k16_bf16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]);
// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 (operands' low 13 bits ignored, as the hardware).
void mma_m16n8k8_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]);
// ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16: lane l supplies the row address
// rows[l] (8 rows per matrix, lanes 8i..8i+7 for matrix i); r[i] receives matrix i's fragment.
template <int NUM>
void ldmatrix(uint32_t (&r)[NUM], const void* row_address, bool trans);
// cvt.rna.tf32.f32: round to nearest, ties away from zero, to 10 mantissa bits.
uint32_t cvt_rna_tf32(float f);

// ---- cp.async: 16-byte global → shared copies, landing when wait_group lets them --------------
void cp_async_16(void* smem, const void* gmem, int src_bytes);  // src_bytes < 16: the rest is zeros
void cp_async_commit();
void cp_async_wait(int pending_groups);

// ---- the schedule: what a GPU leaves open, chosen on purpose -------------------------------------
// Between two barriers (or warp-wide operations) each thread of a block runs alone; the order in
// which they take turns is one a GPU may also produce. `ascending` was the only one before: it
// hides a higher thread reading a lower thread's shared write without a barrier; `descending`
// exposes that one; `random` (reshuffled every round from the seed) exposes both directions.
enum class ThreadOrder : uint8_t { ascending, descending, random };
// A cp.async copy lands somewhere between its issue and the wait that covers it. `at_wait` (the
// latest) catches reading a stage before waiting for it; `at_issue` (the earliest) catches
// overwriting a stage another thread still reads (a missing barrier before the refill);
// `random` picks one of the two for every copy.
enum class CpAsyncLanding : uint8_t { at_wait, at_issue, random };
struct Schedule {
  ThreadOrder order = ThreadOrder::random;
  CpAsyncLanding landing = CpAsyncLanding::random;
  uint64_t seed = 1;  // each launch draws from (seed, the launch's number in the process)
};
// The process's schedule: from MTMAP_EMU_ORDER (ascending|descending|random),
// MTMAP_EMU_CP_ASYNC (wait|issue|random) and MTMAP_EMU_SEED when set, else the defaults above.
// A bad value of either variable is an error at the first launch, naming it.
Schedule schedule();
void set_schedule(const Schedule& s);
std::string describe(const Schedule& s);  // "thread order random, cp.async random, seed 1"
// Sets a schedule for a scope (a test), restoring the previous one after it.
class ScopedSchedule {
 public:
  explicit ScopedSchedule(const Schedule& s) : previous_(schedule()) { set_schedule(s); }
  ~ScopedSchedule() { set_schedule(previous_); }
  ScopedSchedule(const ScopedSchedule&) = delete;
  ScopedSchedule& operator=(const ScopedSchedule&) = delete;

 private:
  Schedule previous_;
};
// Bytes of static __shared__ variables in the program (the section the launcher poisons).
size_t static_shared_bytes();

// ---- launches -----------------------------------------------------------------------------------
// The emulated device: kSms multiprocessors, each holding kBlocksPerSm blocks of any kernel, so a
// cooperative grid has at most kCooperativeBlocks blocks (all run at once, as fibers). Small, so
// tests exercise the paths that a full GPU takes only for large problems.
inline constexpr int kSms = 4, kBlocksPerSm = 2, kCooperativeBlocks = kSms * kBlocksPerSm;

using BlockBody = void (*)(void* closure);
void run_grid(dim3 grid, dim3 block, size_t dynamic_smem_bytes, BlockBody body, void* closure, bool cooperative);

// Refuses dynamic shared memory above 48 KiB that the kernel did not opt in to (cudaFuncSetAttribute).
void check_dynamic_smem(const void* kernel, size_t bytes);

template <class... P, class... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, bool cooperative, A&&... args) {
  check_dynamic_smem(reinterpret_cast<const void*>(kernel), smem);
  struct Closure {
    void (*kernel)(P...);
    std::tuple<std::decay_t<P>...> params;
  } c{kernel, std::tuple<std::decay_t<P>...>(std::forward<A>(args)...)};
  run_grid(grid, block, smem, [](void* p) {
    auto* cl = static_cast<Closure*>(p);
    std::apply(cl->kernel, cl->params);  // each thread gets its own copy of the parameters
  }, &c, cooperative);
}

}  // namespace mtmap::emu

// ---- the built-in variables and functions kernels use -------------------------------------------
#define threadIdx (::mtmap::emu::thread_idx())
#define blockIdx (::mtmap::emu::block_idx())
#define blockDim (::mtmap::emu::block_dim())
#define gridDim (::mtmap::emu::grid_dim())
#define warpSize 32

inline void __syncthreads() { ::mtmap::emu::sync_block(); }
inline int __syncthreads_count(int p) { return int(::mtmap::emu::sync_block_count(p != 0)); }
inline int __syncthreads_and(int p) { return ::mtmap::emu::sync_block_and(p != 0) ? 1 : 0; }
inline int __syncthreads_or(int p) { return ::mtmap::emu::sync_block_count(p != 0) > 0 ? 1 : 0; }
inline void __syncwarp(unsigned = 0xffffffffu) {
  char none = 0;
  ::mtmap::emu::warp_exchange(&none, 1);
}
[[noreturn]] inline void __trap() { ::mtmap::emu::kernel_error("__trap() called"); }
inline void __threadfence() {}

// Atomic compare-and-swap (CUDA's int, unsigned and unsigned long long overloads): stores `val`
// when *address == compare, returns the old value either way. The fibers of a launch switch only
// at barriers and warp exchanges, so nothing of the kernel interleaves with it; atomic_ref keeps
// it atomic against another host thread's launch on the same memory as well.
namespace mtmap::emu::detail {
template <class T>
inline T atomic_cas(T* address, T compare, T val) {
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, val);
  return compare;  // on failure compare_exchange_strong stored the current value here
}
}  // namespace mtmap::emu::detail
inline int atomicCAS(int* address, int compare, int val) {
  return ::mtmap::emu::detail::atomic_cas(address, compare, val);
}
inline unsigned atomicCAS(unsigned* address, unsigned compare, unsigned val) {
  return ::mtmap::emu::detail::atomic_cas(address, compare, val);
}
inline unsigned long long atomicCAS(unsigned long long* address, unsigned long long compare, unsigned long long val) {
  return ::mtmap::emu::detail::atomic_cas(address, compare, val);
}

template <class T>
inline T __ldg(const T* p) {
  ::mtmap::emu::check_alignment(p, alignof(T), "__ldg");
  ::mtmap::emu::check_global_read(p, sizeof(T), "__ldg");
  return *p;
}

namespace mtmap::emu::detail {
template <class T>
T lane_value(const unsigned char* all, int lane) {
  T v;
  std::memcpy(&v, all + size_t(lane) * kSlotBytes, sizeof(T));
  return v;
}
}  // namespace mtmap::emu::detail

// Shuffles over the whole warp (width 32; a narrower width applies within its segment).
template <class T>
inline T __shfl_sync(unsigned, T v, int src, int width = 32) {
  static_assert(sizeof(T) <= ::mtmap::emu::kSlotBytes, "shuffle of a value too large");
  const unsigned char* all = ::mtmap::emu::warp_exchange(&v, sizeof(T));
  int lane = int(::mtmap::emu::lane_id());
  int base = lane / width * width;
  return ::mtmap::emu::detail::lane_value<T>(all, base + ((src % width) + width) % width);
}
template <class T>
inline T __shfl_xor_sync(unsigned, T v, int mask, int width = 32) {
  const unsigned char* all = ::mtmap::emu::warp_exchange(&v, sizeof(T));
  int lane = int(::mtmap::emu::lane_id());
  int src = lane ^ mask;
  if (src / width != lane / width) src = lane;
  return ::mtmap::emu::detail::lane_value<T>(all, src);
}
template <class T>
inline T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
  const unsigned char* all = ::mtmap::emu::warp_exchange(&v, sizeof(T));
  int lane = int(::mtmap::emu::lane_id());
  int src = lane + int(delta);
  if (src / width != lane / width) src = lane;
  return ::mtmap::emu::detail::lane_value<T>(all, src);
}
template <class T>
inline T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
  const unsigned char* all = ::mtmap::emu::warp_exchange(&v, sizeof(T));
  int lane = int(::mtmap::emu::lane_id());
  int src = lane - int(delta);
  if (src < lane / width * width) src = lane;
  return ::mtmap::emu::detail::lane_value<T>(all, src);
}

inline unsigned __float_as_uint(float f) {
  unsigned u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float __uint_as_float(unsigned u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline double rsqrt(double v) { return 1.0 / std::sqrt(v); }
inline float rsqrtf(float v) { return 1.0f / std::sqrt(v); }

// Rounded arithmetic without contraction into FMAs (the host compiler does not contract across
// these calls at -O2 without -ffast-math; -ffp-contract=off is set on the emulator's tests).
inline float __fmul_rn(float a, float b) { return a * b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline double __dsub_rn(double a, double b) { return a - b; }

// CUDA's min/max take mixed integer types.
template <class A, class B>
inline std::common_type_t<A, B> min(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(a) < C(b) ? C(a) : C(b);
}
template <class A, class B>
inline std::common_type_t<A, B> max(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(a) < C(b) ? C(b) : C(a);
}
