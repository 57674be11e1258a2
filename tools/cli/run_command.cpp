// `mtmap run experiment.json [--out DIR]`: the whole study of an experiment file, from video to
// the study report (study/study_runner.h). The file is read, expanded and checked (devices
// included) before anything is written: a bad file is one error line naming the key and what is
// allowed, exit status 2. `--plan` shows the runs and stages and what is finished, and writes nothing;
// it needs no device (a GPU experiment is planned anywhere, with a note where it cannot run).
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "engine/core/error.h"
#include "study/stage_graph.h"
#include "study/study_config.h"
#include "study/study_runner.h"
#include "tools/cli/commands.h"

namespace mtmap::cli {
namespace {

void print_plan(const study::Study& s, const std::string& out) {
  const study::StageGraph g = study::plan_stages(s);
  fmt::print("study {}: {} runs, {} stages, in {}\n", s.spec.name, s.runs.size(), g.stages.size(), out);
  for (size_t r = 0; r < s.runs.size(); ++r) {
    fmt::print("  run {}:", s.runs[r].label);
    for (int i : g.run_stages[r]) fmt::print(" {}", g.stages[size_t(i)].name);
    fmt::print("\n");
  }
  for (const study::Stage& st : g.stages) {
    const bool done = study::stage_finished(out, st);
    fmt::print("  stage {} ({} run{}): {}\n", st.name, st.runs.size(), st.runs.size() == 1 ? "" : "s",
               done ? "finished" : "to run");
  }
}

}  // namespace

void add_run_command(CLI::App& app) {
  struct Args {
    std::string experiment, out, progress = "auto";
    bool plan = false;
    int threads = 0;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run an experiment's whole study: training of every run (α sweep, objectives, seeds), the analysis, "
             "the study report; finished stages are reused");
  cmd->add_option("experiment", args->experiment, "Experiment JSON (docs/experiments.md)")->required();
  cmd->add_option("--out", args->out, "Study folder (default: runs/<study.name>)");
  cmd->add_flag("--plan", args->plan, "Show the runs and stages and which are finished; run nothing, write nothing");
  cmd->add_option("--threads", args->threads, "CPU threads for every stage (default: the config's, 0 = every core)");
  cmd->add_option("--progress", args->progress, "Progress display: auto (a live bar on a terminal), bar or lines")
      ->check(CLI::IsMember({"auto", "bar", "lines"}))
      ->capture_default_str();
  cmd->callback([args] {
    study::Study s;
    std::string device_problem;  // a plan is shown without the devices; a run needs them
    try {
      s = study::read_study(args->experiment);
      try {
        study::check_study_devices(s);
      } catch (const Error& e) {
        if (!args->plan) throw;
        device_problem = e.what();
      }
    } catch (const Error& e) {
      fmt::print(stderr, "mtmap: config error: {}\n", e.what());
      throw CLI::RuntimeError(2);
    }
    const std::string out = args->out.empty() ? (std::filesystem::path("runs") / s.spec.name).string() : args->out;
    if (args->plan) {
      if (job().launch.rank == 0) {
        print_plan(s, out);
        if (!device_problem.empty()) fmt::print("note: it cannot run on this machine: {}\n", device_problem);
      }
      return;
    }
    study::StudyOptions o;
    o.out_dir = out;
    o.threads = args->threads;
    o.live = args->progress == "auto" ? -1 : args->progress == "bar" ? 1 : 0;
    o.world = job().world.get();  // under mpirun or srun: the training stages run data parallel
    if (o.threads == 0) o.threads = rank_threads();
    o.local_rank = job().launch.local_rank;
    const study::StudySummary sum = study::run_study(s, o);
    if (job().launch.rank != 0) return;
    // The runner's last progress line says what ran; stdout gets where the results are.
    fmt::print("{}\n", sum.report.empty() ? "study folder: " + out : "report: " + sum.report);
  });
}

}  // namespace mtmap::cli
