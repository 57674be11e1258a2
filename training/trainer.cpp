#include "training/trainer.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <cerrno>
#include <cstring>

#include "cortex/sheet.h"
#include "cortex/swap.h"
#include "engine/autograd/grad_mode.h"
#include "engine/core/device_support.h"
#include "engine/core/error.h"
#include "engine/core/progress.h"
#include "engine/core/threads.h"
#include "engine/context/execution_context.h"
#include "engine/dist/nccl_communicator.h"
#include "engine/ops/index.h"
#include "engine/optim/sgd.h"
#include "io/loader.h"
#include "io/device_batches.h"
#include "io/pair_source.h"
#include "io/rng.h"
#ifdef MTMAP_WITH_VIDEO
#include "io/video/dataset.h"
#include "io/video/video_pair_source.h"
#endif
#include "losses/spatial_loss.h"
#include "models/checkpoint.h"
#include "training/initial_model.h"
#include "training/moco.h"
#include "training/run_files.h"

namespace mtmap::training {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Each use of randomness has its own stream, derived from the run's seed and a fixed tag, so
// adding one never shifts another. The model's weights and initial sheets use the seed itself.
enum SeedTag : uint64_t { kData = 1, kQueue = 2, kWindows = 3, kNeighbourhoods = 4, kProbe = 5, kSwap = 6 };
uint64_t seed_for(uint64_t seed, SeedTag tag, uint64_t extra = 0) { return io::mix_key(seed, tag, extra); }

// Where a run is: everything besides tensors that a checkpoint must hold to continue exactly.
struct Position {
  int64_t step = 0;         // optimiser steps done
  int64_t epoch = 0;        // the loader's epoch and the next batch in it
  int64_t batch = 0;
  uint64_t window_offset = 0;  // the window generator's offset
  int64_t queue_ptr = 0;
  int64_t sgd_steps = 0;
  bool swapped = false;     // staged: the sheets have been swap-optimised
};

std::map<std::string, std::string> position_metadata(const Position& p, const std::string& hash,
                                                     const std::string& pre_hash, const char* stage, int ranks) {
  return {{"train.pretrain_hash", pre_hash},
          {"train.ranks", std::to_string(ranks)},  // for the record: a run resumes on any number
          {"train.step", std::to_string(p.step)},
          {"train.epoch", std::to_string(p.epoch)},
          {"train.batch", std::to_string(p.batch)},
          {"train.window_offset", std::to_string(p.window_offset)},
          {"train.queue_ptr", std::to_string(p.queue_ptr)},
          {"train.sgd_steps", std::to_string(p.sgd_steps)},
          {"train.swapped", p.swapped ? "1" : "0"},
          {"train.stage", stage},
          {"train.config_hash", hash}};
}

Position position_from(const formats::SafetensorsFile& f, const std::string& path) {
  auto num = [&](const char* key) -> uint64_t {
    auto it = f.metadata.find(key);
    MTMAP_CHECK(it != f.metadata.end(), "{}: not a training checkpoint (metadata '{}' is missing)", path, key);
    try {
      return std::stoull(it->second);
    } catch (const std::exception&) {
      MTMAP_FAIL("{}: metadata '{}' = '{}' is not a number", path, key, it->second);
    }
  };
  Position p;
  p.step = int64_t(num("train.step"));
  p.epoch = int64_t(num("train.epoch"));
  p.batch = int64_t(num("train.batch"));
  p.window_offset = num("train.window_offset");
  p.queue_ptr = int64_t(num("train.queue_ptr"));
  p.sgd_steps = int64_t(num("train.sgd_steps"));
  p.swapped = num("train.swapped") != 0;
  return p;
}

std::unique_ptr<io::PairSource> make_source(const TrainConfig& c) {
  const DataConfig& d = c.data;
  io::PairOptions po;
  po.clip.frames = c.model.frames;
  po.clip.stride = d.frame_stride;
  po.offsets = d.offsets == "independent"   ? io::OffsetMode::independent
               : d.offsets == "uniform_gap" ? io::OffsetMode::uniform_gap
                                            : io::OffsetMode::decreasing;
  po.offset_power = d.offset_power;
  po.augment.size = int(c.model.size);
  po.augment.random = d.augment;
  po.flip = d.flip == "shared" ? io::FlipMode::shared : d.flip == "none" ? io::FlipMode::none : io::FlipMode::independent;
  for (int i = 0; i < 3; ++i) po.augment.mean[i] = float(c.model.mean[i]), po.augment.std[i] = float(c.model.std[i]);
  po.decode_short_side = d.decode_short_side;
  const uint64_t seed = seed_for(c.training.seed, kData);
  if (d.source == "dead_leaves") {
    io::DeadLeavesConfig dl;
    dl.height = dl.width = d.dead_leaves_size;
    dl.frames = d.dead_leaves_frames;
    dl.radius_max = std::min(dl.radius_max, d.dead_leaves_size / 2.0);
    return std::make_unique<io::DeadLeavesPairSource>(dl, po, seed, d.videos_per_epoch);
  }
#ifdef MTMAP_WITH_VIDEO
  io::DatasetOptions dopt;
  dopt.min_frames = po.clip.span();
  dopt.root = d.root;
  dopt.cache_file = d.probe_cache;
  dopt.full_decode = false;
  dopt.threads = d.workers;
  io::VideoDataset ds = io::VideoDataset::scan(d.paths, dopt);
  MTMAP_CHECK(ds.size() >= c.training.batch_size,
              "data.paths: {} usable videos, fewer than one batch of training.batch_size = {} ({})", ds.size(),
              c.training.batch_size, ds.summary());
  return std::make_unique<io::VideoPairSource>(ds, po);
#else
  MTMAP_FAIL("data.source = 'videos': this build of mtmap reads no video files (built with MTMAP_MINIMAL, without "
             "FFmpeg); use data.source = 'dead_leaves' or a full build");
#endif
}

// The spatial terms of one stage: blocks with α > 0, their positions on the device and
// neighbourhoods drawn from their positions (a deterministic function of the seed and the stage).
std::vector<SpatialTerm> make_terms(const TrainConfig& c, const std::vector<models::SheetPositions>& sheets,
                                    bool pretrain, bool swapped, Device device) {
  std::vector<SpatialTerm> terms;
  if (pretrain) return terms;  // the staged schedule's first stage is contrastive only
  for (size_t i = 0; i < sheets.size(); ++i) {
    const models::SheetPositions& s = sheets[i];
    const double a = c.alpha(s.block);
    if (a <= 0) continue;
    Generator gen(seed_for(c.training.seed, kNeighbourhoods, i * 2 + (swapped ? 1 : 0)));
    SpatialTerm t;
    t.block = s.block;
    t.alpha = a;
    t.positions = s.positions.to(device);
    t.neighbourhoods = cortex::neighbourhoods(s.positions, s.neighbourhood_mm, gen, c.sheets.neighbourhoods);
    terms.push_back(std::move(t));
  }
  return terms;
}

double schedule_lr(const TrainConfig& c, int64_t step) {
  const TrainingConfig& t = c.training;
  optim::CosineSchedule s;
  s.base_lr = t.lr_per_256 * double(t.batch_size) / 256.0;
  s.final_lr = t.final_lr;
  if (t.schedule == Schedule::staged && step < t.pretrain_steps) {
    s.warmup_steps = std::min(t.warmup_steps, t.pretrain_steps);
    s.total_steps = t.pretrain_steps;
    return s.lr(step);
  }
  // The last stage has its own warm-up and cosine over training.steps.
  s.warmup_steps = t.warmup_steps;
  s.total_steps = t.steps;
  return s.lr(step - (t.schedule == Schedule::staged ? t.pretrain_steps : 0));
}

// The staged schedule's middle: record the query encoder's responses to natural clips, correlate
// them, and swap-optimise each sheet's positions (docs/model.md §3).
void swap_stage(const TrainConfig& c, models::ResNet3d& net, io::PairSource& source,
                std::vector<models::SheetPositions>& sheets, Device device, Progress& progress, double from,
                double to) {
  const TrainingConfig& t = c.training;
  io::LoaderOptions lo;
  lo.batch_size = t.batch_size;
  lo.workers = c.data.workers;
  lo.seed = seed_for(t.seed, kProbe);
  io::Loader probe(source, lo);
  std::vector<std::string> keep;
  for (const auto& s : sheets) keep.push_back(s.block);
  std::map<std::string, std::vector<Tensor>> responses;
  {
    autograd::NoGradGuard no_grad;
    net.eval();
    int64_t epoch = 0;
    for (int64_t b = 0; b < t.swap.probe_batches; ++b) {
      std::optional<io::Batch> batch = probe.next();
      if (!batch) {
        probe.start_epoch(++epoch);
        batch = probe.next();
      }
      models::ResNet3dOutput out = net.forward(batch->query.to(device).to(net.config().dtype), keep);
      for (const auto& s : sheets)
        responses[s.block].push_back(losses::unit_responses(out.blocks.at(s.block)).to(Device::cpu()).to(DType::f32));
    }
    net.train();
  }
  for (size_t i = 0; i < sheets.size(); ++i) {
    models::SheetPositions& s = sheets[i];
    const int64_t U = s.positions.size(0);
    const double gib = 4.0 * double(U) * double(U) / double(1 << 30);
    MTMAP_CHECK(gib <= 16, "swap optimisation of {}: its {} units need a {}×{} correlation matrix ({:.1f} GiB, over "
                "the 16 GiB this stage allows); use a smaller model (model.width, model.size) or fewer sheet blocks",
                s.block, U, U, U, gib);
    const Tensor corr = cortex::response_correlation(cat(responses[s.block], 0));
    cortex::SwapOptions so;
    so.width_mm = s.neighbourhood_mm;
    so.windows = t.swap.windows;
    so.attempts_per_window = t.swap.attempts_per_window;
    so.seed = seed_for(t.seed, kSwap, i);
    // The Progress throttles what it shows; a call per ~0.1% of the windows costs nothing.
    so.progress_every = std::max<int64_t>(1, so.windows / 1000);
    so.progress = [&](const cortex::SwapProgress& p) {
      const double per_s = p.seconds > 0 ? double(p.windows_done) / p.seconds : 0;
      const double done = (double(i) + double(p.windows_done) / double(std::max<int64_t>(1, p.windows_total))) /
                          double(sheets.size());
      progress.update(from + (to - from) * done,
                      fmt::format("swap {} ({}/{}): window {}/{}, {:.0f} windows/s ETA {}", s.block, i + 1,
                                  sheets.size(), p.windows_done, p.windows_total, per_s,
                                  format_duration(per_s > 0 ? double(p.windows_total - p.windows_done) / per_s : -1)),
                      p.windows_done == p.windows_total);
    };
    const double before = cortex::layer_spatial_loss(s.positions, corr);
    cortex::SwapResult r = cortex::swap_optimise(s.positions, corr, so);
    const double after = cortex::layer_spatial_loss(r.positions, corr);
    progress.message(fmt::format("swap {}: {} windows, {} of {} swaps kept, layer spatial loss {:.4f} → {:.4f}",
                                 s.block, r.stats.windows_done, r.stats.accepted, r.stats.attempts, before, after));
    s.positions = r.positions;
  }
}

std::string progress_text(const char* stage, int64_t step, int64_t total, const StepResult& r, double clips_per_s,
                          double eta_s) {
  double spatial = 0;
  for (const auto& [_, v] : r.spatial) spatial += v;
  return fmt::format("{} step {}/{} loss {:.4f} (InfoNCE {:.4f}, spatial Σ {:.4f}) lr {:.4g} {:.1f} clips/s ETA {}",
                     stage, step, total, r.loss, r.info_nce, spatial, r.lr, clips_per_s, format_duration(eta_s));
}

// The process's place in a data-parallel job: its rank, how many there are, and its device (a
// GPU run binds each rank to its node's GPU number local_rank).
struct Ranks {
  dist::Communicator* world = nullptr;  // null: one process
  int rank = 0, size = 1;
  bool leader() const { return rank == 0; }
};

Device rank_device(const Device& configured, const Ranks& ranks, int local_rank) {
  if (ranks.size == 1 || !configured.is_cuda()) return configured;
  const int gpus = cuda_device_count();
  MTMAP_CHECK(local_rank < gpus,
              "rank {} is process {} on its node, but the node has {} GPU{}: launch at most {} rank{} per node "
              "(mpirun --map-by ppr:{}:node, srun --ntasks-per-node={})",
              ranks.rank, local_rank, gpus, gpus == 1 ? "" : "s", gpus, gpus == 1 ? "" : "s", gpus, gpus);
  Device d = configured;
  d.index = local_rank;
  return d;
}

}  // namespace

