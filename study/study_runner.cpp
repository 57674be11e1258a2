#include "study/study_runner.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>

#include "analysis/probe/checkpoint_analysis.h"
#include "analysis/report.h"
#include "engine/core/device.h"
#include "engine/core/device_support.h"
#include "engine/core/error.h"
#include "engine/core/progress.h"
#include "formats/atomic_file.h"
#include "study/study_progress.h"
#include "training/run_files.h"
#include "training/trainer.h"

namespace mtmap::study {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kMarker = "stage.json";  // written last: its presence means "finished"

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// The newest checkpoint of a finished training stage: where the next stage starts.
std::string last_checkpoint(const fs::path& dir) {
  const auto list = training::list_checkpoints(dir.string());
  MTMAP_CHECK(!list.empty(), "{}: a finished stage without a checkpoint (the stage folder was edited?)", dir.string());
  return list.back().second;
}

std::string describe(const Stage& s) {
  const std::string runs = s.runs.size() == 1 ? s.runs[0] : fmt::format("{} runs", s.runs.size());
  return fmt::format("{} {}", stage_kind_name(s.kind), runs);
}

void link_run(const fs::path& run_dir, const std::string& name, const std::string& stage) {
  std::error_code ec;
  const fs::path link = run_dir / name;
  fs::remove(link, ec);
  fs::create_directory_symlink(fs::path("..") / ".." / "stages" / stage, link, ec);
  MTMAP_CHECK(!ec, "cannot link {} → stages/{}: {}", link.string(), stage, ec.message());
}

// One `mtmap run` per study folder at a time: two would train the same stage into the same folder.
// The lock is the kernel's (flock), so a killed process never leaves it held.
class FolderLock {
 public:
  explicit FolderLock(const fs::path& dir) {
    const std::string path = (dir / ".lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    MTMAP_CHECK(fd_ >= 0, "cannot open {}: {}", path, std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd_);
      MTMAP_CHECK(err != EWOULDBLOCK, "{} is in use by another mtmap run (wait for it, or choose another --out)",
                  dir.string());
      MTMAP_FAIL("cannot lock {}: {}", path, std::strerror(err));
    }
  }
  ~FolderLock() { ::close(fd_); }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

bool stage_finished(const std::string& out_dir, const Stage& stage) {
  std::error_code ec;
  return fs::exists(fs::path(out_dir) / "stages" / stage.name / kMarker, ec);
}

void check_study_devices(const Study& study) {
  require_device(Device::parse(study.base_train.training.device), "training.device");
  if (study.spec.analyse) require_device(Device::parse(study.base_analysis.probe.device), "probe.device");
}

StudySummary run_study(const Study& study, const StudyOptions& o) {
  MTMAP_CHECK(!o.out_dir.empty(), "mtmap run: no output folder given");
  check_study_devices(study);
  const StageGraph graph = plan_stages(study);
  const fs::path out(o.out_dir);
  std::error_code ec;
  // Under data parallel rank 0 owns the folder: it alone locks, writes and decides
  // (dist::root_decides), and tells the other ranks what it decided (they only join the training
  // stages).
  dist::Communicator* world = o.world && o.world->size() > 1 ? o.world : nullptr;
  const bool leader = !world || world->rank() == 0;
  if (world) dist::require_same(*world, "the study (its experiment file)", study.resolved().dump());
  std::unique_ptr<FolderLock> lock;
  if (leader) {
    fs::create_directories(out / "stages", ec);
    MTMAP_CHECK(!ec, "cannot create {}: {}", (out / "stages").string(), ec.message());
    lock = std::make_unique<FolderLock>(out);
    formats::write_file_atomic((out / "experiment.json").string(), study.resolved().dump(2) + "\n");
  }

  std::unique_ptr<ProgressLine> own_line;
  Progress* line = leader ? o.progress : nullptr;
  if (!line) {
    own_line = leader ? std::make_unique<ProgressLine>(o.log, study.base_train.training.progress_seconds, o.live)
                      : std::make_unique<ProgressLine>(std::function<void(const std::string&)>{}, 1.0);
    line = own_line.get();
  }
  // What was finished before this call: decided once, so the count, the cost and the loop agree.
  const std::string finished_flags = dist::root_decides(world, [&] {
    std::string flags;
    for (const Stage& s : graph.stages) flags += stage_finished(o.out_dir, s) ? '1' : '0';
    return flags;
  });
  std::vector<bool> finished_before;
  double total_cost = 0;
  int to_run = 0;
  for (size_t i = 0; i < graph.stages.size(); ++i) {
    finished_before.push_back(finished_flags[i] == '1');
    if (!finished_before.back()) total_cost += graph.stages[i].cost, ++to_run;
  }
  line->message(fmt::format("study {}: {} runs, {} stages ({} to run, {} finished before) in {}", study.spec.name,
                            study.runs.size(), graph.stages.size(), to_run, graph.stages.size() - size_t(to_run),
                            out.string()));
  StudyProgress progress(*line, total_cost);

  StudySummary summary;
  bool interrupted = false;
  int number = 0;
  for (size_t i = 0; i < graph.stages.size(); ++i) {
    const Stage& s = graph.stages[i];
    const fs::path dir = out / "stages" / s.name;
    StageOutcome outcome{s.name, "reused", 0};
    if (finished_before[i] || interrupted) {
      if (interrupted) outcome.status = "not run";
      summary.stages.push_back(outcome);
      summary.reused += outcome.status == "reused";
      continue;
    }
    const bool resumable = dist::root_decides(world, [&] {
      const bool r = s.kind != StageKind::analyse && !training::list_checkpoints(dir.string()).empty();
      if (!r) fs::remove_all(dir, ec);  // a stage killed before its first checkpoint starts over
      return std::string(r ? "1" : "0");
    }) == "1";
    outcome.status = resumable ? "resumed" : "ran";
    progress.begin_stage(++number, to_run, describe(s), s.cost);
    const auto started = Clock::now();
    const fs::path up = s.upstream >= 0 ? out / "stages" / graph.stages[size_t(s.upstream)].name : fs::path();
    bool done = true;
    try {
      if (s.kind == StageKind::analyse && !leader) {
        // Rank 0 analyses; the others go on to the next training stage and wait for it there.
      } else if (s.kind == StageKind::analyse) {
        analysis::CheckpointAnalysisOptions a;
        a.checkpoint = (up / "model.safetensors").string();
        a.out_dir = dir.string();
        a.config = s.analysis;
        a.config_origin = study.path;
        a.report = true;
        a.progress = &progress;
        analysis::analyze_checkpoint(a);
      } else {
        training::TrainConfig tc = s.train;
        if (o.threads > 0) tc.training.threads = o.threads;
        training::TrainOptions t;
        t.out_dir = dir.string();
        t.resume = resumable;
        if (!resumable && s.upstream >= 0)
          t.start_from = dist::root_decides(world, [&] { return last_checkpoint(up); });
        t.world = world;
        t.local_rank = o.local_rank;
        t.stop_at = s.kind == StageKind::pretrain ? training::StopAt::before_swap
                    : s.kind == StageKind::swap   ? training::StopAt::after_swap
                                                  : training::StopAt::end;
        t.progress = &progress;
        t.log = o.log;
        t.stop_after_steps = o.stop_after_steps;
        const training::TrainSummary ts = training::train(tc, t);
        done = !ts.final_model.empty();
      }
    } catch (const Error&) {
      line->message(fmt::format("stage {} ({}) failed; finished stages are kept, and `mtmap run` again continues "
                                "from this one",
                                s.name, describe(s)));
      throw;
    }
    outcome.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    progress.end_stage();
    if (!done) {  // stopped on request (tests): the stage stays unfinished, the rest waits
      outcome.status = "interrupted";
      interrupted = true;
      summary.stages.push_back(outcome);
      continue;
    }
    json marker = {{"stage", stage_kind_name(s.kind)}, {"key", s.key},          {"inputs", s.inputs},
                   {"runs", s.runs},                   {"seconds", outcome.seconds}, {"finished", now_utc()}};
    if (s.upstream >= 0) marker["upstream"] = graph.stages[size_t(s.upstream)].name;
    if (leader) formats::write_file_atomic((dir / kMarker).string(), marker.dump(2) + "\n");
    summary.stages.push_back(outcome);
    ++summary.ran;
  }
  summary.complete = !interrupted;
  if (!leader) {
    world->barrier();  // returns with rank 0, once it has written the study's files and report
    return summary;
  }

  // The study's own files: which stage serves which run, and per-run links into stages/.
  json runs = json::array();
  std::vector<std::string> analysed;
  for (size_t r = 0; r < study.runs.size(); ++r) {
    const RunSpec& run = study.runs[r];
    json stages = json::object();
    const fs::path run_dir = out / "runs" / run.label;
    fs::create_directories(run_dir, ec);
    for (int i : graph.run_stages[r]) {
      const Stage& s = graph.stages[size_t(i)];
      stages[stage_kind_name(s.kind)] = "stages/" + s.name;
      if (s.kind == StageKind::train) link_run(run_dir, "train", s.name);
      if (s.kind == StageKind::analyse) {
        link_run(run_dir, "analysis", s.name);
        analysed.push_back((out / "stages" / s.name).string());
      }
    }
    runs.push_back({{"label", run.label},
                    {"objective", training::objective_name(run.objective)},
                    {"alpha", run.alpha},
                    {"seed", run.seed},
                    {"stages", stages}});
  }
  json outcomes = json::array();
  for (const StageOutcome& so : summary.stages)
    outcomes.push_back({{"stage", so.name}, {"status", so.status}, {"seconds", so.seconds}});
  formats::write_file_atomic((out / "study.json").string(),
                              json{{"name", study.spec.name},
                                   {"experiment", study.path},
                                   {"complete", summary.complete},
                                   {"written", now_utc()},
                                   {"runs", runs},
                                   {"stages", outcomes}}
                                      .dump(2) +
                                  "\n");

  if (summary.complete && study.spec.analyse) {
    analysis::StudyReportOptions ro;
    ro.run_dirs = analysed;
    ro.out_dir = out.string();
    ro.title = fmt::format("mtmap study: {}", study.spec.name);
    ro.notes = study.spec.notes;
    summary.report = analysis::build_study_report(ro).html;
  }
  line->message(fmt::format("study {}: {} stages ran, {} reused{}{}", study.spec.name, summary.ran, summary.reused,
                            summary.complete ? "" : "; interrupted before the end",
                            summary.report.empty() ? "" : "; report " + summary.report));
  if (world) world->barrier();
  return summary;
}

}  // namespace mtmap::study
