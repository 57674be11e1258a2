#include "training/nonfinite.h"

#include <fmt/format.h>

#include <cmath>

#include "engine/ops/copy.h"

namespace mtmap::training {

bool all_finite(const Tensor& t) {
  if (!t.defined() || t.numel() == 0) return true;
  // One sample (first axis) at a time: a block output of a full-scale batch is gigabytes.
  const int64_t rows = t.ndim() > 0 ? t.size(0) : 1;
  for (int64_t r = 0; r < rows; ++r) {
    const Tensor part = (t.ndim() > 0 ? t.detach().narrow(0, r, 1) : t.detach()).to(Device::cpu()).to(DType::f32).contiguous();
    const float* p = part.data<float>();
    for (int64_t i = 0; i < part.numel(); ++i)
      if (!std::isfinite(p[i])) return false;
  }
  return true;
}

std::string locate_nonfinite(const Tensor& input, const std::vector<std::pair<std::string, Tensor>>& trace) {
  if (!all_finite(input)) return "the input clips themselves are not finite";
  for (size_t i = 0; i < trace.size(); ++i) {
    if (all_finite(trace[i].second)) continue;
    const std::string& name = trace[i].first;
    const std::string what = name == "stem" ? "the stem's output" : "the output of block " + name;
    return fmt::format("the first non-finite value is in {} ({} finite)", what,
                       i == 0 ? "the input clips are" : "the input clips and every output before it are");
  }
  return trace.empty() ? ""
                       : fmt::format("the input clips and every block's output up to {} are finite: the value arose "
                                     "after the last block (the head, the key encoder or the loss itself)",
                                     trace.back().first);
}

std::string locate_nonfinite_gradient(const nn::Module& module) {
  for (const nn::NamedTensor& p : module.named_parameters())
    if (!all_finite(p.tensor.grad())) return "the first parameter with a non-finite gradient is " + p.name;
  return "";
}

}  // namespace mtmap::training
