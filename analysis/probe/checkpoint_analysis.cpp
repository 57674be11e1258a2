#include "analysis/probe/checkpoint_analysis.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include "analysis/probe/grating_probe.h"
#include "analysis/map_analysis.h"
#include "formats/npy.h"
#include "analysis/report.h"
#include "analysis/responses.h"
#include "analysis/run_output.h"
#include "engine/core/device_support.h"
#include "engine/core/error.h"
#include "models/checkpoint.h"

namespace mtmap::analysis {

// The file formats this file writes or reads (formats/).
using formats::write_npy;

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct ResolvedSpec {
  models::ModelSpec spec;
  std::string origin;  // where it came from, for messages and metrics.json
};

// The architecture: the checkpoint's own description, else the config's `model` section; both
// present must agree (a checkpoint cannot be reinterpreted as another architecture).
ResolvedSpec resolve_spec(const models::Checkpoint& ckpt, const CheckpointAnalysisOptions& o) {
  std::optional<models::ModelSpec> from_config;
  const std::string config_key = o.config_origin + ".model";
  if (!o.config.model.is_null()) from_config = models::model_spec_from_json(o.config.model, config_key);
  if (ckpt.spec && from_config) {
    // Only the keys the config gives count: the others hold defaults, not claims about the model.
    const json mine = models::model_spec_to_json(*ckpt.spec), theirs = models::model_spec_to_json(*from_config);
    std::string key;
    for (const auto& [k, v] : o.config.model.items())
      if (key.empty() && mine[k] != theirs[k]) key = k;
    MTMAP_CHECK(key.empty(),
                "{}: the checkpoint's model has {} = {} but {} says {} (leave the key out of the config or "
                "use a matching checkpoint)",
                ckpt.path, key, mine[key].dump(), config_key, theirs[key].dump());
  }
  if (ckpt.spec) return {*ckpt.spec, ckpt.path + " (metadata mtmap.model)"};
  MTMAP_CHECK(from_config.has_value(),
              "{}: the checkpoint does not describe its model (no metadata 'mtmap.model', e.g. a file exported from "
              "PyTorch): give a \"model\" section in --config with keys stem, depth, width, in_channels, "
              "projection_dim, dtype, frames, size, mean, std",
              ckpt.path);
  return {*from_config, config_key};
}

struct Positions {
  std::vector<double> x, y;
  json source = nullptr;
};

// The probed block's unit positions: --sheet, else the checkpoint's own; none → no map.
std::optional<Positions> resolve_positions(const models::Checkpoint& ckpt, const CheckpointAnalysisOptions& o,
                                           const std::string& layer, int64_t units, const std::string& unit_shape) {
  models::SheetPositions sheet;
  std::string file;
  if (!o.sheet.empty()) {
    sheet = models::read_sheet_positions(o.sheet, layer);
    file = o.sheet;
  } else if (const models::SheetPositions* s = ckpt.sheet(layer)) {
    sheet = *s;
    file = ckpt.path;
  } else {
    return std::nullopt;
  }
  MTMAP_CHECK(sheet.positions.size(0) == units,
              "{}: the sheet of {} has {} unit positions but the block has {} units ({}; unit u = c·H·W + h·W + w)",
              file, layer, sheet.positions.size(0), units, unit_shape);
  Positions p;
  const std::vector<double> xy = sheet.positions.contiguous().to_vector<double>();
  for (int64_t u = 0; u < units; ++u) p.x.push_back(xy[size_t(2 * u)]), p.y.push_back(xy[size_t(2 * u + 1)]);
  p.source = {
      {"file", fs::absolute(file).string()}, {"side_mm", sheet.side_mm}, {"neighbourhood_mm", sheet.neighbourhood_mm}};
  return p;
}

// Without a Progress, the probe's updates reach `log` as plain lines, at most one per kLogSeconds
// (and the last): never a line per batch.
constexpr double kLogSeconds = 5;

}  // namespace

