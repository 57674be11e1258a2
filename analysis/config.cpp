// Strict JSON ⇄ AnalysisConfig. Each section is a table of key → setter so an unknown key is found
// by lookup failure and reported with its full path, never silently ignored.
#include "analysis/config.h"

#include <cmath>
#include <map>

#include "engine/core/device.h"
#include "engine/core/error.h"
#include "formats/json_config.h"

namespace mtmap::analysis {
namespace {

using json = nlohmann::json;
using formats::parse_section;
using formats::store;

// The analysis' messages say "config <section>.<key>" (its keys are not prefixed by the file).
void check_one_of(const std::string& value, std::initializer_list<const char*> allowed, const char* key) {
  formats::check_one_of(value, allowed, std::string("config ") + key);
}

}  // namespace

void validate(const AnalysisConfig& c) {
  const auto& p = c.probe;
  MTMAP_CHECK(!p.layer.empty(), "config probe.layer is empty (e.g. layer3.1)");
  MTMAP_CHECK(p.directions >= 4 && p.directions % 2 == 0,
              "config probe.directions = {} (need an even number ≥ 4, so every direction has its opposite)",
              p.directions);
  MTMAP_CHECK(!p.wavelengths_px.empty(), "config probe.wavelengths_px is empty");
  for (double w : p.wavelengths_px)
    MTMAP_CHECK(std::isfinite(w) && w >= 2, "config probe.wavelengths_px contains {} (need ≥ 2 pixels: Nyquist)", w);
  MTMAP_CHECK(!p.periods_frames.empty(), "config probe.periods_frames is empty");
  for (double f : p.periods_frames)
    MTMAP_CHECK(std::isfinite(f) && f > 2,
                "config probe.periods_frames contains {} (need > 2 frames: at 2 the direction is ambiguous, below "
                "it aliases)",
                f);
  MTMAP_CHECK(p.phases >= 1, "config probe.phases = {} (need ≥ 1)", p.phases);
  MTMAP_CHECK(p.frames >= 0 && p.size >= 0, "config probe.frames = {}, probe.size = {} (need ≥ 0; 0 = the model's)",
              p.frames, p.size);
  MTMAP_CHECK(std::isfinite(p.contrast) && p.contrast > 0 && p.contrast <= 1, "config probe.contrast = {} (need 0..1)",
              p.contrast);
  MTMAP_CHECK(p.batch_size >= 1, "config probe.batch_size = {} (need ≥ 1)", p.batch_size);
  try {
    (void)Device::parse(p.device);
  } catch (const Error& e) {
    MTMAP_FAIL("config probe.device = '{}': {}", p.device, e.what());
  }
  MTMAP_CHECK(c.model.is_null() || c.model.is_object(), "config model: expected a JSON object, got {}",
              c.model.type_name());
  const auto& t = c.tuning;
  check_one_of(t.sf_tf, {"best", "average"}, "tuning.sf_tf");
  check_one_of(t.preferred_direction, {"vector_sum", "argmax"}, "tuning.preferred_direction");
  check_one_of(t.fwhm_reference, {"zero", "min"}, "tuning.fwhm_reference");
  check_one_of(t.responsive_rule, {"median_multiple", "top_fraction", "absolute"}, "tuning.responsive_rule");
  MTMAP_CHECK(t.fwhm_upsample >= 4 && t.fwhm_upsample <= 4096, "config tuning.fwhm_upsample = {} (need 4..4096)",
              t.fwhm_upsample);
  MTMAP_CHECK(std::isfinite(t.responsive_threshold) && t.responsive_threshold >= 0,
              "config tuning.responsive_threshold = {} (need a finite value ≥ 0)", t.responsive_threshold);
  MTMAP_CHECK(t.responsive_rule != "top_fraction" || t.responsive_threshold <= 1,
              "config tuning.responsive_threshold = {} must be a fraction in [0, 1] for top_fraction",
              t.responsive_threshold);
  MTMAP_CHECK(std::isfinite(t.dsi_threshold) && t.dsi_threshold >= 0 && t.dsi_threshold <= 1,
              "config tuning.dsi_threshold = {} (need 0..1)", t.dsi_threshold);
  const auto& m = c.map;
  check_one_of(m.kernel, {"gaussian", "window"}, "map.kernel");
  MTMAP_CHECK(m.smoothing_width_mm > 0 && std::isfinite(m.smoothing_width_mm),
              "config map.smoothing_width_mm = {} (need > 0)", m.smoothing_width_mm);
  MTMAP_CHECK(m.grid_spacing_mm > 0 && std::isfinite(m.grid_spacing_mm), "config map.grid_spacing_mm = {} (need > 0)",
              m.grid_spacing_mm);
  MTMAP_CHECK(m.period_deg == 360.0 || m.period_deg == 180.0, "config map.period_deg = {} (need 360 or 180)",
              m.period_deg);
  MTMAP_CHECK(m.mask_fraction >= 0 && m.mask_fraction < 1, "config map.mask_fraction = {} (need 0..1)",
              m.mask_fraction);
  for (double w : m.density_widths_mm)
    MTMAP_CHECK(w > 0 && std::isfinite(w), "config map.density_widths_mm contains {} (need > 0)", w);
  const auto& s = c.stats;
  MTMAP_CHECK(s.delta_neighbours >= 1, "config stats.delta_neighbours = {} (need ≥ 1)", s.delta_neighbours);
  MTMAP_CHECK(s.delta_bins >= 2, "config stats.delta_bins = {} (need ≥ 2)", s.delta_bins);
  MTMAP_CHECK(s.shuffle_repeats >= 1, "config stats.shuffle_repeats = {} (need ≥ 1)", s.shuffle_repeats);
  MTMAP_CHECK(s.smoothness_max_distance_mm > 0, "config stats.smoothness_max_distance_mm = {} (need > 0)",
              s.smoothness_max_distance_mm);
  MTMAP_CHECK(s.smoothness_bins >= 1, "config stats.smoothness_bins = {} (need ≥ 1)", s.smoothness_bins);
  MTMAP_CHECK(s.smoothness_sample_units >= 1, "config stats.smoothness_sample_units = {} (need ≥ 1)",
              s.smoothness_sample_units);
  const auto& f = c.figures;
  MTMAP_CHECK(f.scale_bar_mm > 0, "config figures.scale_bar_mm = {} (need > 0)", f.scale_bar_mm);
  MTMAP_CHECK(f.subregion_mm > 0, "config figures.subregion_mm = {} (need > 0)", f.subregion_mm);
  MTMAP_CHECK(f.map_pixels >= 32 && f.map_pixels <= 8192, "config figures.map_pixels = {} (need 32..8192)",
              f.map_pixels);
}

AnalysisConfig config_from_json(const json& j, const std::string& origin) {
  AnalysisConfig c;
  auto& t = c.tuning;
  auto& m = c.map;
  auto& s = c.stats;
  auto& f = c.figures;
  auto& r = c.run;
  auto& p = c.probe;
  formats::KeyTable top = {
      {"probe",
       [&](const json& v, const std::string&) {
         parse_section(v, origin + ".probe",
                       {{"layer", store(p.layer)},
                        {"directions", store(p.directions)},
                        {"wavelengths_px", store(p.wavelengths_px)},
                        {"periods_frames", store(p.periods_frames)},
                        {"phases", store(p.phases)},
                        {"frames", store(p.frames)},
                        {"size", store(p.size)},
                        {"contrast", store(p.contrast)},
                        {"batch_size", store(p.batch_size)},
                        {"device", store(p.device)},
                        {"save_responses", store(p.save_responses)}});
       }},
      // Checked key by key by models::model_spec_from_json where a checkpoint needs it.
      {"model",
       [&](const json& v, const std::string&) {
         MTMAP_CHECK(v.is_object(), "{}.model: expected a JSON object, got {}", origin, v.type_name());
         c.model = v;
       }},
      {"tuning",
       [&](const json& v, const std::string&) {
         parse_section(v, origin + ".tuning",
                       {{"sf_tf", store(t.sf_tf)},
                        {"subtract_baseline", store(t.subtract_baseline)},
                        {"preferred_direction", store(t.preferred_direction)},
                        {"fwhm_reference", store(t.fwhm_reference)},
                        {"fwhm_upsample", store(t.fwhm_upsample)},
                        {"responsive_rule", store(t.responsive_rule)},
                        {"responsive_threshold", store(t.responsive_threshold)},
                        {"dsi_threshold", store(t.dsi_threshold)}});
       }},
      {"map",
       [&](const json& v, const std::string&) {
         parse_section(v, origin + ".map",
                       {{"kernel", store(m.kernel)},
                        {"smoothing_width_mm", store(m.smoothing_width_mm)},
                        {"grid_spacing_mm", store(m.grid_spacing_mm)},
                        {"period_deg", store(m.period_deg)},
                        {"mask_fraction", store(m.mask_fraction)},
                        {"density_widths_mm", store(m.density_widths_mm)},
                        {"zero_crossing_match_mm", store(m.zero_crossing_match_mm)}});
       }},
      {"stats",
       [&](const json& v, const std::string&) {
         parse_section(v, origin + ".stats",
                       {{"delta_neighbours", store(s.delta_neighbours)},
                        {"delta_bins", store(s.delta_bins)},
                        {"shuffle_repeats", store(s.shuffle_repeats)},
                        {"seed", store(s.seed)},
                        {"smoothness_max_distance_mm", store(s.smoothness_max_distance_mm)},
                        {"smoothness_bins", store(s.smoothness_bins)},
                        {"smoothness_sample_units", store(s.smoothness_sample_units)}});
       }},
      {"figures",
       [&](const json& v, const std::string&) {
         parse_section(v, origin + ".figures",
                       {{"scale_bar_mm", store(f.scale_bar_mm)},
                        {"subregion_mm", store(f.subregion_mm)},
                        {"map_pixels", store(f.map_pixels)},
                        {"brightness_from_magnitude", store(f.brightness_from_magnitude)}});
       }},
      {"run",
       [&](const json& v, const std::string&) {
         parse_section(v, origin + ".run",
                       {{"label", store(r.label)},
                        {"alpha", [&](const json& x, const std::string&) { r.alpha = x.is_null() ? std::nullopt : std::optional(x.get<double>()); }},
                        {"seed", [&](const json& x, const std::string& key) { r.seed = x.is_null() ? std::nullopt : std::optional(formats::get_integer<int>(x, key)); }},
                        {"objective", store(r.objective)}});
       }},
  };
  parse_section(j, origin, top);
  validate(c);
  return c;
}

AnalysisConfig load_config(const std::string& path) {
  return config_from_json(formats::read_json_file(path), path);
}

json config_to_json(const AnalysisConfig& c) {
  const auto& t = c.tuning;
  const auto& m = c.map;
  const auto& s = c.stats;
  const auto& f = c.figures;
  const auto& p = c.probe;
  json j;
  j["probe"] = {{"layer", p.layer},
                {"directions", p.directions},
                {"wavelengths_px", p.wavelengths_px},
                {"periods_frames", p.periods_frames},
                {"phases", p.phases},
                {"frames", p.frames},
                {"size", p.size},
                {"contrast", p.contrast},
                {"batch_size", p.batch_size},
                {"device", p.device},
                {"save_responses", p.save_responses}};
  if (!c.model.is_null()) j["model"] = c.model;
  j["tuning"] = {{"sf_tf", t.sf_tf},
                 {"subtract_baseline", t.subtract_baseline},
                 {"preferred_direction", t.preferred_direction},
                 {"fwhm_reference", t.fwhm_reference},
                 {"fwhm_upsample", t.fwhm_upsample},
                 {"responsive_rule", t.responsive_rule},
                 {"responsive_threshold", t.responsive_threshold},
                 {"dsi_threshold", t.dsi_threshold}};
  j["map"] = {{"kernel", m.kernel},
              {"smoothing_width_mm", m.smoothing_width_mm},
              {"grid_spacing_mm", m.grid_spacing_mm},
              {"period_deg", m.period_deg},
              {"mask_fraction", m.mask_fraction},
              {"density_widths_mm", m.density_widths_mm},
              {"zero_crossing_match_mm", m.zero_crossing_match_mm}};
  j["stats"] = {{"delta_neighbours", s.delta_neighbours},
                {"delta_bins", s.delta_bins},
                {"shuffle_repeats", s.shuffle_repeats},
                {"seed", s.seed},
                {"smoothness_max_distance_mm", s.smoothness_max_distance_mm},
                {"smoothness_bins", s.smoothness_bins},
                {"smoothness_sample_units", s.smoothness_sample_units}};
  j["figures"] = {{"scale_bar_mm", f.scale_bar_mm},
                  {"subregion_mm", f.subregion_mm},
                  {"map_pixels", f.map_pixels},
                  {"brightness_from_magnitude", f.brightness_from_magnitude}};
  j["run"] = {{"label", c.run.label},
              {"alpha", c.run.alpha ? json(*c.run.alpha) : json(nullptr)},
              {"seed", c.run.seed ? json(*c.run.seed) : json(nullptr)},
              {"objective", c.run.objective}};
  return j;
}

}  // namespace mtmap::analysis
