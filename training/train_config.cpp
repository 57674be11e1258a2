// Strict JSON ⇄ TrainConfig: each section is a key table (formats/json_config.h), then one
// validation pass that checks ranges and how the settings fit together.
#include "training/train_config.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "engine/core/device.h"
#include "engine/core/error.h"
#include "engine/core/fnv_hash.h"
#include "formats/json_config.h"

namespace mtmap::training {
namespace {

using json = nlohmann::json;
using formats::store;

void check_finite_range(double v, double lo, double hi, const std::string& key, const char* allowed) {
  MTMAP_CHECK(std::isfinite(v) && v >= lo && v <= hi, "{} = {} (need {})", key, v, allowed);
}

std::string spatial_form_name(SpatialLossForm f) { return f == SpatialLossForm::relative ? "relative" : "absolute"; }

void validate(const TrainConfig& c, const std::string& o) {
  const DataConfig& d = c.data;
  const TrainingConfig& t = c.training;
  formats::check_one_of(d.source, {"dead_leaves", "videos"}, o + ".data.source");
  MTMAP_CHECK(d.source != "videos" || !d.paths.empty(),
              "{}.data.paths is empty (data.source = 'videos' needs folders, list files or video files)", o);
  MTMAP_CHECK(d.source == "videos" || d.paths.empty(),
              "{}.data.paths is set but data.source = 'dead_leaves' generates its videos (set data.source to 'videos')",
              o);
  MTMAP_CHECK(d.frame_stride >= 1, "{}.data.frame_stride = {} (need ≥ 1)", o, d.frame_stride);
  const int64_t span = (c.model.frames - 1) * d.frame_stride + 1;
  formats::check_one_of(d.offsets, {"independent", "uniform_gap", "decreasing"}, o + ".data.offsets");
  formats::check_one_of(d.flip, {"independent", "shared", "none"}, o + ".data.flip");
  check_finite_range(d.offset_power, 1e-3, 1e3, o + ".data.offset_power", "0.001..1000");
  MTMAP_CHECK(d.dead_leaves_size >= 8 && d.dead_leaves_size <= 4096, "{}.data.dead_leaves_size = {} (need 8..4096)",
              o, d.dead_leaves_size);
  MTMAP_CHECK(d.dead_leaves_frames >= span,
              "{}.data.dead_leaves_frames = {} (need ≥ {}: one clip spans (model.frames − 1)·data.frame_stride + 1 "
              "frames)",
              o, d.dead_leaves_frames, span);
  MTMAP_CHECK(d.decode_short_side >= 16, "{}.data.decode_short_side = {} (need ≥ 16)", o, d.decode_short_side);
  MTMAP_CHECK(d.workers >= 1 && d.workers <= 256, "{}.data.workers = {} (need 1..256)", o, d.workers);
  formats::check_one_of(d.generate_on, {"cpu", "device"}, o + ".data.generate_on");
  MTMAP_CHECK(d.generate_on != "device" || d.source == "dead_leaves",
              "{}.data.generate_on = 'device' generates dead leaves on the GPU; data.source = '{}' reads files (use "
              "data.source = 'dead_leaves', or generate_on = 'cpu')",
              o, d.source);
  MTMAP_CHECK(d.generate_on != "device" || Device::parse(t.device).is_cuda(),
              "{}.data.generate_on = 'device' needs a CUDA device (training.device = '{}')", o, t.device);
  MTMAP_CHECK(d.source != "dead_leaves" || d.videos_per_epoch >= t.batch_size,
              "{}.data.videos_per_epoch = {} (need ≥ training.batch_size = {})", o, d.videos_per_epoch, t.batch_size);

  // Sheets: real blocks of this model, each once, with sizes that make windows possible.
  const std::vector<models::BlockShape> shapes = models::block_shapes(c.model);
  std::set<std::string> seen;
  for (size_t i = 0; i < c.sheets.blocks.size(); ++i) {
    const cortex::SheetSpec& s = c.sheets.blocks[i];
    const std::string key = fmt::format("{}.sheets.blocks[{}]", o, i);
    const bool known = std::any_of(shapes.begin(), shapes.end(), [&](const auto& b) { return b.name == s.block; });
    if (!known) {
      std::vector<std::string> names;
      for (const auto& b : shapes) names.push_back(b.name);
      MTMAP_FAIL("{}.block = '{}' is not a block of this model (blocks: {})", key, s.block, fmt::join(names, ", "));
    }
    MTMAP_CHECK(seen.insert(s.block).second, "{}.block = '{}' is listed twice", key, s.block);
    MTMAP_CHECK(std::isfinite(s.side_mm) && s.side_mm > 0, "{}.side_mm = {} (need > 0)", key, s.side_mm);
    MTMAP_CHECK(std::isfinite(s.neighbourhood_mm) && s.neighbourhood_mm > 0 && s.neighbourhood_mm < s.side_mm,
                "{}.neighbourhood_mm = {} (need > 0 and < side_mm = {})", key, s.neighbourhood_mm, s.side_mm);
  }
  check_finite_range(c.sheets.jitter_mm, 0, 1e3, o + ".sheets.jitter_mm", "≥ 0");
  const auto& n = c.sheets.neighbourhoods;
  MTMAP_CHECK(n.windows >= 1, "{}.sheets.windows = {} (need ≥ 1)", o, n.windows);
  check_finite_range(n.percentile, 0, 100, o + ".sheets.percentile", "0..100");
  MTMAP_CHECK(n.min_units >= 3, "{}.sheets.min_units = {} (need ≥ 3: a window's correlations need 3 units)", o,
              n.min_units);
  MTMAP_CHECK(n.max_units >= n.min_units, "{}.sheets.max_units = {} (need ≥ sheets.min_units = {})", o, n.max_units,
              n.min_units);

  try {
    (void)Device::parse(t.device);
  } catch (const Error& e) {
    MTMAP_FAIL("{}.training.device = '{}': {}", o, t.device, e.what());
  }
  formats::check_one_of(t.precision, {"f32", "bf16"}, o + ".training.precision");
  MTMAP_CHECK(t.precision != "bf16" || Device::parse(t.device).is_cuda(),
              "{}.training.precision = 'bf16' needs a CUDA device (training.device = '{}'; the CPU computes in f32)", o,
              t.device);
  MTMAP_CHECK(t.precision != "bf16" || c.model.net.dtype == DType::f32,
              "{}.training.precision = 'bf16' needs float32 master weights (model.dtype = '{}')", o,
              dtype_name(c.model.net.dtype));
  check_finite_range(t.alpha, 0, 1e6, o + ".training.alpha", "≥ 0");
  for (const auto& [block, a] : t.alpha_per_block) {
    MTMAP_CHECK(seen.count(block), "{}.training.alpha_per_block.{}: the block has no sheet (sheets.blocks)", o, block);
    check_finite_range(a, 0, 1e6, fmt::format("{}.training.alpha_per_block.{}", o, block), "≥ 0");
  }
  if (t.objective != Objective::contrastive) {
    bool any = false;
    for (const auto& s : c.sheets.blocks) any = any || c.alpha(s.block) > 0;
    MTMAP_CHECK(any || t.objective == Objective::joint,
                "{}.training.objective = 'spatial' but no block has α > 0 (training.alpha, sheets.blocks)", o);
  }
  MTMAP_CHECK(t.batch_size >= 2 && t.batch_size <= 65536,
              "{}.training.batch_size = {} (need 2..65536: correlations across the batch need 2 clips)", o,
              t.batch_size);
  MTMAP_CHECK(t.steps >= 1, "{}.training.steps = {} (need ≥ 1)", o, t.steps);
  check_finite_range(t.epochs, 0, 1e6, o + ".training.epochs", "≥ 0");
  check_finite_range(t.pretrain_epochs, 0, 1e6, o + ".training.pretrain_epochs", "≥ 0");
  check_finite_range(t.lr_per_256, 1e-12, 1e3, o + ".training.lr_per_256", "> 0");
  // With epochs the step count is known once the data is (resolve_epochs checks it there).
  MTMAP_CHECK(t.warmup_steps >= 0 && (t.epochs > 0 || t.warmup_steps <= t.steps),
              "{}.training.warmup_steps = {} (need 0..steps = {})", o, t.warmup_steps, t.steps);
  check_finite_range(t.final_lr, 0, 1e3, o + ".training.final_lr", "≥ 0");
  check_finite_range(t.momentum, 0, 0.999999, o + ".training.momentum", "0 ≤ momentum < 1");
  check_finite_range(t.weight_decay, 0, 1, o + ".training.weight_decay", "0..1");
  check_finite_range(t.moco_momentum, 0, 1, o + ".training.moco_momentum", "0..1");
  check_finite_range(t.temperature, 1e-4, 1e3, o + ".training.temperature", "> 0");
  MTMAP_CHECK(t.queue_size >= t.batch_size && t.queue_size % t.batch_size == 0,
              "{}.training.queue_size = {} (need a positive multiple of training.batch_size = {})", o, t.queue_size,
              t.batch_size);
  MTMAP_CHECK(t.pretrain_steps >= 0, "{}.training.pretrain_steps = {} (need ≥ 0)", o, t.pretrain_steps);
  MTMAP_CHECK(t.schedule == Schedule::staged || (t.pretrain_steps == 0 && t.pretrain_epochs == 0),
              "{}.training.{} = {} only applies to training.schedule = 'staged'", o,
              t.pretrain_epochs > 0 ? "pretrain_epochs" : "pretrain_steps",
              t.pretrain_epochs > 0 ? t.pretrain_epochs : double(t.pretrain_steps));
  MTMAP_CHECK(t.schedule == Schedule::scratch || !c.sheets.blocks.empty(),
              "{}.training.schedule = 'staged' needs sheets to optimise (sheets.blocks is empty)", o);
  MTMAP_CHECK(t.swap.probe_batches >= 1, "{}.training.swap.probe_batches = {} (need ≥ 1)", o, t.swap.probe_batches);
  MTMAP_CHECK(t.swap.windows >= 1, "{}.training.swap.windows = {} (need ≥ 1)", o, t.swap.windows);
  MTMAP_CHECK(t.swap.attempts_per_window >= 1, "{}.training.swap.attempts_per_window = {} (need ≥ 1)", o,
              t.swap.attempts_per_window);
  MTMAP_CHECK(t.checkpoint_every >= 1, "{}.training.checkpoint_every = {} (need ≥ 1)", o, t.checkpoint_every);
  MTMAP_CHECK(t.keep_checkpoints >= 1, "{}.training.keep_checkpoints = {} (need ≥ 1)", o, t.keep_checkpoints);
  check_finite_range(t.progress_seconds, 0.01, 1e6, o + ".training.progress_seconds", "> 0");
  MTMAP_CHECK(t.threads >= 0 && t.threads <= 1024, "{}.training.threads = {} (need 0..1024; 0 = every core)", o,
              t.threads);
}

}  // namespace

double TrainConfig::alpha(const std::string& block) const {
  if (training.objective == Objective::contrastive) return 0;
  const bool has_sheet = std::any_of(sheets.blocks.begin(), sheets.blocks.end(),
                                     [&](const cortex::SheetSpec& s) { return s.block == block; });
  if (!has_sheet) return 0;
  auto it = training.alpha_per_block.find(block);
  return it != training.alpha_per_block.end() ? it->second : training.alpha;
}

const char* objective_name(Objective o) {
  return o == Objective::joint ? "joint" : o == Objective::contrastive ? "contrastive" : "spatial";
}
const char* schedule_name(Schedule s) { return s == Schedule::scratch ? "scratch" : "staged"; }

TrainConfig train_config_from_json(const json& j, const std::string& origin) {
  MTMAP_CHECK(j.is_object(), "{}: expected a JSON object, got {}", origin, j.type_name());
  TrainConfig c;
  DataConfig& d = c.data;
  SheetsConfig& s = c.sheets;
  TrainingConfig& t = c.training;
  // The model first: the other sections are checked against its blocks and input.
  if (j.contains("model")) c.model = models::model_spec_from_json(j.at("model"), origin + ".model");
  if (j.contains("data"))
    formats::parse_section(j.at("data"), origin + ".data",
                           {{"source", store(d.source)},
                            {"paths", store(d.paths)},
                            {"root", store(d.root)},
                            {"probe_cache", store(d.probe_cache)},
                            {"videos_per_epoch", store(d.videos_per_epoch)},
                            {"dead_leaves_size", store(d.dead_leaves_size)},
                            {"dead_leaves_frames", store(d.dead_leaves_frames)},
                            {"frame_stride", store(d.frame_stride)},
                            {"offsets", store(d.offsets)},
                            {"offset_power", store(d.offset_power)},
                            {"augment", store(d.augment)},
                            {"flip", store(d.flip)},
                            {"decode_short_side", store(d.decode_short_side)},
                            {"workers", store(d.workers)},
                            {"generate_on", store(d.generate_on)}});
  if (j.contains("sheets"))
    formats::parse_section(
        j.at("sheets"), origin + ".sheets",
        {{"blocks",
          [&](const json& v, const std::string& key) {
            MTMAP_CHECK(v.is_array(), "{}: expected an array of {{block, side_mm, neighbourhood_mm}}, got {}", key,
                        v.type_name());
            s.blocks.clear();
            for (size_t i = 0; i < v.size(); ++i) {
              cortex::SheetSpec b;
              formats::parse_section(v[i], fmt::format("{}[{}]", key, i),
                                     {{"block", store(b.block)},
                                      {"side_mm", store(b.side_mm)},
                                      {"neighbourhood_mm", store(b.neighbourhood_mm)}});
              MTMAP_CHECK(!b.block.empty() && b.side_mm > 0 && b.neighbourhood_mm > 0,
                          "{}[{}]: needs block, side_mm and neighbourhood_mm", key, i);
              s.blocks.push_back(b);
            }
          }},
         {"jitter_mm", store(s.jitter_mm)},
         {"windows", store(s.neighbourhoods.windows)},
         {"percentile", store(s.neighbourhoods.percentile)},
         {"min_units", store(s.neighbourhoods.min_units)},
         {"max_units", store(s.neighbourhoods.max_units)}});
  if (j.contains("training")) {
    std::string objective = objective_name(t.objective), schedule = schedule_name(t.schedule);
    std::string form = spatial_form_name(t.spatial_form);
    formats::parse_section(
        j.at("training"), origin + ".training",
        {{"device", store(t.device)},
         {"seed", store(t.seed)},
         {"objective", store(objective)},
         {"alpha", store(t.alpha)},
         {"alpha_per_block", store(t.alpha_per_block)},
         {"spatial_form", store(form)},
         {"batch_size", store(t.batch_size)},
         {"steps", store(t.steps)},
         {"epochs", store(t.epochs)},
         {"lr_per_256", store(t.lr_per_256)},
         {"warmup_steps", store(t.warmup_steps)},
         {"final_lr", store(t.final_lr)},
         {"momentum", store(t.momentum)},
         {"weight_decay", store(t.weight_decay)},
         {"moco_momentum", store(t.moco_momentum)},
         {"temperature", store(t.temperature)},
         {"queue_size", store(t.queue_size)},
         {"schedule", store(schedule)},
         {"pretrain_steps", store(t.pretrain_steps)},
         {"pretrain_epochs", store(t.pretrain_epochs)},
         {"swap",
          [&](const json& v, const std::string& key) {
            formats::parse_section(v, key,
                                   {{"probe_batches", store(t.swap.probe_batches)},
                                    {"windows", store(t.swap.windows)},
                                    {"attempts_per_window", store(t.swap.attempts_per_window)}});
          }},
         {"checkpoint_every", store(t.checkpoint_every)},
         {"keep_checkpoints", store(t.keep_checkpoints)},
         {"progress_seconds", store(t.progress_seconds)},
         {"threads", store(t.threads)},
         {"tf32", store(t.tf32)},
         {"precision", store(t.precision)},
         {"shuffle_bn", store(t.shuffle_bn)}});
    const json& tj = j.at("training");
    MTMAP_CHECK(!(tj.contains("steps") && tj.contains("epochs")),
                "{}.training.steps and training.epochs are both given (give one: steps, or epochs over the data)",
                origin);
    MTMAP_CHECK(!(tj.contains("pretrain_steps") && tj.contains("pretrain_epochs")),
                "{}.training.pretrain_steps and training.pretrain_epochs are both given (give one)", origin);
    formats::check_one_of(objective, {"joint", "contrastive", "spatial"}, origin + ".training.objective");
    formats::check_one_of(schedule, {"scratch", "staged"}, origin + ".training.schedule");
    formats::check_one_of(form, {"relative", "absolute"}, origin + ".training.spatial_form");
    t.objective = objective == "joint" ? Objective::joint
                  : objective == "contrastive" ? Objective::contrastive
                                               : Objective::spatial;
    t.schedule = schedule == "scratch" ? Schedule::scratch : Schedule::staged;
    t.spatial_form = form == "relative" ? SpatialLossForm::relative : SpatialLossForm::absolute;
  }
  for (const auto& [key, _] : j.items())
    MTMAP_CHECK(std::find(kTrainSections.begin(), kTrainSections.end(), key) != kTrainSections.end(),
                "{}.{}: not a training section (training reads: {})", origin, key, fmt::join(kTrainSections, ", "));
  validate(c, origin);
  return c;
}

json train_config_to_json(const TrainConfig& c) {
  const DataConfig& d = c.data;
  const TrainingConfig& t = c.training;
  json j;
  j["model"] = models::model_spec_to_json(c.model);
  j["data"] = {{"source", d.source},
               {"paths", d.paths},
               {"root", d.root},
               {"probe_cache", d.probe_cache},
               {"videos_per_epoch", d.videos_per_epoch},
               {"dead_leaves_size", d.dead_leaves_size},
               {"dead_leaves_frames", d.dead_leaves_frames},
               {"frame_stride", d.frame_stride},
               {"offsets", d.offsets},
               {"offset_power", d.offset_power},
               {"augment", d.augment},
               {"decode_short_side", d.decode_short_side},
               {"workers", d.workers}};
  json blocks = json::array();
  for (const auto& b : c.sheets.blocks)
    blocks.push_back({{"block", b.block}, {"side_mm", b.side_mm}, {"neighbourhood_mm", b.neighbourhood_mm}});
  const auto& n = c.sheets.neighbourhoods;
  j["sheets"] = {{"blocks", blocks},
                 {"jitter_mm", c.sheets.jitter_mm},
                 {"windows", n.windows},
                 {"percentile", n.percentile},
                 {"min_units", n.min_units},
                 {"max_units", n.max_units}};
  j["training"] = {{"device", t.device},
                   {"seed", t.seed},
                   {"objective", objective_name(t.objective)},
                   {"alpha", t.alpha},
                   {"alpha_per_block", t.alpha_per_block},
                   {"spatial_form", spatial_form_name(t.spatial_form)},
                   {"batch_size", t.batch_size},
                   {"steps", t.steps},
                   {"lr_per_256", t.lr_per_256},
                   {"warmup_steps", t.warmup_steps},
                   {"final_lr", t.final_lr},
                   {"momentum", t.momentum},
                   {"weight_decay", t.weight_decay},
                   {"moco_momentum", t.moco_momentum},
                   {"temperature", t.temperature},
                   {"queue_size", t.queue_size},
                   {"schedule", schedule_name(t.schedule)},
                   {"pretrain_steps", t.pretrain_steps},
                   {"swap",
                    {{"probe_batches", t.swap.probe_batches},
                     {"windows", t.swap.windows},
                     {"attempts_per_window", t.swap.attempts_per_window}}},
                   {"checkpoint_every", t.checkpoint_every},
                   {"keep_checkpoints", t.keep_checkpoints},
                   {"progress_seconds", t.progress_seconds},
                   {"threads", t.threads},
                   {"tf32", t.tf32}};
  // Written only when off, so that configs from before the option keep their hash (and their runs
  // resume).
  if (!t.shuffle_bn) j["training"]["shuffle_bn"] = false;
  if (d.flip != "independent") j["data"]["flip"] = d.flip;
  if (d.generate_on != "cpu") j["data"]["generate_on"] = d.generate_on;
  if (t.precision != "f32") j["training"]["precision"] = t.precision;
  // Epochs replace the step counts they resolve to (and the file reads back without a conflict).
  if (t.epochs > 0) {
    j["training"].erase("steps");
    j["training"]["epochs"] = t.epochs;
  }
  if (t.pretrain_epochs > 0) {
    j["training"].erase("pretrain_steps");
    j["training"]["pretrain_epochs"] = t.pretrain_epochs;
  }
  return j;
}

TrainConfig resolve_epochs(const TrainConfig& c, int64_t batches_per_epoch, const std::string& origin) {
  TrainConfig r = c;
  TrainingConfig& t = r.training;
  if (t.epochs <= 0 && t.pretrain_epochs <= 0) return r;
  MTMAP_CHECK(batches_per_epoch >= 1, "{}.training.epochs: the data holds no whole batch of {} clips", origin,
              t.batch_size);
  if (t.epochs > 0) {
    t.steps = std::max<int64_t>(1, std::llround(t.epochs * double(batches_per_epoch)));
    t.epochs = 0;
  }
  if (t.pretrain_epochs > 0) {
    t.pretrain_steps = std::max<int64_t>(1, std::llround(t.pretrain_epochs * double(batches_per_epoch)));
    t.pretrain_epochs = 0;
  }
  MTMAP_CHECK(c.training.epochs <= 0 || t.warmup_steps <= t.steps,
              "{}.training.warmup_steps = {} (need ≤ the {} steps of training.epochs = {} at {} batches per epoch)",
              origin, t.warmup_steps, t.steps, c.training.epochs, batches_per_epoch);
  return r;
}

std::string train_config_hash(const TrainConfig& c) {
  json j = train_config_to_json(c);
  // Settings that change how a run is watched or stored, not its numbers.
  for (const char* k : {"checkpoint_every", "keep_checkpoints", "progress_seconds", "threads"}) j["training"].erase(k);
  for (const char* k : {"workers", "probe_cache"}) j["data"].erase(k);
  return fmt::format("{:016x}", fnv1a64(j.dump()));
}

TrainConfig pretrain_config(const TrainConfig& c) {
  TrainConfig p = c;
  p.training.objective = Objective::contrastive;
  p.training.alpha = 0;
  p.training.alpha_per_block.clear();
  p.training.spatial_form = SpatialLossForm::relative;
  p.training.steps = 0;  // train() then ends where pre-training (and the swap) end
  p.training.epochs = 0;
  // Pre-training warms up over at most its own steps (known here unless given in epochs).
  if (c.training.pretrain_epochs <= 0)
    p.training.warmup_steps = std::min(c.training.warmup_steps, c.training.pretrain_steps);
  return p;
}

std::string pretrain_hash(const TrainConfig& c) { return train_config_hash(pretrain_config(c)); }

}  // namespace mtmap::training
