#pragma once
// Everything one training run needs (docs/training.md), read strictly from an experiment's JSON:
//   model     the architecture and input (models::ModelSpec keys)
//   data      where the clips come from: generated dead leaves or a folder of videos
//   sheets    the cortical sheet of each block the spatial loss applies to (docs/model.md §2, §4)
//   training  the objective, MoCo v2, the optimiser, the schedule, checkpoints and progress
// Unknown keys, wrong types and values out of range throw mtmap::Error naming the key path and what
// is allowed, before anything runs. The resolved config (every default filled in) is written beside
// the checkpoints, and its hash is kept in each checkpoint so a resume refuses another config.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cortex/sheet.h"
#include "kernels/common/spatial_loss.h"
#include "models/model_spec.h"

namespace mtmap::training {

struct DataConfig {
  std::string source = "dead_leaves";  // "dead_leaves" (procedural, docs/model.md §7) or "videos"
  std::vector<std::string> paths;      // videos: folders (recursive), list files or files
  std::string root;                    // videos: folder list-file paths are relative to
  std::string probe_cache;             // videos: probe cache file ("" = none)
  int64_t videos_per_epoch = 1024;     // dead_leaves: videos in one epoch
  int dead_leaves_size = 128;          // dead_leaves: frame side of a generated video (px)
  int64_t dead_leaves_frames = 48;     // dead_leaves: frames of a generated video
  int64_t frame_stride = 1;            // frames between consecutive clip frames
  std::string offsets = "independent";  // where a pair's two clips start: independent, uniform_gap, decreasing
  double offset_power = 1.0;            // decreasing only
  bool augment = true;                  // false: centre crops, no augmentation (tests)
  std::string flip = "independent";     // a pair's horizontal flips: independent, shared, none (io/pair_source.h)
  int decode_short_side = 128;          // videos: frames scaled to this short side before cropping
  int workers = 2;                      // loader threads
  // dead_leaves on a CUDA device: "cpu" renders and augments in the loader's threads; "device"
  // makes each batch on the training GPU (io/device_batches.h), no pixel crossing the bus.
  std::string generate_on = "cpu";
};

struct SheetsConfig {
  // The blocks with a sheet, their side and neighbourhood width (default: the preprint's table).
  std::vector<cortex::SheetSpec> blocks = cortex::preprint_sheets();
  double jitter_mm = 0.3;  // retinotopic initial positions (docs/model.md §2)
  cortex::NeighbourhoodOptions neighbourhoods;
};

enum class Objective { joint, contrastive, spatial };  // the preprint's ablation triad
enum class Schedule { scratch, staged };               // docs/model.md §3

struct SwapStageConfig {
  int64_t probe_batches = 8;      // batches of natural clips whose responses are correlated
  int64_t windows = 2000;         // swap windows per block
  int64_t attempts_per_window = 500;
};

struct TrainingConfig {
  std::string device = "cpu";
  uint64_t seed = 0;
  Objective objective = Objective::joint;
  double alpha = 0.5;                        // α on every sheet block …
  std::map<std::string, double> alpha_per_block;  // … unless given here
  SpatialLossForm spatial_form = SpatialLossForm::relative;
  int batch_size = 64;
  int64_t steps = 1000;           // optimiser steps of the (last) training stage …
  double epochs = 0;              // … or, when > 0, this many passes over the data (resolve_epochs)
  double lr_per_256 = 0.03;       // the learning rate is lr_per_256 · batch_size / 256
  int64_t warmup_steps = 0;
  double final_lr = 0;
  double momentum = 0.9;
  double weight_decay = 1e-4;     // not on batch-norm parameters and biases
  double moco_momentum = 0.999;   // key encoder EMA
  double temperature = 0.2;
  int64_t queue_size = 65536;     // a multiple of batch_size
  Schedule schedule = Schedule::scratch;
  int64_t pretrain_steps = 0;     // staged: contrastive-only steps before the swap optimisation …
  double pretrain_epochs = 0;     // … or, when > 0, this many passes over the data
  SwapStageConfig swap;           // staged
  int64_t checkpoint_every = 1000;  // steps; a checkpoint is also written at the end
  int keep_checkpoints = 3;         // the last K are kept
  double progress_seconds = 5;      // plain progress line interval when not on a terminal
  int threads = 0;                  // CPU threads (0: every core)
  bool tf32 = true;                 // GPU: float32 convolutions in TF32 (false: exact f32, slower)
  // GPU: "bf16" runs every convolution on bf16 operands (fp32 accumulation, bf16 result) and keeps
  // everything else in f32: master weights, batch norm and its statistics, the losses, the
  // optimiser (nn::Conv3d::bf16_operands). "f32": tf32 above decides.
  std::string precision = "f32";
  // Data parallel (several ranks): MoCo's shuffling BN, the key encoder's batch spread over the
  // ranks in a random permutation so its batch statistics cannot leak which key is the positive.
  bool shuffle_bn = true;
};

struct TrainConfig {
  models::ModelSpec model;
  DataConfig data;
  SheetsConfig sheets;
  TrainingConfig training;
  // α of `block` under the objective (0 for the contrastive-only objective or a block without α).
  double alpha(const std::string& block) const;
};

// The sections this config reads from an experiment file; the others belong to other commands.
inline const std::vector<std::string> kTrainSections = {"model", "data", "sheets", "training"};

// Strict parse of the train sections of `j` (other top-level keys are the caller's business:
// see study/experiment_file.h). `origin` prefixes every key path in messages.
TrainConfig train_config_from_json(const nlohmann::json& j, const std::string& origin = "config");
// Every setting, defaults included, in the form train_config_from_json reads back.
nlohmann::json train_config_to_json(const TrainConfig& c);
// A hash of what decides the run's numbers (not checkpoint cadence, progress or thread count):
// a resume refuses a checkpoint whose hash differs.
std::string train_config_hash(const TrainConfig& c);
// Steps from epochs: with training.epochs (pretrain_epochs) > 0, steps (pretrain_steps) become
// round(epochs · batches_per_epoch), at least 1 (0 for pre-training). The hash stays that of the
// config as written. Throws when warmup_steps exceeds the resolved steps.
TrainConfig resolve_epochs(const TrainConfig& c, int64_t batches_per_epoch, const std::string& origin = "config");
// The config as the staged schedule's pre-training and swap see it: what only the last stage
// reads (objective, α, spatial loss form, training.steps) set to fixed values. Configs that differ
// only there share their pre-training and swap, and so does pretrain_hash.
TrainConfig pretrain_config(const TrainConfig& c);
std::string pretrain_hash(const TrainConfig& c);

const char* objective_name(Objective o);
const char* schedule_name(Schedule s);

}  // namespace mtmap::training
