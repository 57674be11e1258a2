#pragma once
// One flat parameter buffer and one flat gradient buffer for a module (llm.c's layout): every
// parameter becomes a view into the first, its gradient a view into the second, so an optimiser
// step or an all-reduce is one call over one buffer.
#include <string>
#include <vector>

#include "engine/nn/module.h"

namespace mtmap::nn {

struct ParameterSegment {
  std::string name;
  int64_t offset = 0, numel = 0;
  bool decay = true;
};

class FlatParameters {
 public:
  // Moves the module's parameters (values kept) into the flat buffer. All must share one dtype and
  // device. The module must outlive nothing: the buffers stay valid as long as this object or a
  // parameter does.
  explicit FlatParameters(const Module& module);

  const Tensor& params() const { return params_; }  // (numel)
  const Tensor& grads() const { return grads_; }    // (numel)
  // 1 where weight decay applies, 0 elsewhere (same dtype as the parameters).
  const Tensor& decay_mask() const { return decay_mask_; }
  const std::vector<ParameterSegment>& segments() const { return segments_; }
  int64_t numel() const { return params_.numel(); }
  void zero_grad();

 private:
  Tensor params_, grads_, decay_mask_;
  std::vector<ParameterSegment> segments_;
};

}  // namespace mtmap::nn
