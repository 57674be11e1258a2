#pragma once
// One self-contained HTML report (no external files: PNGs inlined as base64, SVG inline) from one
// or more analysed run folders: the preprint's figure panels (docs/measurements.md §8) with the
// macaque reference values (§7) drawn in and cited, and, given several runs, the metric-versus-α
// panels with 95 % intervals over seeds and the comparison across objectives.
#include <string>
#include <vector>

namespace mtmap::analysis {

void build_report(const std::vector<std::string>& run_dirs, const std::string& out_html, const std::string& title);

// A whole study (an α sweep × objectives × seeds) on one page, its panels also as files:
//   out_dir/report.html        the notes, then everything build_report shows for these runs, plus
//                              "Direction maps side by side" (rows: condition = objective and α, in
//                              study order; columns: seed)
//   out_dir/figures/           metric_vs_alpha_<metric key>.svg for each metric-versus-α panel,
//                              ptc_by_alpha.svg and ptc_by_objective.svg when drawn, and each run's
//                              direction map as direction_map_<run label, sanitised>.png
//   out_dir/study_summary.json per condition: the runs, and for each headline metric (the
//                              metric-versus-α panels) n, the mean and the 95 % interval over seeds
// Every file is written under a temporary name in its folder and renamed into place.
struct StudyReportOptions {
  std::vector<std::string> run_dirs;  // analysed run folders (each has metrics.json)
  std::string out_dir;                // writes out_dir/report.html and out_dir/figures/
  std::string title;
  std::vector<std::string> notes;     // plain-text paragraphs shown first; HTML-escaped
};
struct StudyReportSummary {
  std::string html;                  // path of report.html
  std::vector<std::string> figures;  // paths of the files written under figures/
  std::string summary_json;          // path of study_summary.json
};
StudyReportSummary build_study_report(const StudyReportOptions& o);
std::string base64(const std::string& bytes);

}  // namespace mtmap::analysis
