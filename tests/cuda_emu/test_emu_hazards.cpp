// What the emulator's schedule (emu::Schedule) and per-block static shared memory catch: each
// hazard a GPU may expose is shown with a deliberately broken kernel that the old schedule
// (threads in ascending order, cp.async landing at the wait, static __shared__ shared by every
// block and zero-initialised) let pass, and that the new ones make give wrong results; the
// correct kernel beside it passes under every schedule. Also operands that round: a TF32 product
// that skips cvt.rna matches the reference on multiples of 1/8 and misses it on rounding values.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cuda/dialect.h"

using namespace mtmap;

namespace {

constexpr emu::Schedule kOld{emu::ThreadOrder::ascending, emu::CpAsyncLanding::at_wait, 1};
constexpr emu::Schedule kDescendingAtIssue{emu::ThreadOrder::descending, emu::CpAsyncLanding::at_issue, 1};
constexpr emu::Schedule kRandom{emu::ThreadOrder::random, emu::CpAsyncLanding::random, 1};

// Random schedules catch a hazard with some probability per launch: checks sum 8 seeds' errors.
template <class F>
int over_random_seeds(F errors_under) {
  int errors = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) errors += errors_under(emu::Schedule{kRandom.order, kRandom.landing, seed});
  return errors;
}

__global__ void ldg_all(const float* x, float* out) { out[threadIdx.x] = __ldg(x + threadIdx.x); }

// Thread t publishes x[t] in shared memory and reads its neighbour t + step's value. Without the
// barrier between the write and the read it reads whatever was there before.
__global__ void neighbour_exchange(const float* x, int step, int barrier, float* out) {
  __shared__ float s[64];
  const int t = int(threadIdx.x);
  s[t] = x[t];
  if (barrier) __syncthreads();
  out[t] = s[std::min(63, std::max(0, t + step))];
}

// A two-stage cp.async pipeline over 4 chunks of 32 floats (8 threads, 16 bytes each): every
// thread adds a float its neighbour copied. The refill of a stage must wait (a barrier) until
// every thread has read it; without that barrier the copy of chunk i + 2 may land in the stage
// while a slower thread still reads chunk i.
__global__ void two_stage_pipeline(const float* x, int refill_barrier, float* out) {
  __shared__ __align__(16) float stage[2][32];
  const int t = int(threadIdx.x);
  float acc = 0;
  emu::cp_async_16(&stage[0][4 * t], x + 4 * t, 16);
  emu::cp_async_commit();
  for (int i = 0; i < 4; ++i) {
    if (i + 1 < 4) emu::cp_async_16(&stage[(i + 1) % 2][4 * t], x + 32 * (i + 1) + 4 * t, 16);
    emu::cp_async_commit();
    emu::cp_async_wait(1);  // chunk i has landed (at most the newest group is in flight)
    __syncthreads();
    acc += stage[i % 2][4 * std::min(t + 1, 7)];
    if (refill_barrier) __syncthreads();
  }
  out[t] = acc;
}

// Half the block fills a static shared array, the whole block reads it: the other half reads
// what nobody wrote. `fill_all` is the correct kernel.
__global__ void half_filled_shared(const float* x, int fill_all, float* out) {
  __shared__ float s[32];
  const int t = int(threadIdx.x);
  if (t < 16 || fill_all) s[t] = t < 16 ? x[t] : 0.0f;
  __syncthreads();
  out[blockIdx.x * 32 + t] = s[t];
}

// Each block of a cooperative grid keeps its own index in static shared memory across the grid
// barrier; on a GPU every block has its own copy.
__global__ void own_static_shared_across_grid_sync(int* out) {
  __shared__ int mine[1];
  if (threadIdx.x == 0) mine[0] = int(blockIdx.x);
  __syncthreads();
  MTMAP_GRID_SYNC();
  if (threadIdx.x == 0) out[blockIdx.x] = mine[0];
}

