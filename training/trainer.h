#pragma once
// A whole training run (docs/training.md): the data, the model and its sheets, MoCo v2 with the
// spatial loss, the schedule (from scratch, or staged: contrastive pre-training → swap optimisation
// of the sheets on recorded responses → joint training), checkpoints, metrics and progress.
// `mtmap train` is a thin layer over train().
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/core/progress.h"
#include "engine/dist/communicator.h"
#include "training/train_config.h"

namespace mtmap::training {

// Where a call of train() stops. The staged schedule's stages can run as separate calls, each in
// its own folder (the study runner caches them by the hash of their inputs): pre-training up to
// the swap, the swap itself, then the last stage started from the swap's checkpoint.
enum class StopAt {
  end,          // the whole schedule
  before_swap,  // staged: once pre-training is done (its checkpoint written), before the swap
  after_swap,   // staged: once the sheets are swap-optimised (a checkpoint at the same step)
};

struct TrainOptions {
  std::string out_dir;
  bool resume = false;           // continue from the newest checkpoint in out_dir
  // Start a fresh out_dir from this checkpoint of another folder: one written during the staged
  // schedule's pre-training or swap (step ≤ pretrain_steps) of a config that equals this one in
  // everything pre-training reads (pretrain_hash); or, when the hashes are equal, any checkpoint.
  std::string start_from;
  StopAt stop_at = StopAt::end;
  std::FILE* log = stderr;       // progress and messages
  int live = -1;                 // progress bar: -1 when `log` is a terminal, 0 plain lines, 1 live
  int64_t stop_after_steps = 0;  // > 0: return after this many steps of this call (tests; as if stopped)
  // Where progress and messages go. Null: a ProgressLine on `log` (`live`, training.progress_seconds).
  // Fractions are of the whole run (steps done / all steps); during the swap stage they stay at the
  // end of pre-training while the text counts the windows ("swap layer2.1 (1/2): window i/N, …").
  Progress* progress = nullptr;
  // Data parallel (docs/distributed.md): the job's process group (the MPI world, engine/dist/
  // world.h), null or of size 1 for one process. Every rank calls train() with the same config and
  // out_dir (a shared folder); training.batch_size is the global batch, each rank takes its
  // 1/ranks share. Rank 0 alone writes the folder and shows progress. On a GPU each rank trains
  // on its node's GPU number `local_rank`, and the gradients go through NCCL.
  dist::Communicator* world = nullptr;
  int local_rank = 0;
};

struct TrainSummary {
  int64_t first_step = 0, last_step = 0;  // steps done before this call, and after it
  std::vector<double> losses;             // the total loss of each step this call ran
  std::string final_model;                // model.safetensors once the run is complete, else ""
};

// Runs (or resumes) the training of `config` into options.out_dir. Refuses to start over an
// existing run without `resume`, and to resume a checkpoint of another config. A non-finite loss
// throws NonFiniteLoss (training/moco.h) naming the step and the term; checkpoints written before
// stay as they are.
TrainSummary train(const TrainConfig& config, const TrainOptions& options);

}  // namespace mtmap::training
