#pragma once
// One self-contained HTML report (no external files: PNGs inlined as base64, SVG inline) from one
// or more analysed run folders: the preprint's figure panels (docs/measurements.md §8) with the
// macaque reference values (§7) drawn in and cited, and, given several runs, the metric-versus-α
// panels with 95 % intervals over seeds and the comparison across objectives.
#include <string>
#include <vector>

namespace mtmap::analysis {

void build_report(const std::vector<std::string>& run_dirs, const std::string& out_html, const std::string& title);
std::string base64(const std::string& bytes);

}  // namespace mtmap::analysis
