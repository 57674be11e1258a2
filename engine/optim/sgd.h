#pragma once
// SGD with momentum and weight decay over a flat parameter buffer (PyTorch's update rule, so a
// run can be compared with PyTorch step for step), a cosine learning-rate schedule with linear
// warm-up, and the exponential moving average of one module's parameters into another's (MoCo's
// key encoder).
#include "engine/nn/flat_parameters.h"

namespace mtmap::optim {

struct SgdOptions {
  double momentum = 0.9;
  double weight_decay = 1e-4;  // applied where the parameter's decay flag is set
};

class Sgd {
 public:
  Sgd(nn::FlatParameters& params, SgdOptions options);
  void step(double lr);
  int64_t steps() const { return steps_; }
  // The state a resumed run needs: the momentum buffer (flat, like the parameters) and the step
  // count (the first step initialises the momentum with the gradient, as PyTorch does).
  const Tensor& momentum_buffer() const { return momentum_; }
  // Copies `momentum` (same numel; any device or dtype) into the buffer and sets the step count.
  void load_state(const Tensor& momentum, int64_t steps);

 private:
  nn::FlatParameters& params_;
  SgdOptions options_;
  Tensor momentum_;
  int64_t steps_ = 0;
};

struct CosineSchedule {
  double base_lr = 0.03;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double final_lr = 0;
  // Linear warm-up from base/warmup to base, then a half cosine down to final_lr at total_steps.
  double lr(int64_t step) const;
};

// target ← m·target + (1 − m)·source over two flat buffers of identical layout.
void ema_update(nn::FlatParameters& target, const nn::FlatParameters& source, double m);

}  // namespace mtmap::optim
