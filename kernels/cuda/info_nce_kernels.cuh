#pragma once
// The InfoNCE row kernels (info_nce.cu launches them around its cuBLAS GEMMs; the emulator tests
// launch them directly). Not a public header.
#include "kernels/common/info_nce.h"
#include "kernels/cuda/loss_common.cuh"

namespace mtmap::cuda::loss_detail {

// One block per row i: the positive logit, the row's log-sum-exp and loss.
template <class T>
__global__ void info_nce_rows(InfoNceParams p, const T* q, const T* k, const T* logits, double* lse, double* row_loss) {
  __shared__ double buf[kReduceThreads];
  const int64_t i = blockIdx.x;
  double part = 0;
  for (int64_t c = threadIdx.x; c < p.D; c += blockDim.x) part += double(q[i * p.D + c]) * double(k[i * p.D + c]);
  const double l0 = block_sum(part, buf) * p.inv_temperature;
  const T* row = logits + i * p.K;
  double mx = l0;
  for (int64_t j = threadIdx.x; j < p.K; j += blockDim.x) mx = fmax(mx, double(row[j]) * p.inv_temperature);
  mx = block_max(mx, buf);
  double s = threadIdx.x == 0 ? exp(l0 - mx) : 0.0;
  for (int64_t j = threadIdx.x; j < p.K; j += blockDim.x) s += exp(double(row[j]) * p.inv_temperature - mx);
  s = block_sum(s, buf);
  if (threadIdx.x == 0) {
    lse[i] = mx + log(s);
    row_loss[i] = lse[i] - l0;
  }
}

template <class T>
__global__ void mean_rows(int64_t n, const double* row_loss, T* loss) {
  __shared__ double buf[kReduceThreads];
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += row_loss[i];
  s = block_sum(s, buf);
  if (threadIdx.x == 0) *loss = T(s / double(n));
}

// One block per row: logits → dLoss/dlogits in place (softmax computed once, here), then the
// positive's share: dk_i = d0·q_i and dq_i = d0·k_i (the GEMM then adds the negatives).
template <class T>
__global__ void info_nce_dlogits(InfoNceParams p, const T* q, const T* k, const double* lse, const T* grad, T* logits,
                                 T* dq, T* dk) {
  __shared__ double buf[kReduceThreads];
  const int64_t i = blockIdx.x;
  const double scale = double(*grad) / double(p.N) * p.inv_temperature;
  double part = 0;
  for (int64_t c = threadIdx.x; c < p.D; c += blockDim.x) part += double(q[i * p.D + c]) * double(k[i * p.D + c]);
  const double l0 = block_sum(part, buf) * p.inv_temperature;
  const double d0 = (exp(l0 - lse[i]) - 1.0) * scale;
  T* row = logits + i * p.K;
  for (int64_t j = threadIdx.x; j < p.K; j += blockDim.x)
    row[j] = T(exp(double(row[j]) * p.inv_temperature - lse[i]) * scale);
  for (int64_t c = threadIdx.x; c < p.D; c += blockDim.x) {
    if (dq) dq[i * p.D + c] = T(d0 * double(k[i * p.D + c]));
    if (dk) dk[i * p.D + c] = T(d0 * double(q[i * p.D + c]));
  }
}

}  // namespace mtmap::cuda::loss_detail