CheckpointAnalysisSummary analyze_checkpoint(const CheckpointAnalysisOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  ProgressLine log_progress(o.log, kLogSeconds);
  Progress& progress = o.progress ? *o.progress : log_progress;
  auto log = [&](const std::string& line) { progress.message(line); };
  const AnalysisConfig& cfg = o.config;
  const ProbeConfig& probe = cfg.probe;
  validate(cfg);

  // 1. Everything that can be wrong with the inputs, before any work and before any output.
  const models::Checkpoint ckpt = models::read_checkpoint(o.checkpoint);
  const ResolvedSpec rs = resolve_spec(ckpt, o);
  models::ModelSpec input_spec = rs.spec;  // the probe's clip: the training input unless configured
  if (probe.frames > 0) input_spec.frames = probe.frames;
  if (probe.size > 0) input_spec.size = probe.size;
  std::shared_ptr<models::ResNet3d> net = models::load_model(ckpt, rs.spec, rs.origin);
  const std::vector<std::string> blocks = net->block_names();
  MTMAP_CHECK(std::find(blocks.begin(), blocks.end(), probe.layer) != blocks.end(),
              "probe.layer '{}' is not a block of this model (blocks: {})", probe.layer, fmt::join(blocks, ", "));
  models::BlockShape shape;
  for (const models::BlockShape& s : models::block_shapes(input_spec))
    if (s.name == probe.layer) shape = s;
  const std::string unit_shape =
      fmt::format("{} channels × {}×{} positions at input {}×{}×{}", shape.channels, shape.height, shape.width,
                  input_spec.frames, input_spec.size, input_spec.size);
  const std::optional<Positions> pos = resolve_positions(ckpt, o, probe.layer, shape.units(), unit_shape);
  const Device device = Device::parse(probe.device);
  require_device(device, "mtmap analyze (probe.device / --device)");
  MTMAP_CHECK(!fs::exists(o.out_dir) || fs::is_directory(o.out_dir), "output {} exists and is not a folder", o.out_dir);

  log(fmt::format("model: {} from {}", models::model_spec_to_json(rs.spec).dump(), rs.origin));
  log(fmt::format("probing {}: {} units ({}), {} clips of {}×{}×{} in batches of {} on {}", probe.layer,
                  shape.units(), unit_shape, stimulus_count(probe), input_spec.frames, input_spec.size,
                  input_spec.size, probe.batch_size, device.str()));
  if (!pos)
    log(fmt::format("no sheet positions for {} in {} and no --sheet: the direction map is skipped", probe.layer,
                    o.checkpoint));

  // 2. The probe: eval mode (BN running statistics), no autograd, the block output only.
  net->eval();
  net->to(device);
  ProbeInput in;
  in.frames = int(input_spec.frames), in.size = int(input_spec.size);
  in.mean = input_spec.mean, in.std = input_spec.std;
  in.device = device;
  // A progress update per batch; the Progress decides what to show (never a line per batch).
  auto probe_progress = [&](const ProbeProgress& p) {
    const double per_s = p.seconds > 0 ? p.clips_done / p.seconds : 0;
    progress.update(double(p.clips_done) / std::max(1, p.clips),
                    fmt::format("probe {}: batch {}/{} ({}/{} clips), {:.1f} clips/s ETA {}", probe.layer,
                                p.batches_done, p.batches, p.clips_done, p.clips, per_s,
                                format_duration(per_s > 0 ? (p.clips - p.clips_done) / per_s : -1)),
                    p.batches_done == p.batches);
  };
  const DType dtype = rs.spec.net.dtype;  // the clips are f32; an f64 model gets f64 clips
  auto block = [&](const Tensor& x) { return net->forward(x.to(dtype), {probe.layer}).blocks.at(probe.layer); };
  ProbeResult r;
  try {
    r = probe_gratings(block, probe, in, probe_progress);
  } catch (const Error& e) {
    MTMAP_FAIL("probing {} of {} on {}: {}", probe.layer, o.checkpoint, device.str(), e.what());
  }
  MTMAP_CHECK(int64_t(r.responses.units) == shape.units(), "probe: {} units measured, {} expected ({})",
              r.responses.units, shape.units(), unit_shape);

  // 3. The model-free analysis, exactly as analyze-responses runs it.
  const TuningResult t = analyze_responses(r.responses, r.baseline, cfg.tuning);
  std::optional<MapResult> m;
  if (pos) m = analyze_map(map_units_from_tuning(t, pos->x, pos->y), cfg);

  std::vector<double> directions, sf, tf, phases;
  for (int d = 0; d < probe.directions; ++d) directions.push_back(360.0 * d / probe.directions);
  for (double w : probe.wavelengths_px) sf.push_back(1.0 / w);
  for (double p : probe.periods_frames) tf.push_back(1.0 / p);
  for (int p = 0; p < probe.phases; ++p) phases.push_back(360.0 * p / probe.phases);
  const json inputs = {
      {"checkpoint", fs::absolute(o.checkpoint).string()},
      {"model", models::model_spec_to_json(rs.spec)},
      {"model_source", rs.origin},
      {"layer", probe.layer},
      {"block_output",
       {{"channels", r.channels}, {"frames", r.block_frames}, {"height", r.height}, {"width", r.width}}},
      {"units", r.responses.units},
      {"unit_index", "u = c*H*W + h*W + w; response = block output averaged over its frames"},
      {"sheet", pos ? pos->source : json(nullptr)},
      {"probe",
       {{"frames", input_spec.frames},
        {"size", input_spec.size},
        {"normalisation", {{"mean", input_spec.mean}, {"std", input_spec.std}}},
        {"directions_deg", directions},
        {"spatial_freq_cycles_per_px", sf},
        {"temporal_freq_cycles_per_frame", tf},
        {"phases_deg", phases},
        {"contrast", probe.contrast},
        {"baseline", "uniform grey clip (0.5 before normalisation)"},
        {"clips", r.clips},
        {"batches", r.batches},
        {"batch_size", probe.batch_size},
        {"device", device.str()},
        {"device_name", device.is_cuda() ? cuda_device_name(device.index) : std::string("cpu")},
        {"seconds", r.seconds}}},
      {"responses_npy",
       probe.save_responses ? json("responses.npy (units, directions, SF, TF, phases); baseline.npy") : json(nullptr)}};

  // 4. Outputs.
  write_run(o.out_dir, cfg, inputs, &t, pos ? &pos->x : nullptr, pos ? &pos->y : nullptr, m ? &*m : nullptr);
  if (probe.save_responses) {
    const fs::path root(o.out_dir);
    const auto& a = r.responses;
    write_npy((root / "responses.npy").string(),
              {size_t(a.units), size_t(a.directions), size_t(a.sfs), size_t(a.tfs), size_t(a.phases)}, a.values);
    write_npy((root / "baseline.npy").string(), {r.baseline.size()}, r.baseline);
  }
  if (o.report) build_report({o.out_dir}, (fs::path(o.out_dir) / "report.html").string(), "mtmap tuning analysis");

  CheckpointAnalysisSummary s;
  s.units = t.population.n_units, s.responsive = t.population.n_responsive, s.selective = t.population.n_selective;
  s.clips = r.clips, s.batches = r.batches, s.map = m.has_value();
  s.probe_seconds = r.seconds;
  s.total_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

}  // namespace mtmap::analysis
