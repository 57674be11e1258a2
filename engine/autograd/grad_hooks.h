#pragma once
// A callback for the moment a leaf's gradient is final in a backward pass: its AccumulateGrad node
// has run, and run_backward runs each node once, after every consumer has delivered its part. Data
// parallel training (engine/dist/gradient_reducer.h) starts a bucket's all-reduce from it while
// the rest of the backward pass still runs.
//
// The callback is per thread (the backward pass runs on the thread that called it) and scoped:
// a GradReadyScope installs one until it ends, putting back the one it replaced.
#include <functional>

#include "engine/tensor/tensor.h"

namespace mtmap::autograd {

using GradReadyFn = std::function<void(const TensorImpl& leaf)>;

class GradReadyScope {
 public:
  explicit GradReadyScope(GradReadyFn fn);
  ~GradReadyScope();
  GradReadyScope(const GradReadyScope&) = delete;
  GradReadyScope& operator=(const GradReadyScope&) = delete;

 private:
  GradReadyFn previous_;
};

// Calls the calling thread's callback, if any (AccumulateGrad does, after accumulating).
void notify_grad_ready(const TensorImpl& leaf);

}  // namespace mtmap::autograd
