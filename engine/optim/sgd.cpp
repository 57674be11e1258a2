#include "engine/optim/sgd.h"

#include <cmath>

#include "engine/autograd/grad_mode.h"
#include "engine/backend/backend.h"
#include "engine/ops/checks.h"
#include "engine/ops/copy.h"

namespace mtmap::optim {

Sgd::Sgd(nn::FlatParameters& params, SgdOptions options)
    : params_(params), options_(options), momentum_(zeros({params.numel()}, params.params().dtype(), params.params().device())) {
  MTMAP_CHECK(options.momentum >= 0 && options.weight_decay >= 0, "sgd: momentum {} and weight decay {} must be ≥ 0",
              options.momentum, options.weight_decay);
}

void Sgd::step(double lr) {
  MTMAP_CHECK(std::isfinite(lr) && lr >= 0, "sgd: learning rate {} is not a finite non-negative number", lr);
  const Tensor& p = params_.params();
  checks::floating("sgd", p);
  const Device dev = p.device();
  backend_of(dev).sgd_step(p.dtype(), p.numel(), p.raw(), params_.grads().raw(), momentum_.raw(), params_.decay_mask().raw(), lr,
                  options_.momentum, options_.weight_decay, steps_ == 0);
  ++steps_;
}

void Sgd::load_state(const Tensor& momentum, int64_t steps) {
  MTMAP_CHECK(momentum.numel() == momentum_.numel(), "sgd: a momentum buffer of {} elements for {} parameters",
              momentum.numel(), momentum_.numel());
  MTMAP_CHECK(steps >= 0, "sgd: step count {} is negative", steps);
  copy_into(momentum_, momentum.to(momentum_.device()).to(momentum_.dtype()).reshape({momentum_.numel()}));
  steps_ = steps;
}

double CosineSchedule::lr(int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps) return base_lr * double(step + 1) / double(warmup_steps);
  double span = double(std::max<int64_t>(1, total_steps - warmup_steps));
  double progress = std::min(1.0, double(step - warmup_steps) / span);
  return final_lr + (base_lr - final_lr) * 0.5 * (1 + std::cos(M_PI * progress));
}

void ema_update(nn::FlatParameters& target, const nn::FlatParameters& source, double m) {
  MTMAP_CHECK(target.segments().size() == source.segments().size() && target.numel() == source.numel(),
              "ema_update: the two modules' parameter layouts differ ({} and {} elements)", target.numel(), source.numel());
  for (size_t i = 0; i < target.segments().size(); ++i)
    MTMAP_CHECK(target.segments()[i].name == source.segments()[i].name && target.segments()[i].numel == source.segments()[i].numel,
                "ema_update: parameter {} of the target meets {} of the source", target.segments()[i].name,
                source.segments()[i].name);
  const Tensor& t = target.params();
  checks::floating("ema_update", t);
  checks::same_dtype("ema_update", t, source.params());
  checks::same_device("ema_update", {&t, &source.params()});
  backend_of(t.device()).ema_update(t.dtype(), t.numel(), t.raw(), source.params().raw(), m);
}

}  // namespace mtmap::optim