TrainSummary train(const TrainConfig& config, const TrainOptions& o) {
  MTMAP_CHECK(!o.out_dir.empty(), "train: no output folder given");
  Ranks ranks;
  if (o.world && o.world->size() > 1) ranks = Ranks{o.world, o.world->rank(), o.world->size()};
  MTMAP_CHECK(!ranks.world || ranks.world->device().is_cpu(),
              "train: the job's process group must be the MPI world (CPU); it is {} on {}",
              ranks.world ? ranks.world->name() : "", ranks.world ? ranks.world->device().str() : "");
  const Device configured = Device::parse(config.training.device);
  require_device(configured, "training.device");
  const Device device = rank_device(configured, ranks, o.local_rank);  // checked against the node's GPUs
  MTMAP_CHECK(config.training.batch_size % ranks.size == 0,
              "training.batch_size = {} (the global batch) does not split over {} ranks; make it a multiple of {}",
              config.training.batch_size, ranks.size, ranks.size);
  if (ranks.world) dist::require_same(*ranks.world, "the training config (its hash)", train_config_hash(config));
  // The data first: with training.epochs the step counts follow from how much there is. The
  // hashes are those of the config as written.
  std::unique_ptr<io::PairSource> source = make_source(config);
  const TrainConfig c = resolve_epochs(config, source->size() / config.training.batch_size);
  const TrainingConfig& t = c.training;
  // The run's own execution contexts (engine/context/execution_context.h): the CPU one carries
  // the run's thread count; a GPU run gets its own streams, allocator and caches.
  ExecutionContext cpu_context(Device::cpu(), ExecutionOptions{t.threads, {}});
  ExecutionContext::Use cpu_scope(cpu_context);
  reserve_blas_buffers();  // too little memory for OpenBLAS: an error now, not a hang later
  std::unique_ptr<ExecutionContext> device_context;
  std::unique_ptr<ExecutionContext::Use> device_scope;
  if (!device.is_cpu()) {
    device_context = std::make_unique<ExecutionContext>(device);
    device_scope = std::make_unique<ExecutionContext::Use>(*device_context);
  }
  const std::string hash = train_config_hash(config);
  const fs::path out(o.out_dir);
  const std::string metrics_path = (out / "metrics.jsonl").string();
  const bool staged = t.schedule == Schedule::staged;
  const int64_t total = t.steps + (staged ? t.pretrain_steps : 0);
  std::unique_ptr<ProgressLine> own_progress;
  if (!ranks.leader())  // the ranks run in step: rank 0 speaks for all
    own_progress = std::make_unique<ProgressLine>(std::function<void(const std::string&)>{}, t.progress_seconds);
  else if (!o.progress)
    own_progress = std::make_unique<ProgressLine>(o.log, t.progress_seconds, o.live);
  Progress& progress = o.progress && ranks.leader() ? *o.progress : *own_progress;

  // Where to start: a fresh folder, the newest checkpoint of the same config, or (start_from) a
  // checkpoint of another folder whose config agrees with this one up to where it was written.
  MTMAP_CHECK(o.stop_at == StopAt::end || staged, "train: stopping {} the swap needs training.schedule = 'staged'",
              o.stop_at == StopAt::before_swap ? "before" : "after");
  MTMAP_CHECK(!(o.resume && !o.start_from.empty()), "train: resume and start_from exclude each other");
  const std::string pre_hash = staged ? pretrain_hash(config) : "";
  std::optional<models::Checkpoint> from;
  // Rank 0 looks at the folder and decides (the others would race with its first writes); every
  // rank then reads the checkpoint it chose.
  const std::string from_path = dist::root_decides(ranks.world, [&]() -> std::string {
    const auto existing = list_checkpoints(o.out_dir);
    std::error_code ec;
    const fs::path config_path = out / "config.json";
    if (o.resume && existing.empty()) {
      // Killed before its first checkpoint: the run starts again from step 0, if the folder is
      // this config's (its config.json); an empty or foreign folder is refused.
      MTMAP_CHECK(fs::exists(config_path, ec),
                  "--resume: {} holds no checkpoint (checkpoints/step-*.safetensors) and no config.json: nothing to "
                  "resume; run without --resume to start",
                  o.out_dir);
      std::string written_hash;
      try {
        std::ifstream in(config_path);
        written_hash = train_config_hash(train_config_from_json(nlohmann::json::parse(in), config_path.string()));
      } catch (const std::exception& e) {
        MTMAP_FAIL("--resume: {} holds no checkpoint, and its {} cannot be read ({}); remove the folder to start again",
                   o.out_dir, config_path.string(), e.what());
      }
      MTMAP_CHECK(written_hash == hash,
                  "--resume: {} holds no checkpoint, and its config.json was written by another config (hash {}, this "
                  "config's is {})",
                  o.out_dir, written_hash, hash);
      truncate_metrics(metrics_path, 0);
      progress.message(fmt::format("--resume: {} holds no checkpoint yet (the run stopped before step {}): starting "
                                   "again from step 0",
                                   o.out_dir, std::min(t.checkpoint_every, total)));
    } else if (o.resume) {
      from = models::read_checkpoint(existing.back().second);
      auto it = from->file.metadata.find("train.config_hash");
      MTMAP_CHECK(it != from->file.metadata.end(), "{}: not a training checkpoint (no train.config_hash)", from->path);
      MTMAP_CHECK(it->second == hash,
                  "--resume: {} was written by another config (hash {}, this config's is {}); the run's own is {}",
                  from->path, it->second, hash, (out / "config.json").string());
    } else {
      MTMAP_CHECK(existing.empty() && !fs::exists(metrics_path, ec),
                  "{} already holds a training run; pass --resume to continue it, or choose another --out", o.out_dir);
      if (!o.start_from.empty()) {
        from = models::read_checkpoint(o.start_from);
        const auto& meta = from->file.metadata;
        auto full = meta.find("train.config_hash"), pre = meta.find("train.pretrain_hash");
        MTMAP_CHECK(full != meta.end(), "start from {}: not a training checkpoint (no train.config_hash)", from->path);
        const Position at = position_from(from->file, from->path);
        const bool same = full->second == hash;
        const bool same_pretraining = staged && pre != meta.end() && pre->second == pre_hash &&
                                      at.step <= t.pretrain_steps;
        MTMAP_CHECK(same || same_pretraining,
                    "start from {}: written by a config that differs from this one {} (its hash {}, pre-training "
                    "hash {}; this config's {} and {})",
                    from->path, staged ? "in what pre-training reads, or past pre-training" : "", full->second,
                    pre == meta.end() ? "none" : pre->second, hash, staged ? pre_hash : "none");
      }
    }
    if (ranks.leader()) {
      std::error_code ec;
      fs::create_directories(out / "checkpoints", ec);
      MTMAP_CHECK(!ec, "cannot create {}: {}", (out / "checkpoints").string(), ec.message());
      write_file_atomic((out / "config.json").string(), train_config_to_json(config).dump(2) + "\n");
    }
    return from ? from->path : "";
  });
  if (!from_path.empty() && !from) from = models::read_checkpoint(from_path);

  // The model, its sheets and the trainer's state.
  InitialModel init = init_model(c.model, t.seed, c.sheets.blocks, c.sheets.jitter_mm);
  std::vector<models::SheetPositions> sheets = init.sheets;
  std::shared_ptr<models::ResNet3d> net = init.net;
  Position pos;
  if (from) {
    pos = position_from(from->file, from->path);
    net = models::load_model(*from, c.model, from->path);
    for (models::SheetPositions& s : sheets) {
      const models::SheetPositions* saved = from->sheet(s.block);
      MTMAP_CHECK(saved, "{}: no sheet for block {}", from->path, s.block);
      s.positions = saved->positions;
    }
  }
  Generator queue_gen(seed_for(t.seed, kQueue));
  // Data parallel's collectives on the training device: the MPI world itself on the CPU, NCCL
  // (bootstrapped over MPI) between the GPUs.
  std::unique_ptr<dist::Communicator> nccl;
  dist::Communicator* data_comm = ranks.world;
  if (ranks.world && device.is_cuda()) {
    nccl = dist::make_nccl_communicator(ranks.world, device);
    data_comm = nccl.get();
  }
  MocoTrainer trainer(net, t, device, queue_gen, data_comm);
  if (from) {
    std::vector<std::pair<std::string, Tensor>> state;
    for (const auto& [name, tensor] : from->file.tensors)
      if (name.starts_with(models::kTrainingStatePrefix)) state.emplace_back(name, tensor);
    trainer.load_state(state, pos.queue_ptr, pos.sgd_steps, from->path);
    if (ranks.leader()) truncate_metrics(metrics_path, pos.step);
    progress.message(fmt::format("{} {} at step {} of {}", o.resume ? "resuming" : "starting from", from->path,
                                 pos.step, total));
  }
  from.reset();  // its tensors are in the trainer now

  io::LoaderOptions lo;
  lo.batch_size = t.batch_size / ranks.size;  // this rank's share of each global batch
  lo.shard = ranks.rank;
  lo.shards = ranks.size;
  lo.workers = c.data.workers;
  lo.seed = seed_for(t.seed, kData);
  // The batches: the loader's worker threads (on a GPU behind the CUDA feeder, which copies each
  // batch while the previous step runs), or, with data.generate_on = "device", made on the GPU.
  std::unique_ptr<io::BatchStream> loader;
  if (c.data.generate_on == "device")
    loader = io::make_device_batches(*source, lo, device);
  else if (device.is_cuda())
    loader = io::make_cuda_fed_batches(*source, lo, device);
  else
    loader = std::make_unique<io::Loader>(*source, lo);
  loader->start_epoch(pos.epoch, pos.batch);
  Generator windows(seed_for(t.seed, kWindows), pos.window_offset);

  auto in_pretrain = [&](int64_t step) { return staged && step < t.pretrain_steps; };
  std::vector<SpatialTerm> terms = make_terms(c, sheets, in_pretrain(pos.step), pos.swapped, device);
  auto stage_name = [&](int64_t step) { return in_pretrain(step) ? "pretrain" : "train"; };

  auto save = [&](const std::string& path, bool with_state) {
    if (!ranks.leader()) return;  // the ranks are identical; rank 0 writes
    pos.window_offset = windows.offset();
    pos.queue_ptr = trainer.queue_ptr();
    pos.sgd_steps = trainer.sgd_steps();
    std::map<std::string, std::string> meta =
        position_metadata(pos, hash, pre_hash, stage_name(pos.step), ranks.size);
    try {
      models::save_checkpoint(path, trainer.query(), c.model, sheets, meta,
                              with_state ? trainer.state() : std::vector<std::pair<std::string, Tensor>>{});
    } catch (const Error& e) {  // a full disk, a read-only folder: say what is safe and how to go on
      const auto complete = list_checkpoints(o.out_dir);
      throw Error(fmt::format("{}; the run stopped at step {}: {}", e.what(), pos.step,
                              complete.empty() ? std::string("no checkpoint had been written yet")
                                               : fmt::format("the newest complete checkpoint, {}, is intact, and "
                                                             "--resume continues from it once the cause is fixed",
                                                             complete.back().second)));
    }
  };

  std::ofstream metrics;
  if (ranks.leader()) {
    metrics.open(metrics_path, std::ios::app);
    MTMAP_CHECK(metrics.good(), "cannot open {} for appending", metrics_path);
  }
  TrainSummary summary;
  summary.first_step = pos.step;
  // The fraction of this call's work (a resumed run, or a stage started from another's
  // checkpoint, starts part-way); the progress text says where in the whole run it is.
  auto call_fraction = [&] {
    return double(pos.step - summary.first_step) / double(std::max<int64_t>(1, total - summary.first_step));
  };
  const auto started = Clock::now();
  int64_t ran = 0;
  std::set<std::string> reported_bad;  // the bad videos the loader has skipped and this call named
  std::error_code ec;
  // What a failed step leaves behind, for its message: the checkpoint --resume would use.
  auto what_is_intact = [&] {
    const auto written = list_checkpoints(o.out_dir);
    return written.empty() ? std::string("no checkpoint was written yet")
                           : fmt::format("the newest checkpoint, {}, is intact", written.back().second);
  };
  for (;;) {
    if (staged && pos.step == t.pretrain_steps && !pos.swapped) {
      if (o.stop_at == StopAt::before_swap) break;
      // The end of pre-training: its model, then the swap-optimised sheets, each a file.
      if (ranks.leader()) fs::create_directories(out / "stages", ec);
      save((out / "stages" / "pretrain.safetensors").string(), false);
      progress.message(fmt::format("pre-training done at step {}; swap optimisation of {} sheets", pos.step,
                                   sheets.size()));
      // The swap's share of this call's fraction: all of it when the call is the swap alone (a
      // study's swap stage), none when training steps follow (the bar then holds still).
      const double at = call_fraction();
      // Rank 0 swaps (its batch-norm statistics are the checkpoint's) and hands the sheets on.
      if (ranks.leader())
        swap_stage(c, trainer.query(), *source, sheets, device, progress, at, pos.step == total ? 1.0 : at);
      if (ranks.world)
        for (models::SheetPositions& s : sheets) {
          s.positions = s.positions.contiguous();
          ranks.world->broadcast(s.positions, 0);
        }
      std::vector<cortex::LayerSheet> layer_sheets;
      pos.swapped = true;
      terms = make_terms(c, sheets, false, true, device);
      for (const models::SheetPositions& s : sheets) {
        cortex::LayerSheet ls{{s.block, s.side_mm, s.neighbourhood_mm}, s.positions, Tensor()};
        for (const SpatialTerm& term : terms)
          if (term.block == s.block) ls.neighbourhoods = term.neighbourhoods;
        if (!ls.neighbourhoods.defined()) ls.neighbourhoods = zeros({0, 1}, DType::i64);
        layer_sheets.push_back(ls);
      }
      if (ranks.leader()) cortex::save_sheets((out / "stages" / "sheets.safetensors").string(), layer_sheets);
      if (o.stop_at == StopAt::after_swap) {
        save(checkpoint_path(o.out_dir, pos.step), true);  // the same step, now with swapped sheets
        break;
      }
    }
    if (pos.step >= total) break;
    const auto wait_start = Clock::now();
    std::optional<io::Batch> batch = loader->next();
    if (!batch) {
      loader->start_epoch(++pos.epoch);
      pos.batch = 0;
      continue;
    }
    const double data_wait = std::chrono::duration<double>(Clock::now() - wait_start).count();
    // A video that fails (unreadable, truncated, deleted mid-run) was skipped by the loader: say
    // so when it happens, and count them in the metrics.
    if (const size_t bad = loader->bad_file_count(); bad > reported_bad.size())
      for (const io::BadFile& b : loader->bad_files())
        if (reported_bad.insert(b.path).second)
          progress.message(fmt::format("skipped a bad video at step {} ({} so far): {}", pos.step + 1, bad, b.message));
    const double lr = schedule_lr(c, pos.step);
    const auto step_start = Clock::now();
    StepResult r;
    trainer.set_contrastive_only(in_pretrain(pos.step));
    try {
      r = trainer.step(batch->query, batch->key, terms, windows, lr, pos.step + 1);
    } catch (const NonFiniteLoss&) {
      progress.message("training stopped: non-finite loss");
      throw;
    } catch (const OutOfMemory& e) {
      throw OutOfMemory(fmt::format("training step {}: {}; the step needs less memory with a smaller "
                                    "training.batch_size (now {}), model.size ({}), model.frames ({}) or model.width "
                                    "({}); {}",
                                    pos.step + 1, e.what(), t.batch_size, c.model.size, c.model.frames, c.model.net.width,
                                    what_is_intact()));
    } catch (const std::bad_alloc&) {
      throw OutOfMemory(fmt::format("training step {}: out of memory (an allocation failed); use a smaller "
                                    "training.batch_size (now {}), model.size or model.frames; {}",
                                    pos.step + 1, t.batch_size, what_is_intact()));
    }
    const double step_s = std::chrono::duration<double>(Clock::now() - step_start).count();
    ++pos.step;
    ++ran;
    pos.batch = batch->index + 1;
    summary.losses.push_back(r.loss);

    json line{{"step", pos.step},     {"stage", stage_name(pos.step - 1)}, {"loss", r.loss},
              {"info_nce", r.info_nce}, {"lr", lr},                       {"clips_per_s", t.batch_size / (step_s + data_wait)},
              {"data_wait_s", data_wait}, {"step_s", step_s},             {"epoch", pos.epoch}};
    json spatial = json::object();
    for (const auto& [block, v] : r.spatial) spatial[block] = v;
    line["spatial"] = spatial;
    line["bad_videos"] = reported_bad.size();
    if (ranks.leader()) {
      // An append-only log (a line cut by a kill is dropped on resume, run_files.h); a failed write
      // (a full disk) stops the run rather than losing lines silently.
      errno = 0;
      metrics << line.dump() << "\n";
      metrics.flush();
      const int write_errno = errno;
      MTMAP_CHECK(metrics.good(), "writing {} failed at step {}: {} ({})", metrics_path, pos.step,
                  write_errno ? std::strerror(write_errno) : "unknown error", what_is_intact());
    }

    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    const double per_step = elapsed / double(ran);
    progress.update(call_fraction(),
                    progress_text(stage_name(pos.step - 1), pos.step, total, r, double(ran * t.batch_size) / elapsed,
                                  per_step * double(total - pos.step)),
                    pos.step == total);
    if (pos.step % t.checkpoint_every == 0 || pos.step == total || (staged && pos.step == t.pretrain_steps)) {
      save(checkpoint_path(o.out_dir, pos.step), true);
      if (ranks.leader()) prune_checkpoints(o.out_dir, t.keep_checkpoints);
    }
    if (o.stop_after_steps > 0 && ran >= o.stop_after_steps && pos.step < total) {
      progress.message(fmt::format("stopped after {} steps at step {} of {}", ran, pos.step, total));
      summary.last_step = pos.step;
      return summary;
    }
  }
  const std::string final_model = (out / "model.safetensors").string();
  save(final_model, false);
  progress.message(o.stop_at == StopAt::end
                       ? fmt::format("training done: {} steps; model {}", total, final_model)
                       : fmt::format("stage done at step {} ({} the swap); model {}", pos.step,
                                     o.stop_at == StopAt::before_swap ? "before" : "after", final_model));
  for (const io::BadFile& b : loader->bad_files())  // found while preparing batches after the last step
    if (reported_bad.insert(b.path).second) progress.message(fmt::format("skipped a bad video: {}", b.message));
  if (!reported_bad.empty())
    progress.message(fmt::format("{} bad video{} skipped (named above)", reported_bad.size(),
                                 reported_bad.size() == 1 ? "" : "s"));
  summary.last_step = pos.step;
  summary.final_model = final_model;
  return summary;
}

}  // namespace mtmap::training
