// Optimiser updates on CUDA: one elementwise kernel over the whole flat buffer per step.
// Every product and sum is written with the round-to-nearest intrinsics (exact_math.cuh), which
// nvcc never fuses into an FMA: each step then rounds exactly as the CPU kernel (compiled without FMA contraction)
// does, so f32 and f64 runs match the CPU bit for bit, step after step. bf16 computes in float
// and rounds the parameter and the momentum buffer once per step.
#include "kernels/cuda/exact_math.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/optim.h"

namespace mtmap::cuda {
namespace {

using detail::compute_t;
using detail::load;
using detail::add_rn;
using detail::mul_rn;
using detail::store;
using detail::sub_rn;

template <class T>
__global__ void sgd_kernel(int64_t n, T* __restrict__ p, const T* __restrict__ g, T* __restrict__ buf,
                           const T* __restrict__ mask, compute_t<T> lr, compute_t<T> momentum,
                           compute_t<T> weight_decay, bool first_step) {
  using A = compute_t<T>;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const A pi = load(p[i]);
    // d = g + (wd·mask)·p; b = first ? d : momentum·buf + d; p −= lr·b (the CPU's operation order).
    const A d = add_rn(A(load(g[i])), mul_rn(mul_rn(weight_decay, A(load(mask[i]))), pi));
    const A b = first_step ? d : add_rn(mul_rn(momentum, A(load(buf[i]))), d);
    buf[i] = store<T>(b);
    p[i] = store<T>(sub_rn(pi, mul_rn(lr, b)));
  }
}

template <class T>
__global__ void ema_kernel(int64_t n, T* __restrict__ a, const T* __restrict__ b, compute_t<T> m,
                           compute_t<T> rest) {
  using A = compute_t<T>;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    a[i] = store<T>(add_rn(mul_rn(m, A(load(a[i]))), mul_rn(rest, A(load(b[i])))));
}

}  // namespace

void sgd_step(DType t, int64_t n, void* params, const void* grads, void* momentum_buf, const void* decay_mask,
              double lr, double momentum, double weight_decay, bool first_step, cudaStream_t stream) {
  if (n <= 0) return;
  detail::float_switch("sgd_step", t, [&](auto zero) {
    using T = decltype(zero);
    using A = compute_t<T>;
    launch_kernel(sgd_kernel<T>, dim3(detail::blocks_for(n)), dim3(detail::kThreads), 0, stream, n, static_cast<T*>(params), static_cast<const T*>(grads), static_cast<T*>(momentum_buf), static_cast<const T*>(decay_mask), A(lr), A(momentum), A(weight_decay), first_step);
    detail::check_launch("sgd_step");
  });
}

void ema_update(DType t, int64_t n, void* target, const void* source, double m, cudaStream_t stream) {
  if (n <= 0) return;
  detail::float_switch("ema_update", t, [&](auto zero) {
    using T = decltype(zero);
    using A = compute_t<T>;
    launch_kernel(ema_kernel<T>, dim3(detail::blocks_for(n)), dim3(detail::kThreads), 0, stream, n, static_cast<T*>(target), static_cast<const T*>(source), A(m), A(1.0 - m));
    detail::check_launch("ema_update");
  });
}

}  // namespace mtmap::cuda
