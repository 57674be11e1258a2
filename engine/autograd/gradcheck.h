#pragma once
// The float64 gradient check every differentiable op must pass (and every later op uses).
//
// The objective is a random projection L = sum(fn(x) * P) with P ~ N(0, 1) fixed by a seed —
// never a plain sum, which is blind to errors that cancel across outputs (batch norm's, say).
// The analytic gradient of L (autograd) is compared, for every element of every input that
// requires grad, with the central difference (L(x + eps) - L(x - eps)) / 2eps, which is accurate
// to O(eps^2) in float64. An element passes when
//   |analytic - numeric| <= atol + floor * G + rtol * max(|a|, |n|),   G = max |analytic| of that input:
// a relative error with a floor, so a tiny gradient that is the difference of large terms (a wide
// convolution's, say) is not held to a relative precision the central difference cannot reach.
#include <functional>
#include <string>
#include <vector>

#include "engine/tensor/tensor.h"

namespace mtmap::autograd {

struct GradcheckOptions {
  double eps = 1e-6;
  double rtol = 1e-5;
  double atol = 1e-8;
  double floor = 1e-6;
  uint64_t seed = 20261126;
};

struct GradcheckResult {
  bool ok = true;
  double worst = 0;     // largest |a - n| / (atol + rtol * max(|a|, |n|)); <= 1 passes
  int64_t checked = 0;  // elements compared
  std::string report;   // the failures (or the worst element), one line each
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

// `inputs` must be f64. The ones with requires_grad are checked; the others must receive no
// gradient. Inputs may live on any device; perturbation happens on a host copy.
GradcheckResult gradcheck(const std::string& name, const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

// For modules: `fn` reads `params` itself (a module's own parameters: f64 CPU leaves that require
// grad). Each element is perturbed in place and restored; their .grad is reset before and after.
GradcheckResult gradcheck_params(const std::string& name, const std::function<Tensor()>& fn,
                                 const std::vector<Tensor>& params, const GradcheckOptions& options = {});

}  // namespace mtmap::autograd
