#pragma once
// An analysed run folder: metrics.json (every number, with the resolved config), the per-unit
// table (units.csv, units.npy), map rasters (.npy) and figures (PNG maps, SVG curves). The report
// reads these folders back, so this layout is the contract between analysis and report.
#include <nlohmann/json.hpp>

#include <string>

#include "analysis/config.h"
#include "analysis/map_analysis.h"
#include "analysis/responses.h"
#include "analysis/unit_table.h"

namespace mtmap::analysis {

nlohmann::json tuning_result_json(const TuningResult& t);
// Per-unit table; x_mm/y_mm columns only when positions are given (same length as the units).
Table unit_table(const TuningResult& t, const std::vector<double>* x_mm, const std::vector<double>* y_mm);
// Map input from a tuning result: direction = preferred direction, weight = vector strength; units
// without a defined preferred direction (no positive response) are left out.
MapUnits map_units_from_tuning(const TuningResult& t, const std::vector<double>& x_mm, const std::vector<double>& y_mm);

// Writes whatever parts are given (tuning and/or map) into `dir` (created if needed).
void write_run(const std::string& dir, const AnalysisConfig& cfg, const nlohmann::json& inputs, const TuningResult* tuning,
               const std::vector<double>* x_mm, const std::vector<double>* y_mm, const MapResult* map);

nlohmann::json read_metrics(const std::string& run_dir);

}  // namespace mtmap::analysis
