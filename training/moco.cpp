#include "training/moco.h"

#include <chrono>
#include <cmath>
#include <map>

#include "cortex/sheet.h"
#include "engine/autograd/grad_mode.h"
#include "engine/core/fault_injection.h"
#include "engine/context/execution_context.h"
#include "engine/ops/copy.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "losses/info_nce.h"
#include "losses/spatial_loss.h"
#include "training/key_exchange.h"
#include "training/nonfinite.h"

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

// The loss terms of one step as numbers on the host, averaged over the ranks under data parallel
// (so every rank sees, and checks, the same values), then checked in the order they were added.
struct TermValues {
  std::vector<std::string> what;  // "the InfoNCE loss", "the spatial loss of block layer2.0", …
  std::vector<double> values;
  void add(const Tensor& term, std::string name) {
    what.push_back(std::move(name));
    values.push_back(term.to(Device::cpu()).to(DType::f64).item());  // one value back from the device
  }
  void average(dist::Communicator* comm) {
    if (!comm || comm->size() == 1 || values.empty()) return;
    const Tensor v = dist::host_collective(*comm, from_vector(values, {int64_t(values.size())}),
                                           [&](const Tensor& t) { comm->all_reduce_sum(t); });
    for (size_t i = 0; i < values.size(); ++i) values[i] = v.data<double>()[i] / double(comm->size());
  }
  void check(int64_t step, bool data_parallel) const {
    for (size_t i = 0; i < values.size(); ++i)
      if (!std::isfinite(values[i]))
        throw NonFiniteLoss(fmt::format("training stopped at step {}: {} is {}{} (the optimiser and the queue were "
                                        "not touched; the checkpoints written before stay as they are)",
                                        step, what[i], values[i], data_parallel ? " (mean over the ranks)" : ""));
  }
};

}  // namespace

MocoTrainer::MocoTrainer(std::shared_ptr<models::ResNet3d> query, const TrainingConfig& config, Device device,
                         Generator& queue_gen, dist::Communicator* comm)
    : config_(config), device_(device), query_(std::move(query)), comm_(comm) {
  MTMAP_CHECK(query_->config().projection_dim > 0, "moco: the model has no projection head (model.projection_dim = 0)");
  MTMAP_CHECK(!comm_ || comm_->device() == device_, "moco: the {} communicator works on {}, the training on {}",
              comm_ ? comm_->name() : "", comm_ ? comm_->device().str() : "", device_.str());
  query_->to(device_);
  query_->train();
  if (comm_ && comm_->size() > 1) dist::broadcast_module(*comm_, *query_, 0);  // every rank starts as rank 0
  Generator unused(0);  // the key encoder's initial values are overwritten by the query's
  key_ = std::make_shared<models::ResNet3d>(query_->config(), unused);
  key_->to(device_);
  key_->train();  // batch statistics, as in MoCo (per-device BN on one device)
  // On a GPU, float32 convolutions run on the tensor cores in TF32 (PyTorch's cuDNN default)
  // unless training.tf32 is false; matmuls stay exact f32. The CPU ignores the option.
  // With training.precision = "bf16" (checked to be on a GPU) they run on bf16 operands instead,
  // and the activations between them are bf16 (models::ResNet3d::set_bf16_activations); the
  // parameters, batch-norm statistics, the head, the losses, SGD and the EMA stay f32.
  const bool bf16 = config_.precision == "bf16";
  MTMAP_CHECK(!bf16 || device_.is_cuda(), "moco: training.precision = 'bf16' needs a CUDA device, not {}",
              device_.str());
  if (device_.is_cuda() && query_->config().dtype == DType::f32 && (bf16 || config_.tf32))
    for (models::ResNet3d* net : {query_.get(), key_.get()})
      net->apply([bf16](nn::Module& m) {
        if (auto* conv = dynamic_cast<nn::Conv3d*>(&m)) conv->options.cuda.allow_tf32 = !bf16;
      });
  if (bf16)  // bf16 operands for every convolution, bf16 activations between them
    for (models::ResNet3d* net : {query_.get(), key_.get()}) net->set_bf16_activations(true);
  copy_module(*query_, *key_);
  query_flat_ = std::make_unique<nn::FlatParameters>(*query_);
  key_flat_ = std::make_unique<nn::FlatParameters>(*key_);
  sgd_ = std::make_unique<optim::Sgd>(*query_flat_, optim::SgdOptions{config.momentum, config.weight_decay});
  const DType dt = query_->config().dtype;
  autograd::NoGradGuard no_grad;
  queue_ = l2_normalize(randn({config.queue_size, query_->config().projection_dim}, queue_gen, dt, device_), 1);
  if (comm_) {
    // With a group of one the buckets still run (a 1-rank NCCL group must equal no communicator).
    if (comm_->size() > 1) comm_->broadcast(queue_, 0);
    reducer_ = std::make_unique<dist::GradientReducer>(*query_, *query_flat_, *comm_);
  }
}

