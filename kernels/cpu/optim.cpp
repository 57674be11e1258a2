#include "kernels/cpu/optim.h"

#include "kernels/cpu/dtype_switch.h"

namespace mtmap::cpu {

void sgd_step(DType t, int64_t n, void* params, const void* grads, void* momentum_buf, const void* decay_mask, double lr,
              double momentum, double weight_decay, bool first_step) {
  float_switch("sgd_step", t, [&](auto zero) {
    using T = decltype(zero);
    T* p = static_cast<T*>(params);
    const T* g = static_cast<const T*>(grads);
    T* buf = static_cast<T*>(momentum_buf);
    const T* mask = static_cast<const T*>(decay_mask);
    const T tlr = T(lr), tm = T(momentum), twd = T(weight_decay);
    for (int64_t i = 0; i < n; ++i) {
      T d = g[i] + twd * mask[i] * p[i];
      T b = first_step ? d : tm * buf[i] + d;
      buf[i] = b;
      p[i] -= tlr * b;
    }
  });
}

void ema_update(DType t, int64_t n, void* target, const void* source, double m) {
  float_switch("ema_update", t, [&](auto zero) {
    using T = decltype(zero);
    T* a = static_cast<T*>(target);
    const T* b = static_cast<const T*>(source);
    const T tm = T(m), rest = T(1.0 - m);
    for (int64_t i = 0; i < n; ++i) a[i] = tm * a[i] + rest * b[i];
  });
}

}  // namespace mtmap::cpu
