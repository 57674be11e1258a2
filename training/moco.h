#pragma once
// One MoCo v2 training step with the spatial loss (docs/training.md, docs/model.md §5–§6):
//   1. the key encoder follows the query encoder: θ_k ← m·θ_k + (1 − m)·θ_q (before its forward);
//   2. query forward (keeping the sheet blocks' outputs), key forward without gradient;
//   3. L = InfoNCE(q, k, queue) + Σ_b α_b · spatial(block b, one window of b's neighbourhoods);
//      a non-finite term stops the step before the optimiser and the queue, naming the term (the
//      key encoder's EMA and both encoders' batch-norm statistics have moved: the run stops there);
//   4. backward, SGD (momentum, weight decay off for batch norm and biases);
//   5. the batch's keys replace the oldest ones in the queue, whose pointer moves on by N.
// Data parallel (a communicator of several ranks): every rank starts from rank 0's encoder and queue,
// runs the step on its own share of the global batch, and the ranks stay identical: the keys go
// through shuffle-BN and are enqueued from all ranks (training/key_exchange.h), the loss terms are
// averaged over the ranks before they are checked (a non-finite term on one rank stops all alike),
// and the gradient is averaged by bucketed all-reduces that overlap the backward pass
// (engine/dist/gradient_reducer.h); the spatial loss is each rank's own, on its local batch.
// The objectives of the preprint's ablation: joint (both terms), contrastive (α = 0: the block
// outputs are not even kept) and spatial (no InfoNCE: no key encoder forward, no queue update).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/dist/communicator.h"
#include "engine/dist/gradient_reducer.h"
#include "engine/nn/flat_parameters.h"
#include "engine/optim/sgd.h"
#include "engine/random/generator.h"
#include "models/resnet3d.h"
#include "training/train_config.h"

namespace mtmap::training {

// A block the spatial loss applies to, as one step uses it.
struct SpatialTerm {
  std::string block;
  double alpha = 0;
  Tensor positions;       // (U, 2) on the training device, f32/f64 as the model
  Tensor neighbourhoods;  // (P, M) i64 on the CPU: one row is drawn per step
};

struct StepResult {
  double loss = 0;      // the total
  double info_nce = 0;  // 0 under the spatial objective
  std::vector<std::pair<std::string, double>> spatial;  // per block, before α
  double lr = 0;
  // With phase timing on (MocoTrainer::time_phases): seconds of ema, key_forward, query_forward,
  // losses, backward, sgd, queue, in that order.
  std::vector<std::pair<std::string, double>> phase_seconds;
};

// Thrown when a loss term is not finite: what() names the step and the term.
class NonFiniteLoss : public Error {
 public:
  using Error::Error;
};

class MocoTrainer {
 public:
  // `query`: the initialised query encoder (any device; it is moved to `device`). The key encoder
  // starts as its copy; the queue as normalised random vectors from `queue_gen`. `comm`: the
  // data-parallel communicator on `device` (null: one process); it must outlive the trainer, and
  // every rank constructs its trainer and calls step() in step with the others.
  MocoTrainer(std::shared_ptr<models::ResNet3d> query, const TrainingConfig& config, Device device,
              Generator& queue_gen, dist::Communicator* comm = nullptr);

  // One step on a batch of pairs, f32 (N, 3, T, S, S) each (any device): this rank's share of the
  // global batch under data parallel, whose StepResult values are then the means over the ranks. `windows` draws the
  // spatial loss's windows; `step` is only used in messages.
  StepResult step(const Tensor& query_clips, const Tensor& key_clips, const std::vector<SpatialTerm>& terms,
                  Generator& windows, double lr, int64_t step);

  // Where a step's time goes (StepResult::phase_seconds). Each phase ends by waiting for the
  // device, so on a GPU the timed step is slower than an untimed one; on the CPU it costs nothing.
  void time_phases(bool on) { time_phases_ = on; }
  // The staged schedule's pre-training is contrastive whatever the objective (docs/model.md §3):
  // while on, steps use InfoNCE even under the spatial-only objective.
  void set_contrastive_only(bool on) { contrastive_only_ = on; }

  models::ResNet3d& query() { return *query_; }
  models::ResNet3d& key() { return *key_; }
  const nn::FlatParameters& query_params() const { return *query_flat_; }
  const nn::FlatParameters& key_params() const { return *key_flat_; }
  optim::Sgd& sgd() { return *sgd_; }
  const Tensor& queue() const { return queue_; }  // (K, D)
  int64_t queue_ptr() const { return queue_ptr_; }
  Device device() const { return device_; }
  dist::Communicator* communicator() const { return comm_; }
  // Data parallel: the gradient buckets (null with one process).
  const dist::GradientReducer* reducer() const { return reducer_.get(); }

  // The state a checkpoint holds beyond the query encoder, under names that start with "train."
  // (models/checkpoint.h); load_state takes what state() gave (CPU tensors are fine).
  std::vector<std::pair<std::string, Tensor>> state() const;
  int64_t sgd_steps() const { return sgd_->steps(); }
  void load_state(const std::vector<std::pair<std::string, Tensor>>& state, int64_t queue_ptr, int64_t sgd_steps,
                  const std::string& origin);

 private:
  TrainingConfig config_;
  Device device_;
  std::shared_ptr<models::ResNet3d> query_, key_;
  std::unique_ptr<nn::FlatParameters> query_flat_, key_flat_;
  std::unique_ptr<optim::Sgd> sgd_;
  dist::Communicator* comm_ = nullptr;
  std::unique_ptr<dist::GradientReducer> reducer_;
  Tensor queue_;
  int64_t queue_ptr_ = 0;
  bool time_phases_ = false;
  bool contrastive_only_ = false;
};

}  // namespace mtmap::training