// C = A·B (A 16×8, B 8×8) through mma.m16n8k8.tf32; `round` converts the operands with cvt.rna as
// the kernels must; without it the tensor core drops the low 13 bits (truncation).
__global__ void tf32_product(const float* a, const float* b, float* c, int round) {
  const int lane = int(threadIdx.x), g = lane / 4, t = lane % 4;
  auto op = [&](float v) { return round ? emu::cvt_rna_tf32(v) : __float_as_uint(v); };
  uint32_t af[4] = {op(a[g * 8 + t]), op(a[(g + 8) * 8 + t]), op(a[g * 8 + t + 4]), op(a[(g + 8) * 8 + t + 4])};
  uint32_t bf[2] = {op(b[t * 8 + g]), op(b[(t + 4) * 8 + g])};
  float d[4] = {0, 0, 0, 0};
  emu::mma_m16n8k8_tf32(d, af, bf);
  c[g * 8 + 2 * t] = d[0];
  c[g * 8 + 2 * t + 1] = d[1];
  c[(g + 8) * 8 + 2 * t] = d[2];
  c[(g + 8) * 8 + 2 * t + 1] = d[3];
}

std::vector<float> iota_floats(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = float(i + 1);
  return v;
}

// How many outputs of neighbour_exchange differ from x[clamp(t + step)].
int neighbour_errors(const emu::Schedule& s, int step, int barrier) {
  emu::ScopedSchedule scope(s);
  std::vector<float> x = iota_floats(64), out(64, 0.0f);
  cuda::launch_kernel(neighbour_exchange, dim3(1), dim3(64), 0, nullptr, x.data(), step, barrier, out.data());
  int errors = 0;
  for (int t = 0; t < 64; ++t) errors += out[size_t(t)] != x[size_t(std::min(63, std::max(0, t + step)))];
  return errors;
}

int pipeline_errors(const emu::Schedule& s, int refill_barrier) {
  emu::ScopedSchedule scope(s);
  std::vector<float> x = iota_floats(128), out(8, 0.0f);
  emu::DeviceBuffer dx(x.data(), x.size() * sizeof(float));
  cuda::launch_kernel(two_stage_pipeline, dim3(1), dim3(8), 0, nullptr, x.data(), refill_barrier, out.data());
  int errors = 0;
  for (int t = 0; t < 8; ++t) {
    float want = 0;
    for (int i = 0; i < 4; ++i) want += x[size_t(32 * i + 4 * std::min(t + 1, 7))];
    errors += out[size_t(t)] != want;
  }
  return errors;
}

// The reference product of rna-rounded operands in double, and Σ|a||b| per output.
void tf32_reference(const std::vector<float>& a, const std::vector<float>& b, std::vector<double>& c,
                    std::vector<double>& magnitude) {
  auto rna = [](float v) { return double(__uint_as_float(emu::cvt_rna_tf32(v))); };
  c.assign(128, 0.0);
  magnitude.assign(128, 0.0);
  for (int r = 0; r < 16; ++r)
    for (int n = 0; n < 8; ++n)
      for (int k = 0; k < 8; ++k) {
        c[size_t(r * 8 + n)] += rna(a[size_t(r * 8 + k)]) * rna(b[size_t(k * 8 + n)]);
        magnitude[size_t(r * 8 + n)] += std::fabs(double(a[size_t(r * 8 + k)]) * b[size_t(k * 8 + n)]);
      }
}

// Outputs of tf32_product further from the reference than f32 accumulation explains.
int tf32_errors(bool eighths, int round) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> e(-8, 8);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> a(128), b(64), c(128, std::nanf(""));
  for (float& v : a) v = eighths ? float(e(rng)) / 8 : u(rng);
  for (float& v : b) v = eighths ? float(e(rng)) / 8 : u(rng);
  cuda::launch_kernel(tf32_product, dim3(1), dim3(32), 0, nullptr, a.data(), b.data(), c.data(), round);
  std::vector<double> want, magnitude;
  tf32_reference(a, b, want, magnitude);
  int errors = 0;
  for (size_t i = 0; i < c.size(); ++i) errors += !(std::fabs(c[i] - want[i]) <= 1e-6 * magnitude[i]);
  return errors;
}

}  // namespace

