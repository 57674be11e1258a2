#pragma once
// The report's plots, built from what a run folder holds (metrics.json, units.csv), so a run's own
// SVG files and the HTML report draw the same thing. Macaque reference values (§7) are drawn in.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "formats/svg_plot.h"
#include "analysis/unit_table.h"

namespace mtmap::analysis {

formats::Plot ptc_plot(const nlohmann::json& tuning);                 // Fig. 2B / 5
formats::Plot fwhm_scatter_plot(const Table& units);                   // Fig. 3A
formats::Plot unit_histogram(const Table& units, const std::string& column);  // DSI, DI, CV, bandwidth
formats::Plot delta_plot(const nlohmann::json& map);                   // Fig. 4C
formats::Plot smoothness_plot(const nlohmann::json& map);
formats::Plot density_width_plot(const nlohmann::json& map);
formats::Plot spectrum_plot(const nlohmann::json& map);
std::string directions_svg(int n_directions);                 // Fig. 2A: the grating directions

// Fig. 2C–F and 4B: one metric versus α, mean over seeds with a 95 % t interval.
struct SweepMetric {
  std::string key;    // e.g. "tuning.fraction_selective"
  std::string title, ylabel;
};
const std::vector<SweepMetric>& sweep_metrics();
double metric_at(const nlohmann::json& metrics, const std::string& dotted_key);  // NaN when absent
formats::Plot sweep_plot(const std::vector<nlohmann::json>& runs, const SweepMetric& m);

// The runs of a study grouped by condition = (config.run.objective, config.run.alpha), in study
// order: joint by α ascending, then contrastive, then spatial (each by α), then any other objective
// (alphabetically), then runs without an objective; a missing α (NaN) comes last within its
// objective. `runs` index into the vector given.
struct Condition {
  std::string objective;  // "" when the run names none
  double alpha;           // NaN when the run names none
  std::vector<size_t> runs;
};
std::vector<Condition> group_conditions(const std::vector<nlohmann::json>& runs);
// One condition's value of a metric over its runs (seeds): the numbers the sweep panels draw.
struct ConditionStat {
  int n = 0;                // runs with a finite value
  double mean, ci95_half;   // NaN when n == 0; ci95_half NaN when n < 2
};
ConditionStat condition_stat(const std::vector<nlohmann::json>& runs, const Condition& c, const std::string& key);
// sweep_plot, with one series per objective when the runs have more than one (so a spatial-only
// run is not pooled with a joint run of the same α); otherwise exactly sweep_plot.
formats::Plot sweep_plot_by_objective(const std::vector<nlohmann::json>& runs, const SweepMetric& m);

}  // namespace mtmap::analysis
