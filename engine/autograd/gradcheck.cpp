#include "engine/autograd/gradcheck.h"

#include <cmath>
#include <functional>

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

namespace {

// Compares one input's analytic gradient with central differences. `evaluate(k, value)` returns
// the objective with element k of the input set to `value`.
void compare_input(const std::string& name, size_t input, const std::string& what, const std::vector<double>& analytic,
                   const std::vector<double>& values, const std::function<double(size_t, double)>& evaluate,
                   const GradcheckOptions& o, GradcheckResult& result, double& worst_seen) {
  double scale = 0;
  for (double a : analytic) scale = std::max(scale, std::fabs(a));
  for (size_t k = 0; k < values.size(); ++k) {
    double plus = evaluate(k, values[k] + o.eps);
    double minus = evaluate(k, values[k] - o.eps);
    evaluate(k, values[k]);  // restore
    double numeric = (plus - minus) / (2 * o.eps);
    double a = analytic[k];
    double allowed = o.atol + o.floor * scale + o.rtol * std::max(std::fabs(a), std::fabs(numeric));
    double ratio = std::fabs(a - numeric) / allowed;
    if (!(ratio <= 1.0)) {  // also catches NaN
      if (result.ok || result.report.size() < 2000)
        result.report += fmt::format("{}: input {} {} element {}: analytic {:.10g} numeric {:.10g}\n", name, input, what, k,
                                     a, numeric);
      result.ok = false;
    }
    if (ratio > worst_seen || std::isnan(ratio)) worst_seen = std::isnan(ratio) ? INFINITY : ratio;
    ++result.checked;
  }
}

void finish(const std::string& name, GradcheckResult& result, double worst_seen) {
  result.worst = worst_seen;
  if (result.ok)
    result.report = fmt::format("{}: {} elements, worst error {:.3g} of the allowed", name, result.checked, result.worst);
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
    Device device = inputs[i].device();
    Shape shape = inputs[i].shape();
    std::vector<double> values = inputs[i].to(Device::cpu()).to_vector<double>();
    std::vector<double> probe_values = values;
    auto evaluate = [&](size_t k, double v) {
      probe_values[k] = v;
      std::vector<Tensor> probe = inputs;
      probe[i] = from_vector(probe_values, shape, DType::f64, device);
      return objective(fn, probe, projection);
    };
    compare_input(name, i, inputs[i].str(), grad.to(Device::cpu()).to_vector<double>(), values, evaluate, o, result,
                  worst_seen);
  }
  finish(name, result, worst_seen);
  return result;
}

GradcheckResult gradcheck_params(const std::string& name, const std::function<Tensor()>& fn,
                                 const std::vector<Tensor>& params, const GradcheckOptions& o) {
  GradcheckResult result;
  for (const Tensor& p : params)
    MTMAP_CHECK(p.dtype() == DType::f64 && p.device().is_cpu() && p.requires_grad() && p.is_leaf(),
                "gradcheck_params {}: parameter {} must be an f64 CPU leaf that requires grad", name, p.str());
  for (Tensor p : params) p.zero_grad();
  Tensor y = fn();
  Generator gen(o.seed);
  Tensor projection = randn(y.shape(), gen, y.dtype(), y.device());
  sum(mul(y, projection)).backward();
  double worst_seen = -1;
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor p = params[i];
    if (!p.grad().defined()) {
      result.ok = false;
      result.report += fmt::format("{}: parameter {} {} received no gradient\n", name, i, p.str());
      continue;
    }
    std::vector<double> analytic = p.grad().to_vector<double>();
    std::vector<double> values = p.to_vector<double>();
    MTMAP_CHECK(p.is_contiguous(), "gradcheck_params {}: parameter {} must be contiguous", name, i);
    double* data = p.data<double>();
    auto evaluate = [&](size_t k, double v) {
      data[k] = v;
      NoGradGuard no_grad;
      return sum(mul(fn(), projection)).item();
    };
    compare_input(name, i, p.str(), analytic, values, evaluate, o, result, worst_seen);
  }
  for (Tensor p : params) p.zero_grad();
  finish(name, result, worst_seen);
  return result;
}

}  // namespace mtmap::autograd