StepResult MocoTrainer::step(const Tensor& query_clips, const Tensor& key_clips, const std::vector<SpatialTerm>& terms,
                             Generator& windows, double lr, int64_t step) {
  StepResult r;
  fault::set_step(step);  // for the reliability tests' injected faults (engine/core/fault_injection.h)
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
  Keys keys;
  if (contrastive) {
    autograd::NoGradGuard no_grad;
    optim::ema_update(*key_flat_, *query_flat_, config_.moco_momentum);
    phase("ema");
    xk = key_clips.to(device_).to(dt);
    keys = encode_keys(*key_, xk, comm_, config_.shuffle_bn, config_.seed, step);
    phase("key_forward");
  }
  // Traced: were a loss term not finite, the trace says which block's output went first.
  models::ResNet3dOutput out = query_->forward(xq, keep, /*trace=*/true);
  phase("query_forward");
  Tensor total;
  TermValues values;
  if (contrastive) {
    total = losses::info_nce(out.embedding, keys.local, queue_, config_.temperature);
    values.add(total, "the InfoNCE loss");
  }
  for (const SpatialTerm& t : terms) {
    const Tensor window = cortex::sample_window(t.neighbourhoods, windows).to(device_);
    Tensor s = losses::block_spatial_loss(out.blocks.at(t.block), window, t.positions, config_.spatial_form);
    values.add(s, "the spatial loss of block " + t.block);
    Tensor weighted = mul(s, t.alpha);
    total = total.defined() ? add(total, weighted) : weighted;
  }
  MTMAP_CHECK(total.defined(), "moco step {}: no loss term (objective {} with no block of α > 0)", step,
              objective_name(config_.objective));
  values.add(total, "the total loss");
  values.average(comm_);
  try {
    values.check(step, comm_ && comm_->size() > 1);
  } catch (const NonFiniteLoss& e) {
    const std::string where = locate_nonfinite(xq, out.trace);
    throw NonFiniteLoss(where.empty() ? std::string(e.what())
                                      : fmt::format("{}; {}{}", e.what(), where,
                                                    comm_ && comm_->size() > 1 ? " (on this rank)" : ""));
  }
  out.trace.clear();  // the backward pass frees what it no longer needs; the trace must not hold it
  size_t v = 0;
  if (contrastive) r.info_nce = values.values[v++];
  for (const SpatialTerm& t : terms) r.spatial.emplace_back(t.block, values.values[v++]);
  r.loss = values.values[v];
  phase("losses");

  query_flat_->zero_grad();
  if (reducer_) reducer_->begin();
  total.backward();
  if (reducer_) reducer_->finish();  // every rank now holds the mean gradient
  // A non-finite value can hide from the loss (a ReLU maps NaN to 0, the spatial loss's zero-
  // variance rule treats a NaN column as constant) and still reach the gradient: one sum over the
  // flat gradient catches it (NaN and ±Inf survive a sum) before the optimiser spreads it.
  phase("backward");
  const double grad_sum = sum(query_flat_->grads()).to(Device::cpu()).item();
  if (!std::isfinite(grad_sum)) {
    const std::string where = locate_nonfinite_gradient(*query_);
    throw NonFiniteLoss(fmt::format("training stopped at step {}: the gradient of the loss is not finite (sum {}) "
                                    "though the loss {} is{}; the optimiser and the queue were not touched; the "
                                    "checkpoints written before stay as they are",
                                    step, grad_sum, r.loss, where.empty() ? "" : " (" + where + ")"));
  }
  sgd_->step(lr);
  phase("sgd");

  if (contrastive) {
    autograd::NoGradGuard no_grad;
    const int64_t n = keys.all.size(0), K = queue_.size(0);
    MTMAP_CHECK(K % n == 0, "moco step {}: a batch of {} keys does not divide the queue of {}", step, n, K);
    copy_into(queue_.narrow(0, queue_ptr_, n), keys.all);
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
