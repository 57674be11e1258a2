#include "engine/autograd/gradcheck.h"

#include <cmath>

#include "engine/autograd/grad_mode.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/random/generator.h"

namespace mtmap::autograd {
namespace {

double objective(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const Tensor& projection) {
  NoGradGuard no_grad;
  return sum(mul(fn(inputs), projection)).to(Device::cpu()).item();
}

}  // namespace

GradcheckResult gradcheck(const std::string& name, const GradcheckFn& fn, const std::vector<Tensor>& inputs_in,
                          const GradcheckOptions& o) {
  GradcheckResult result;
  std::vector<Tensor> inputs;
  for (const Tensor& t : inputs_in) {
    MTMAP_CHECK(t.dtype() == DType::f64 || !t.requires_grad(), "gradcheck {}: input {} must be f64", name, t.str());
    Tensor leaf = t.detach();
    if (t.requires_grad()) leaf.set_requires_grad(true);
    inputs.push_back(leaf);
  }

  // Analytic gradients of L = sum(fn(x) * P).
  Tensor y = fn(inputs);
  Generator gen(o.seed);
  Tensor projection = randn(y.shape(), gen, y.dtype(), y.device());
  sum(mul(y, projection)).backward();

  double worst_seen = -1;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) {
      if (inputs[i].grad().defined()) {
        result.ok = false;
        result.report += fmt::format("{}: input {} does not require grad but received a gradient\n", name, i);
      }
      continue;
    }
    Tensor grad = inputs[i].grad();
    if (!grad.defined()) {
      result.ok = false;
      result.report += fmt::format("{}: input {} {} received no gradient\n", name, i, inputs[i].str());
      continue;
    }
    std::vector<double> analytic = grad.to(Device::cpu()).to_vector<double>();
    double scale = 0;
    for (double a : analytic) scale = std::max(scale, std::fabs(a));
    Device device = inputs[i].device();
    Shape shape = inputs[i].shape();
    std::vector<double> values = inputs[i].to(Device::cpu()).to_vector<double>();
    for (size_t k = 0; k < values.size(); ++k) {
      std::vector<Tensor> probe = inputs;
      double v = values[k];
      values[k] = v + o.eps;
      probe[i] = from_vector(values, shape, DType::f64, device);
      double plus = objective(fn, probe, projection);
      values[k] = v - o.eps;
      probe[i] = from_vector(values, shape, DType::f64, device);
      double minus = objective(fn, probe, projection);
      values[k] = v;
      double numeric = (plus - minus) / (2 * o.eps);
      double a = analytic[k];
      double allowed = o.atol + o.floor * scale + o.rtol * std::max(std::fabs(a), std::fabs(numeric));
      double ratio = std::fabs(a - numeric) / allowed;
      if (!(ratio <= 1.0)) {  // also catches NaN
        if (result.ok || result.report.size() < 2000)
          result.report += fmt::format("{}: input {} {} element {}: analytic {:.10g} numeric {:.10g}\n", name, i,
                                       inputs[i].str(), k, a, numeric);
        result.ok = false;
      }
      if (ratio > worst_seen || std::isnan(ratio)) worst_seen = std::isnan(ratio) ? INFINITY : ratio;
      ++result.checked;
    }
  }
  result.worst = worst_seen;
  if (result.ok)
    result.report = fmt::format("{}: {} elements, worst error {:.3g} of the allowed", name, result.checked, result.worst);
  return result;
}

}  // namespace mtmap::autograd
