// `mtmap analyze-report RUN...`: one self-contained HTML report from analysed run folders; with
// several runs (an α sweep, seeds, objectives) it adds the cross-run comparison panels.
#include <fmt/format.h>

#include <memory>

#include "analysis/report.h"
#include "tools/cli/commands.h"

namespace mtmap::cli {

void add_analyze_report_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> runs;
    std::string out = "report.html", title = "mtmap: MT direction tuning and maps";
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("analyze-report", "HTML report (and cross-run comparison) from analysed run folders");
  cmd->add_option("runs", args->runs, "Run folders written by analyze-map / analyze-responses")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--out", args->out, "Report file")->capture_default_str();
  cmd->add_option("--title", args->title, "Report title");
  cmd->callback([args] {
    analysis::build_report(args->runs, args->out, args->title);
    fmt::print("report of {} run(s): {}\n", args->runs.size(), args->out);
  });
}

}  // namespace mtmap::cli
