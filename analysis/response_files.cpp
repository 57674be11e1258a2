#include "analysis/response_files.h"

#include <cmath>
#include <filesystem>

#include "analysis/run_output.h"
#include "analysis/unit_table.h"
#include "engine/core/error.h"
#include "formats/npy.h"

namespace mtmap::analysis {
namespace {

ResponseArray read_response_array(const std::string& path) {
  const formats::NpyArray a = formats::read_npy(path);
  MTMAP_CHECK(a.fields.empty() && a.shape.size() == 5,
              "{}: need a plain 5-D array (units, directions, SF, TF, phases), got {} dimensions", path, a.shape.size());
  ResponseArray r;
  r.units = int(a.shape[0]), r.directions = int(a.shape[1]), r.sfs = int(a.shape[2]), r.tfs = int(a.shape[3]),
  r.phases = int(a.shape[4]);
  r.values = a.data;
  return r;
}

}  // namespace

ResponseFilesResult analyze_response_files(const ResponseFiles& files, const AnalysisConfig& cfg,
                                           const std::string& out_dir) {
  const ResponseArray r = read_response_array(files.responses);
  std::vector<double> baseline;
  if (!files.baseline.empty()) {
    const formats::NpyArray b = formats::read_npy(files.baseline);
    MTMAP_CHECK(b.fields.empty(), "{}: need a plain array of {} baseline responses", files.baseline, r.units);
    baseline = b.data;
  }
  MTMAP_CHECK(!cfg.tuning.subtract_baseline || !baseline.empty(),
              "tuning.subtract_baseline is on (the default): give --baseline, or set it to false in --config");
  ResponseFilesResult out;
  out.tuning = analyze_responses(r, baseline, cfg.tuning);
  nlohmann::json inputs = {
      {"responses", std::filesystem::absolute(files.responses).string()},
      {"shape", {r.units, r.directions, r.sfs, r.tfs, r.phases}},
      {"baseline", files.baseline.empty() ? "" : std::filesystem::absolute(files.baseline).string()}};
  if (files.positions.empty()) {
    write_run(out_dir, cfg, inputs, &out.tuning, nullptr, nullptr, nullptr);
    return out;
  }
  const std::string& path = files.positions;
  Table pos = path.size() > 4 && path.ends_with(".npy") ? read_npy_table(path, {"x_mm", "y_mm"}) : read_csv(path);
  const auto* x = pos.find("x_mm");
  const auto* y = pos.find("y_mm");
  MTMAP_CHECK(x && y, "{}: need columns x_mm and y_mm (columns: {})", path, fmt::join(pos.names, ", "));
  MTMAP_CHECK(pos.rows() == size_t(r.units), "{}: {} positions for {} units", path, pos.rows(), r.units);
  for (size_t i = 0; i < pos.rows(); ++i)
    MTMAP_CHECK(std::isfinite((*x)[i]) && std::isfinite((*y)[i]), "{}: row {} (unit {}) has position ({}, {})", path,
                i + 1, i, (*x)[i], (*y)[i]);
  inputs["positions"] = std::filesystem::absolute(path).string();
  out.map = analyze_map(map_units_from_tuning(out.tuning, *x, *y), cfg);
  write_run(out_dir, cfg, inputs, &out.tuning, x, y, &*out.map);
  return out;
}

}  // namespace mtmap::analysis
