// The CPU emulator of the CUDA dialect (tests/cuda_emu/emulator): its barriers, shuffles, tensor-core
// instructions and cp.async behave as the PTX ISA says, and the mistakes it exists to catch
// (divergent barriers, deadlocks, reads outside device memory, reading a cp.async stage before
// waiting for it) are errors, not silent passes.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/common/bf16.h"
#include "kernels/cuda/dialect.h"

using namespace mtmap;

namespace {

__global__ void block_sum(const float* x, int n, float* out) {
  __shared__ float part[256];
  float s = 0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += __ldg(x + blockIdx.x * n + i);
  part[threadIdx.x] = s;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (int(threadIdx.x) < stride) part[threadIdx.x] += part[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = part[0];
}

__global__ void warp_sums(const int* x, int* out) {
  int v = x[threadIdx.x];
  for (int m = 16; m > 0; m /= 2) v += __shfl_xor_sync(0xffffffffu, v, m);
  int down = __shfl_down_sync(0xffffffffu, x[threadIdx.x], 1);
  int from0 = __shfl_sync(0xffffffffu, x[threadIdx.x], 0);
  out[threadIdx.x] = v * 10000 + down * 100 + from0;
}

__global__ void early_exit_then_sync(float* out) {
  if (threadIdx.x >= 32) return;  // wrong: the rest of the block then waits at a barrier
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void divergent_shuffles(int* out) {
  int v = int(threadIdx.x);
  if (threadIdx.x % 2) v = __shfl_xor_sync(0xffffffffu, v, 1);  // half the warp never joins
  __syncthreads();
  out[threadIdx.x] = v;
}

// Every thread claims `flag` once (the winner counts itself) and adds 1 to `count` with the
// textbook atomicCAS loop, which only terminates if atomicCAS returns the old value both when it
// stores and when it does not.
__global__ void cas_claim_and_count(int* flag, int* winners, unsigned long long* count) {
  if (atomicCAS(flag, 0, int(blockIdx.x * blockDim.x + threadIdx.x) + 1) == 0) ++*winners;
  unsigned long long old = *count, assumed;
  do {
    assumed = old;
    old = atomicCAS(count, assumed, assumed + 1);
  } while (old != assumed);
}

__global__ void read_past_end(const float* x, int n, float* out) { out[threadIdx.x] = __ldg(x + n + int(threadIdx.x)); }

// A 16×16 bf16 tile A and an 8×16 tile Bᵀ ([n][k]) in shared memory, loaded with ldmatrix
// (x4 for A, x2 for B, the layouts mma.m16n8k16 wants), multiplied with mma.sync: C = A·B.
__global__ void ldmatrix_mma(const uint16_t* a, const uint16_t* bt, float* c) {
  __shared__ __align__(16) uint16_t As[16 * 16];
  __shared__ __align__(16) uint16_t Bs[8 * 16];
  const int lane = int(threadIdx.x);
  for (int i = lane; i < 256; i += 32) As[i] = a[i];
  for (int i = lane; i < 128; i += 32) Bs[i] = bt[i];
  __syncwarp();
  // Matrix i of the x4 takes rows lane%16 of A and columns 8·(lane/16): lanes 0–7 rows 0–7 k 0–7,
  // 8–15 rows 8–15 k 0–7, 16–23 rows 0–7 k 8–15, 24–31 rows 8–15 k 8–15.
  uint32_t af[4], bf[2];
  emu::ldmatrix<4>(af, As + (lane % 16) * 16 + (lane / 16) * 8, false);
  emu::ldmatrix<2>(bf, Bs + (lane % 8) * 16 + ((lane / 8) % 2) * 8, false);
  float d[4] = {0, 0, 0, 0};
  emu::mma_m16n8k16_bf16(d, af, bf);
  const int g = lane / 4, t = lane % 4;
  c[g * 8 + 2 * t] = d[0];
  c[g * 8 + 2 * t + 1] = d[1];
  c[(g + 8) * 8 + 2 * t] = d[2];
  c[(g + 8) * 8 + 2 * t + 1] = d[3];
}

// ldmatrix .trans of B stored [k][n] gives the same fragment as the plain load of Bᵀ.
__global__ void ldmatrix_trans(const uint16_t* b, uint32_t* frag) {
  __shared__ __align__(16) uint16_t Bs[16 * 8];
  const int lane = int(threadIdx.x);
  for (int i = lane; i < 128; i += 32) Bs[i] = b[i];
  __syncwarp();
  uint32_t r[2];
  emu::ldmatrix<2>(r, Bs + (lane % 16) * 8, true);
  frag[2 * lane] = r[0];
  frag[2 * lane + 1] = r[1];
}

// Builds the bf16 mma fragments by hand from the PTX tables and multiplies them.
__global__ void mma_by_hand(const float* a, const float* b, float* c, bool tf32) {
  const int lane = int(threadIdx.x), g = lane / 4, t = lane % 4;
  auto bf = [](float v) { return uint32_t(float_to_bf16(v).bits); };
  uint32_t af[4], bfr[2];
  float d[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  if (!tf32) {  // A 16×16 [r][k], B 16×8 [k][n]
    af[0] = bf(a[g * 16 + 2 * t]) | bf(a[g * 16 + 2 * t + 1]) << 16;
    af[1] = bf(a[(g + 8) * 16 + 2 * t]) | bf(a[(g + 8) * 16 + 2 * t + 1]) << 16;
    af[2] = bf(a[g * 16 + 2 * t + 8]) | bf(a[g * 16 + 2 * t + 9]) << 16;
    af[3] = bf(a[(g + 8) * 16 + 2 * t + 8]) | bf(a[(g + 8) * 16 + 2 * t + 9]) << 16;
    bfr[0] = bf(b[(2 * t) * 8 + g]) | bf(b[(2 * t + 1) * 8 + g]) << 16;
    bfr[1] = bf(b[(2 * t + 8) * 8 + g]) | bf(b[(2 * t + 9) * 8 + g]) << 16;
    emu::mma_m16n8k16_bf16(d, af, bfr);
  } else {  // A 16×8, B 8×8
    af[0] = emu::cvt_rna_tf32(a[g * 8 + t]);
    af[1] = emu::cvt_rna_tf32(a[(g + 8) * 8 + t]);
    af[2] = emu::cvt_rna_tf32(a[g * 8 + t + 4]);
    af[3] = emu::cvt_rna_tf32(a[(g + 8) * 8 + t + 4]);
    bfr[0] = emu::cvt_rna_tf32(b[t * 8 + g]);
    bfr[1] = emu::cvt_rna_tf32(b[(t + 4) * 8 + g]);
    emu::mma_m16n8k8_tf32(d, af, bfr);
  }
  c[g * 8 + 2 * t] = d[0];
  c[g * 8 + 2 * t + 1] = d[1];
  c[(g + 8) * 8 + 2 * t] = d[2];
  c[(g + 8) * 8 + 2 * t + 1] = d[3];
}

// Two cp.async groups into shared memory; what a thread sees before and after waiting.
__global__ void cp_async_stages(const float* x, float* seen) {
  __shared__ __align__(16) float s[2][4];
  if (threadIdx.x != 0) return;
  s[0][0] = s[1][0] = -1;
  emu::cp_async_16(s[0], x, 16);
  emu::cp_async_commit();
  emu::cp_async_16(s[1], x + 4, 8);  // 8 bytes from global, 8 zero-filled
  emu::cp_async_commit();
  seen[0] = s[0][0];  // nothing landed yet
  emu::cp_async_wait(1);
  seen[1] = s[0][0];
  seen[2] = s[1][0];  // second group still in flight
  emu::cp_async_wait(0);
  seen[3] = s[1][1];
  seen[4] = s[1][2];
}

// Addresses a GPU faults on (misaligned), one kind per `which`; which = 0 is the aligned control.
__global__ void alignment_probe(const float* x, int which, float* out) {
  __shared__ __align__(16) uint16_t s[32 * 8 + 8];
  const int lane = int(threadIdx.x);
  for (int i = lane; i < 32 * 8 + 8; i += 32) s[i] = uint16_t(i);
  __syncwarp();
  const int skew_ldg = which == 1 ? 1 : 0, skew_dst = which == 2 ? 1 : 0, skew_src = which == 3 ? 2 : 0,
            skew_ldm = which == 4 ? 1 : 0;
  const float4 v = __ldg(reinterpret_cast<const float4*>(x + 4 + skew_ldg));  // 4 floats past a 16-byte boundary
  uint32_t r[4];
  emu::ldmatrix<4>(r, s + skew_ldm + lane * 8, false);
  __syncwarp();
  if (lane == 0) {
    emu::cp_async_16(s + skew_dst, x + skew_src, 16);
    emu::cp_async_commit();
    emu::cp_async_wait(0);
  }
  out[lane] = v.x + float(r[0] & 0xffff);
}

// Each block publishes a value, waits at the grid barrier, then reads every block's value.
__global__ void grid_exchange(int* slots, int* sums) {
  MTMAP_DYNAMIC_SMEM(int, mine);
  if (threadIdx.x == 0) {
    mine[0] = int(blockIdx.x) + 1;
    slots[blockIdx.x] = mine[0];
  }
  __syncthreads();
  MTMAP_GRID_SYNC();
  if (threadIdx.x == 0) {
    int s = 0;
    for (unsigned b = 0; b < gridDim.x; ++b) s += slots[b];
    sums[blockIdx.x] = s * 100 + mine[0];  // dynamic shared memory is the block's own
  }
}

__global__ void touch_dynamic_smem(int* out) {
  MTMAP_DYNAMIC_SMEM(int, buf);
  buf[threadIdx.x] = int(threadIdx.x);
  __syncthreads();
  out[threadIdx.x] = buf[31 - threadIdx.x];
}

__global__ void grid_sync_uncooperative(int* out) {
  MTMAP_GRID_SYNC();
  out[0] = 1;
}

}  // namespace

TEST_CASE("emulator: a cooperative launch runs every block at once, the grid barrier orders them", "[emu]") {
  std::vector<int> slots(emu::kCooperativeBlocks, 0), sums(emu::kCooperativeBlocks, 0);
  const int n = emu::kCooperativeBlocks;
  CHECK(cuda::launch_cooperative_kernel(grid_exchange, dim3(unsigned(n)), dim3(64), sizeof(int), nullptr, slots.data(),
                                        sums.data()) == cudaSuccess);
  for (int b = 0; b < n; ++b) CHECK(sums[size_t(b)] == n * (n + 1) / 2 * 100 + b + 1);
  // More blocks than the emulated device holds, or a grid barrier without a cooperative launch.
  CHECK_THROWS_WITH(cuda::launch_cooperative_kernel(grid_exchange, dim3(unsigned(n + 1)), dim3(64), sizeof(int),
                                                    nullptr, slots.data(), sums.data()),
                    Catch::Contains("more than can be resident"));
  std::vector<int> out(1);
  CHECK_THROWS_WITH(cuda::launch_kernel(grid_sync_uncooperative, dim3(2), dim3(32), 0, nullptr, out.data()),
                    Catch::Contains("not launched cooperatively"));
}

TEST_CASE("emulator: dynamic shared memory above 48 KiB needs the kernel's opt-in, up to the device's limit", "[emu]") {
  std::vector<int> out(32);
  const size_t big = 64 * 1024;
  CHECK_NOTHROW(cuda::launch_kernel(touch_dynamic_smem, dim3(1), dim3(32), 48 * 1024, nullptr, out.data()));
  CHECK(out[0] == 31);
  CHECK_THROWS_WITH(cuda::launch_kernel(touch_dynamic_smem, dim3(1), dim3(32), big, nullptr, out.data()),
                    Catch::Contains("opted in to 49152"));
  CHECK(cudaFuncSetAttribute(touch_dynamic_smem, cudaFuncAttributeMaxDynamicSharedMemorySize, int(big)) == cudaSuccess);
  CHECK_NOTHROW(cuda::launch_kernel(touch_dynamic_smem, dim3(1), dim3(32), big, nullptr, out.data()));
  CHECK(cudaFuncSetAttribute(touch_dynamic_smem, cudaFuncAttributeMaxDynamicSharedMemorySize, 300 * 1024) ==
        cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaSuccess);  // read once, then cleared
}

TEST_CASE("emulator: block barriers order shared-memory work across fibers", "[emu]") {
  const int blocks = 3, n = 1000;
  std::vector<float> x(size_t(blocks * n));
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 7);
  std::vector<float> out(blocks, -1);
  emu::DeviceBuffer dx(x.data(), x.size() * sizeof(float));
  cuda::launch_kernel(block_sum, dim3(blocks), dim3(256), 0, nullptr, x.data(), n, out.data());
  for (int b = 0; b < blocks; ++b) {
    double want = 0;
    for (int i = 0; i < n; ++i) want += x[size_t(b * n + i)];
    CHECK(out[size_t(b)] == float(want));
  }
}

TEST_CASE("emulator: shuffles read the lanes CUDA's shuffles read", "[emu]") {
  std::vector<int> x(64), out(64);
  for (int i = 0; i < 64; ++i) x[size_t(i)] = i % 32 + 1;
  cuda::launch_kernel(warp_sums, dim3(1), dim3(64), 0, nullptr, x.data(), out.data());
  for (int i = 0; i < 64; ++i) {
    int lane = i % 32;
    int down = lane < 31 ? lane + 2 : lane + 1;  // lane 31 keeps its own value
    CHECK(out[size_t(i)] == 528 * 10000 + down * 100 + 1);
  }
}

TEST_CASE("emulator: atomicCAS stores only on a match and returns the old value", "[emu]") {
  int flag = 0, winners = 0;
  unsigned long long count = 0;
  cuda::launch_kernel(cas_claim_and_count, dim3(3), dim3(64), 0, nullptr, &flag, &winners, &count);
  CHECK(winners == 1);  // the first writer wins; every later claim sees a non-zero flag
  CHECK(flag >= 1);
  CHECK(flag <= 3 * 64);
  CHECK(count == 3 * 64);
}

TEST_CASE("emulator: a barrier not every thread reaches is an error naming the block and thread", "[emu]") {
  std::vector<float> out(64);
  CHECK_THROWS_WITH(cuda::launch_kernel(early_exit_then_sync, dim3(2), dim3(64), 0, nullptr, out.data()),
                    Catch::Contains("block (0,0,0)") && Catch::Contains("__syncthreads"));
}

TEST_CASE("emulator: a warp-wide operation half the warp skips is reported as a deadlock", "[emu]") {
  std::vector<int> out(32);
  CHECK_THROWS_WITH(cuda::launch_kernel(divergent_shuffles, dim3(1), dim3(32), 0, nullptr, out.data()),
                    Catch::Contains("deadlock") && Catch::Contains("16 in a warp-wide operation"));
}

TEST_CASE("emulator: a global read outside every device buffer is an error", "[emu]") {
  std::vector<float> x(32, 1.0f), out(32);
  emu::DeviceBuffer dx(x.data(), x.size() * sizeof(float));
  CHECK_NOTHROW(cuda::launch_kernel(read_past_end, dim3(1), dim3(16), 0, nullptr, x.data(), 16, out.data()));
  // In ascending order the first thread to read past the end is thread 16.
  emu::ScopedSchedule ascending({emu::ThreadOrder::ascending, emu::CpAsyncLanding::at_wait, 1});
  CHECK_THROWS_WITH(cuda::launch_kernel(read_past_end, dim3(1), dim3(32), 0, nullptr, x.data(), 16, out.data()),
                    Catch::Contains("outside every device buffer") && Catch::Contains("thread (16,0,0)"));
}

TEST_CASE("emulator: misaligned __ldg, cp.async and ldmatrix addresses are errors, as they fault on a GPU", "[emu]") {
  std::vector<float> x(16, 1.0f), out(32);
  emu::DeviceBuffer dx(x.data(), x.size() * sizeof(float));
  CHECK_NOTHROW(cuda::launch_kernel(alignment_probe, dim3(1), dim3(32), 0, nullptr, x.data(), 0, out.data()));
  CHECK(out[0] == 1.0f);  // x[4] + the low half of s[0]
  CHECK_THROWS_WITH(cuda::launch_kernel(alignment_probe, dim3(1), dim3(32), 0, nullptr, x.data(), 1, out.data()),
                    Catch::Contains("__ldg") && Catch::Contains("misaligned") && Catch::Contains("16-byte"));
  CHECK_THROWS_WITH(cuda::launch_kernel(alignment_probe, dim3(1), dim3(32), 0, nullptr, x.data(), 2, out.data()),
                    Catch::Contains("cp.async (shared destination)") && Catch::Contains("misaligned"));
  CHECK_THROWS_WITH(cuda::launch_kernel(alignment_probe, dim3(1), dim3(32), 0, nullptr, x.data(), 3, out.data()),
                    Catch::Contains("cp.async (global source)") && Catch::Contains("misaligned"));
  CHECK_THROWS_WITH(cuda::launch_kernel(alignment_probe, dim3(1), dim3(32), 0, nullptr, x.data(), 4, out.data()),
                    Catch::Contains("ldmatrix") && Catch::Contains("misaligned"));
}

TEST_CASE("emulator: mma.sync fragments built from the PTX tables multiply as matrices", "[emu]") {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> d(-8, 8);
  for (bool tf32 : {false, true}) {
    const int K = tf32 ? 8 : 16;
    std::vector<float> a(size_t(16 * K)), b(size_t(K * 8)), c(128);
    for (float& v : a) v = float(d(rng)) / 4;
    for (float& v : b) v = float(d(rng)) / 4;
    cuda::launch_kernel(mma_by_hand, dim3(1), dim3(32), 0, nullptr, a.data(), b.data(), c.data(), tf32);
    for (int r = 0; r < 16; ++r)
      for (int n = 0; n < 8; ++n) {
        double want = 0.5;
        for (int k = 0; k < K; ++k) want += double(a[size_t(r * K + k)]) * b[size_t(k * 8 + n)];
        INFO((tf32 ? "tf32" : "bf16") << " C[" << r << "][" << n << "]");
        CHECK(c[size_t(r * 8 + n)] == float(want));
      }
  }
}

TEST_CASE("emulator: cvt.rna.tf32 rounds to nearest, ties away from zero", "[emu]") {
  auto bits = [](float f) { return __float_as_uint(f); };
  CHECK(emu::cvt_rna_tf32(1.0f) == bits(1.0f));
  CHECK(emu::cvt_rna_tf32(__uint_as_float(0x3f801000u)) == 0x3f802000u);   // tie → away from zero
  CHECK(emu::cvt_rna_tf32(__uint_as_float(0xbf801000u)) == 0xbf802000u);   // also for negatives
  CHECK(emu::cvt_rna_tf32(__uint_as_float(0x3f800fffu)) == 0x3f800000u);   // below the tie → down
  CHECK(std::isnan(__uint_as_float(emu::cvt_rna_tf32(std::nanf("")))));
}

TEST_CASE("emulator: ldmatrix x4/x2 fragments feed mma.sync as A and B", "[emu]") {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> d(-8, 8);
  std::vector<float> a(256), bt(128);
  std::vector<uint16_t> abits(256), btbits(128);
  for (size_t i = 0; i < 256; ++i) abits[i] = float_to_bf16(a[i] = float(d(rng)) / 8).bits;
  for (size_t i = 0; i < 128; ++i) btbits[i] = float_to_bf16(bt[i] = float(d(rng)) / 8).bits;
  std::vector<float> c(128);
  cuda::launch_kernel(ldmatrix_mma, dim3(1), dim3(32), 0, nullptr, abits.data(), btbits.data(), c.data());
  for (int r = 0; r < 16; ++r)
    for (int n = 0; n < 8; ++n) {
      double want = 0;
      for (int k = 0; k < 16; ++k) want += double(a[size_t(r * 16 + k)]) * bt[size_t(n * 16 + k)];
      CHECK(c[size_t(r * 8 + n)] == float(want));
    }
  // .trans on B stored [k][n] (16×8 as two 8×8 matrices) equals the plain load of Bᵀ.
  std::vector<uint16_t> b(128);
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < 8; ++n) b[size_t(k * 8 + n)] = btbits[size_t(n * 16 + k)];
  std::vector<uint32_t> frag(64);
  cuda::launch_kernel(ldmatrix_trans, dim3(1), dim3(32), 0, nullptr, b.data(), frag.data());
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int reg = 0; reg < 2; ++reg) {
      int k = 2 * t + 8 * reg;
      uint32_t want = uint32_t(btbits[size_t(g * 16 + k)]) | uint32_t(btbits[size_t(g * 16 + k + 1)]) << 16;
      CHECK(frag[size_t(2 * lane + reg)] == want);
    }
  }
}

TEST_CASE("emulator: cp.async data lands only when wait_group lets it", "[emu]") {
  emu::ScopedSchedule at_wait({emu::ThreadOrder::ascending, emu::CpAsyncLanding::at_wait, 1});
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> seen(5, 0);
  emu::DeviceBuffer dx(x.data(), x.size() * sizeof(float));
  cuda::launch_kernel(cp_async_stages, dim3(1), dim3(32), 0, nullptr, x.data(), seen.data());
  CHECK(seen[0] == -1);  // read before waiting: stale
  CHECK(seen[1] == 1);
  CHECK(seen[2] == -1);
  CHECK(seen[3] == 6);
  CHECK(seen[4] == 0);  // zero-filled tail
}
