#pragma once
// Every threshold and convention of the tuning and map analysis (docs/measurements.md), with its
// defaults. Read from JSON that must not contain unknown keys; written back in full into every
// output so a number never travels without the settings that produced it.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace mtmap::analysis {

struct TuningConfig {
  // Tuning curve from the (SF, TF) combination with the largest peak response ("best", the
  // default of docs/measurements.md §1) or the mean over all SF/TF combinations ("average").
  std::string sf_tf = "best";
  bool subtract_baseline = true;                  // subtract the grey-clip response
  std::string preferred_direction = "vector_sum";  // or "argmax"
  // FWHM level: half of the peak ("zero", the von Mises convention FWHM = 2 arccos(1 + ln .5/κ))
  // or half-way between the curve's minimum and its peak ("min").
  std::string fwhm_reference = "zero";
  int fwhm_upsample = 64;  // samples per direction step of the trigonometric interpolation
  // Responsive: peak > threshold · median peak over units ("median_multiple"), peak among the top
  // `threshold` fraction of units ("top_fraction"), or peak > threshold ("absolute").
  std::string responsive_rule = "median_multiple";
  double responsive_threshold = 0.1;
  double dsi_threshold = 1.0 / 3.0;  // selective: responsive and DSI ≥ this (≡ DI ≥ 0.5)
};

struct MapConfig {
  std::string kernel = "gaussian";  // "gaussian" (width = σ) or "window" (square, width = side)
  double smoothing_width_mm = 0.15;
  double grid_spacing_mm = 0.05;
  double period_deg = 360.0;  // 360: direction map, charges ±1; 180: axis map (2θ), charges ±½
  // Plaquettes whose largest corner |z| is below mask_fraction · median |z| are not analysed.
  double mask_fraction = 0.05;
  std::vector<double> density_widths_mm = {0.05, 0.1, 0.15, 0.2, 0.3, 0.5};
  double zero_crossing_match_mm = -1.0;  // < 0: one grid spacing
};

struct StatsConfig {
  int delta_neighbours = 4;  // nearest neighbours per unit for the Δ histogram
  int delta_bins = 18;       // over [0°, 180°]
  int shuffle_repeats = 10;
  unsigned seed = 1;
  double smoothness_max_distance_mm = 1.0;
  int smoothness_bins = 10;
  int smoothness_sample_units = 2000;  // reference units drawn for the pair statistics
};

struct FigureConfig {
  double scale_bar_mm = 0.5;
  double subregion_mm = 2.0;  // side of the zoomed map (preprint Fig. 6)
  int map_pixels = 560;       // longest side of a rendered map
  bool brightness_from_magnitude = false;
};

struct RunInfo {
  std::string label;
  std::optional<double> alpha;
  std::optional<int> seed;
  std::string objective;  // e.g. "joint", "contrastive", "spatial" (preprint Fig. 3B)
};

// How `mtmap analyze` probes a model (docs/measurements.md §1): which block, the grating sweep, the
// clip, and how the clips are batched. Responses are the block output averaged over time
// (docs/model.md §2).
struct ProbeConfig {
  std::string layer = "layer3.1";                    // the MT-like block
  int directions = 16;                               // θ_k = 360°·k/directions, 0° = rightward, counter-clockwise
  std::vector<double> wavelengths_px = {8, 16, 32};  // spatial period (f_s = 1/λ cycles/pixel)
  std::vector<double> periods_frames = {4, 8, 16};   // temporal period (f_t = 1/P cycles/frame; P > 2)
  int phases = 4;                                    // φ = 360°·p/phases, averaged in the tuning curve
  int frames = 0;                                    // clip length; 0: the model's training input
  int size = 0;                                      // frame side in pixels; 0: the model's
  double contrast = 1.0;
  int batch_size = 8;          // clips per forward pass (eval mode: the result does not depend on it)
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  bool save_responses = true;  // also write responses.npy and baseline.npy into the run folder
};

struct AnalysisConfig {
  ProbeConfig probe;
  // The model's architecture and input (models::ModelSpec keys), for checkpoints that do not carry
  // it in their metadata. Kept as JSON here and parsed strictly by the model side, so this library
  // stays model-free; null when the config has no `model` section.
  nlohmann::json model;
  TuningConfig tuning;
  MapConfig map;
  StatsConfig stats;
  FigureConfig figures;
  RunInfo run;
};

// Strict parse: unknown keys, wrong types and out-of-range values throw mtmap::Error naming the
// key path (e.g. "map.smoothing_width_mm"). `origin` names the source in messages.
AnalysisConfig config_from_json(const nlohmann::json& j, const std::string& origin = "config");
AnalysisConfig load_config(const std::string& path);
nlohmann::json config_to_json(const AnalysisConfig& c);
void validate(const AnalysisConfig& c);

}  // namespace mtmap::analysis