TEST_CASE("emulator hazards: a missing barrier between a shared write and a read is caught in either direction",
          "[emu][hazards]") {
  // Reading the lower neighbour (step −1): ascending order hid it; descending and random catch it.
  CHECK(neighbour_errors(kOld, -1, 0) == 0);
  CHECK(neighbour_errors(kDescendingAtIssue, -1, 0) > 0);
  CHECK(over_random_seeds([](const emu::Schedule& s) { return neighbour_errors(s, -1, 0); }) > 0);
  // Reading the upper neighbour: ascending order catches it, descending hides it, random catches it.
  CHECK(neighbour_errors(kOld, +1, 0) > 0);
  CHECK(neighbour_errors(kDescendingAtIssue, +1, 0) == 0);
  CHECK(over_random_seeds([](const emu::Schedule& s) { return neighbour_errors(s, +1, 0); }) > 0);
  // With the barrier: right under every schedule.
  for (const emu::Schedule& s : {kOld, kDescendingAtIssue, kRandom}) {
    CHECK(neighbour_errors(s, -1, 1) == 0);
    CHECK(neighbour_errors(s, +1, 1) == 0);
  }
}

TEST_CASE("emulator hazards: refilling a cp.async stage another thread still reads is caught", "[emu][hazards]") {
  // Landing at the wait never overwrote the stage early, whatever the order: the bug was invisible.
  CHECK(pipeline_errors(kOld, 0) == 0);
  CHECK(pipeline_errors({emu::ThreadOrder::descending, emu::CpAsyncLanding::at_wait, 1}, 0) == 0);
  // Landing at issue with the reader after the writer gives the reader the next chunk.
  CHECK(pipeline_errors(kDescendingAtIssue, 0) > 0);
  CHECK(over_random_seeds([](const emu::Schedule& s) { return pipeline_errors(s, 0); }) > 0);
  for (const emu::Schedule& s : {kOld, kDescendingAtIssue, kRandom}) CHECK(pipeline_errors(s, 1) == 0);
}

TEST_CASE("emulator hazards: static shared memory is poisoned at each block's start and is each block's own",
          "[emu][hazards]") {
  REQUIRE(emu::static_shared_bytes() > 0);
  std::vector<float> x = iota_floats(32), out(64, 0.0f);
  // Unwritten static shared memory is NaN (it was zero-initialised, so "reads 0" passed), and a
  // value a previous block left is not visible to the next.
  cuda::launch_kernel(half_filled_shared, dim3(2), dim3(32), 0, nullptr, x.data(), 0, out.data());
  for (int b = 0; b < 2; ++b) {
    for (int t = 0; t < 16; ++t) CHECK(out[size_t(b * 32 + t)] == x[size_t(t)]);
    for (int t = 16; t < 32; ++t) CHECK(std::isnan(out[size_t(b * 32 + t)]));
  }
  cuda::launch_kernel(half_filled_shared, dim3(2), dim3(32), 0, nullptr, x.data(), 1, out.data());
  for (int t = 16; t < 32; ++t) CHECK(out[size_t(32 + t)] == 0.0f);
  // In a cooperative grid every block keeps its own copy across the grid barrier.
  std::vector<int> mine(emu::kCooperativeBlocks, -1);
  for (const emu::Schedule& s : {kOld, kDescendingAtIssue, kRandom}) {
    emu::ScopedSchedule scope(s);
    REQUIRE(cuda::launch_cooperative_kernel(own_static_shared_across_grid_sync, dim3(emu::kCooperativeBlocks),
                                            dim3(64), 0, nullptr, mine.data()) == cudaSuccess);
    for (int b = 0; b < emu::kCooperativeBlocks; ++b) CHECK(mine[size_t(b)] == b);
  }
}

TEST_CASE("emulator hazards: operands that round catch a TF32 conversion that truncates", "[emu][hazards]") {
  // Multiples of 1/8 are exact in TF32: skipping cvt.rna cannot show.
  CHECK(tf32_errors(true, 1) == 0);
  CHECK(tf32_errors(true, 0) == 0);
  // Values that round: the truncating product misses the reference, the rounding one does not.
  CHECK(tf32_errors(false, 1) == 0);
  CHECK(tf32_errors(false, 0) > 0);
}

TEST_CASE("emulator hazards: a kernel error names the launch and its schedule", "[emu][hazards]") {
  emu::ScopedSchedule scope({emu::ThreadOrder::descending, emu::CpAsyncLanding::at_issue, 42});
  std::vector<float> x(32, 1.0f), out(32);  // x is not registered as device memory
  CHECK_THROWS_WITH(cuda::launch_kernel(ldg_all, dim3(1), dim3(32), 0, nullptr, x.data(), out.data()),
                    Catch::Contains("outside every device buffer") &&
                        Catch::Contains("thread order descending, cp.async landing at issue, seed 42"));
}
