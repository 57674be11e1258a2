#include "training/moco.h"

#include <chrono>
#include <cmath>
#include <map>

#include "cortex/sheet.h"
#include "engine/autograd/grad_mode.h"
#include "engine/context/execution_context.h"
#include "engine/ops/copy.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "losses/info_nce.h"
#include "losses/spatial_loss.h"

namespace mtmap::training {
namespace {

constexpr const char* kKeyPrefix = "train.key.";
constexpr const char* kQueueName = "train.queue";
constexpr const char* kMomentumName = "train.sgd.momentum";

// Copies every parameter and buffer of `from` into `to` (same architecture), values only.
void copy_module(const nn::Module& from, nn::Module& to) {
  auto copy_all = [](const std::vector<nn::NamedTensor>& src, const std::vector<nn::NamedTensor>& dst) {
    MTMAP_CHECK(src.size() == dst.size(), "moco: the encoders differ ({} and {} tensors)", src.size(), dst.size());
    for (size_t i = 0; i < src.size(); ++i) {
      MTMAP_CHECK(src[i].name == dst[i].name, "moco: encoder tensor {} meets {}", src[i].name, dst[i].name);
      copy_into(dst[i].tensor, src[i].tensor.detach().to(dst[i].tensor.device()));
    }
  };
  copy_all(from.named_parameters(), to.named_parameters());
  copy_all(from.named_buffers(), to.named_buffers());
}

double checked_value(const Tensor& term, const char* what, const std::string& name, int64_t step) {
  const double v = term.to(Device::cpu()).item();  // one value back from the device
  if (!std::isfinite(v))
    throw NonFiniteLoss(fmt::format("training stopped at step {}: the {}{} is {} (the optimiser and the queue were not "
                                    "touched; the last checkpoint is intact)",
                                    step, what, name.empty() ? "" : " of " + name, v));
  return v;
}

}  // namespace

MocoTrainer::MocoTrainer(std::shared_ptr<models::ResNet3d> query, const TrainingConfig& config, Device device,
                         Generator& queue_gen)
    : config_(config), device_(device), query_(std::move(query)) {
  MTMAP_CHECK(query_->config().projection_dim > 0, "moco: the model has no projection head (model.projection_dim = 0)");
  query_->to(device_);
  query_->train();
  Generator unused(0);  // the key encoder's initial values are overwritten by the query's
  key_ = std::make_shared<models::ResNet3d>(query_->config(), unused);
  key_->to(device_);
  key_->train();  // batch statistics, as in MoCo (per-device BN on one device)
  // On a GPU, float32 convolutions run on the tensor cores in TF32 (PyTorch's cuDNN default)
  // unless training.tf32 is false; matmuls stay exact f32. The CPU ignores the option.
  if (config_.tf32 && device_.is_cuda() && query_->config().dtype == DType::f32)
    for (models::ResNet3d* net : {query_.get(), key_.get()})
      net->apply([](nn::Module& m) {
        if (auto* conv = dynamic_cast<nn::Conv3d*>(&m)) conv->options.cuda.allow_tf32 = true;
      });
  copy_module(*query_, *key_);
  query_flat_ = std::make_unique<nn::FlatParameters>(*query_);
  key_flat_ = std::make_unique<nn::FlatParameters>(*key_);
  sgd_ = std::make_unique<optim::Sgd>(*query_flat_, optim::SgdOptions{config.momentum, config.weight_decay});
  const DType dt = query_->config().dtype;
  autograd::NoGradGuard no_grad;
  queue_ = l2_normalize(randn({config.queue_size, query_->config().projection_dim}, queue_gen, dt, device_), 1);
}

StepResult MocoTrainer::step(const Tensor& query_clips, const Tensor& key_clips, const std::vector<SpatialTerm>& terms,
                             Generator& windows, double lr, int64_t step) {
  StepResult r;
  auto last = std::chrono::steady_clock::now();
  auto phase = [&](const char* name) {
    if (!time_phases_) return;
    ExecutionContext::current(device_).synchronize();
    const auto now = std::chrono::steady_clock::now();
    r.phase_seconds.emplace_back(name, std::chrono::duration<double>(now - last).count());
    last = now;
  };
  const DType dt = query_->config().dtype;
  const bool contrastive = contrastive_only_ || config_.objective != Objective::spatial;
  Tensor xq = query_clips.to(device_).to(dt), xk;
  std::vector<std::string> keep;
  for (const SpatialTerm& t : terms) keep.push_back(t.block);

  r.lr = lr;
  Tensor k;
  if (contrastive) {
    autograd::NoGradGuard no_grad;
    optim::ema_update(*key_flat_, *query_flat_, config_.moco_momentum);
    phase("ema");
    xk = key_clips.to(device_).to(dt);
    k = key_->forward(xk).embedding.detach();
    phase("key_forward");
  }
  models::ResNet3dOutput out = query_->forward(xq, keep);
  phase("query_forward");
  Tensor total;
  if (contrastive) {
    total = losses::info_nce(out.embedding, k, queue_, config_.temperature);
    r.info_nce = checked_value(total, "InfoNCE loss", "", step);
  }
  for (const SpatialTerm& t : terms) {
    const Tensor window = cortex::sample_window(t.neighbourhoods, windows).to(device_);
    Tensor s = losses::block_spatial_loss(out.blocks.at(t.block), window, t.positions, config_.spatial_form);
    r.spatial.emplace_back(t.block, checked_value(s, "spatial loss", "block " + t.block, step));
    Tensor weighted = mul(s, t.alpha);
    total = total.defined() ? add(total, weighted) : weighted;
  }
  MTMAP_CHECK(total.defined(), "moco step {}: no loss term (objective {} with no block of α > 0)", step,
              objective_name(config_.objective));
  r.loss = checked_value(total, "total loss", "", step);
  phase("losses");

  query_flat_->zero_grad();
  total.backward();
  // A non-finite value can hide from the loss (a ReLU maps NaN to 0, the spatial loss's zero-
  // variance rule treats a NaN column as constant) and still reach the gradient: one sum over the
  // flat gradient catches it (NaN and ±Inf survive a sum) before the optimiser spreads it.
  phase("backward");
  const double grad_sum = sum(query_flat_->grads()).to(Device::cpu()).item();
  if (!std::isfinite(grad_sum))
    throw NonFiniteLoss(fmt::format("training stopped at step {}: the gradient of the loss is not finite (sum {}) "
                                    "though the loss {} is; the optimiser and the queue were not touched; the last "
                                    "checkpoint is intact",
                                    step, grad_sum, r.loss));
  sgd_->step(lr);
  phase("sgd");

  if (contrastive) {
    autograd::NoGradGuard no_grad;
    const int64_t n = k.size(0), K = queue_.size(0);
    MTMAP_CHECK(K % n == 0, "moco step {}: a batch of {} keys does not divide the queue of {}", step, n, K);
    copy_into(queue_.narrow(0, queue_ptr_, n), k);
    queue_ptr_ = (queue_ptr_ + n) % K;
    phase("queue");
  }
  return r;
}

std::vector<std::pair<std::string, Tensor>> MocoTrainer::state() const {
  std::vector<std::pair<std::string, Tensor>> s;
  for (const nn::NamedTensor& p : key_->named_parameters()) s.emplace_back(kKeyPrefix + p.name, p.tensor.detach());
  for (const nn::NamedTensor& b : key_->named_buffers()) s.emplace_back(kKeyPrefix + b.name, b.tensor);
  s.emplace_back(kQueueName, queue_);
  s.emplace_back(kMomentumName, sgd_->momentum_buffer());
  return s;
}

void MocoTrainer::load_state(const std::vector<std::pair<std::string, Tensor>>& state, int64_t queue_ptr,
                             int64_t sgd_steps, const std::string& origin) {
  std::map<std::string, Tensor> by_name(state.begin(), state.end());
  auto take = [&](const std::string& name, const Tensor& dst) {
    auto it = by_name.find(name);
    MTMAP_CHECK(it != by_name.end(), "{}: the training state has no tensor '{}'", origin, name);
    MTMAP_CHECK(it->second.shape() == dst.shape(), "{}: tensor '{}' is {} but this run needs {}", origin, name,
                shape_str(it->second.shape()), shape_str(dst.shape()));
    copy_into(dst, it->second.to(dst.device()).to(dst.dtype()));
  };
  autograd::NoGradGuard no_grad;
  for (const nn::NamedTensor& p : key_->named_parameters()) take(kKeyPrefix + p.name, p.tensor);
  for (const nn::NamedTensor& b : key_->named_buffers()) take(kKeyPrefix + b.name, b.tensor);
  take(kQueueName, queue_);
  auto it = by_name.find(kMomentumName);
  MTMAP_CHECK(it != by_name.end(), "{}: the training state has no tensor '{}'", origin, kMomentumName);
  sgd_->load_state(it->second, sgd_steps);
  MTMAP_CHECK(queue_ptr >= 0 && queue_ptr < queue_.size(0), "{}: queue pointer {} outside the queue of {}", origin,
              queue_ptr, queue_.size(0));
  queue_ptr_ = queue_ptr;
}

}  // namespace mtmap::training
