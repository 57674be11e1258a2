// `mtmap analyze-report RUN...`: one self-contained HTML report from analysed run folders; with
// several runs (an α sweep, seeds, objectives) it adds the cross-run comparison panels. With
// --study-out DIR: the study report instead (DIR/report.html with the direction maps side by side,
// DIR/figures/ with every comparison panel as a file, DIR/study_summary.json).
#include <fmt/format.h>

#include <memory>

#include "analysis/report.h"
#include "tools/cli/commands.h"

namespace mtmap::cli {

void add_analyze_report_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> runs;
    std::string out = "report.html", title = "mtmap: MT direction tuning and maps", study_out;
    std::vector<std::string> notes;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("analyze-report", "HTML report (and cross-run comparison) from analysed run folders");
  cmd->add_option("runs", args->runs, "Run folders written by analyze-map / analyze-responses")
      ->required()
      ->check(CLI::ExistingDirectory);
  CLI::Option* out = cmd->add_option("--out", args->out, "Report file")->capture_default_str();
  cmd->add_option("--title", args->title, "Report title");
  CLI::Option* study =
      cmd->add_option("--study-out", args->study_out,
                      "Study report folder instead: report.html, figures/ (each panel and map as a file), "
                      "study_summary.json")
          ->excludes(out);
  cmd->add_option("--note", args->notes, "A plain-text paragraph shown first in the study report (repeatable)")
      ->needs(study);
  cmd->callback([args] {
    if (!args->study_out.empty()) {
      const auto s = analysis::build_study_report({args->runs, args->study_out, args->title, args->notes});
      fmt::print("study report of {} run(s): {}; {} figure file(s); summary {}\n", args->runs.size(), s.html,
                 s.figures.size(), s.summary_json);
      return;
    }
    analysis::build_report(args->runs, args->out, args->title);
    fmt::print("report of {} run(s): {}\n", args->runs.size(), args->out);
  });
}

}  // namespace mtmap::cli
