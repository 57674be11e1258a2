#pragma once
// `mtmap run`: a study (study/study_config.h) from video to report, through its stage graph
// (study/stage_graph.h). The study folder:
//   experiment.json   the file as understood, every default filled in
//   study.json        the runs, their stages, and what this call ran or reused
//   stages/<kind>-<key>/   one folder per stage (a training run folder, or an analysis folder);
//                     stage.json in it marks it finished
//   runs/<label>/     per run: links to its stages (train, analysis)
//   report.html, figures/, study_summary.json   the study report (analysis/report.h)
// A stage that was interrupted is resumed (training, from its newest checkpoint) or redone (a
// stage without a checkpoint, an analysis); finished stages are never run again.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/core/progress.h"
#include "engine/dist/communicator.h"
#include "study/stage_graph.h"
#include "study/study_config.h"

namespace mtmap {
class Progress;
}

namespace mtmap::study {

struct StudyOptions {
  std::string out_dir;
  Progress* progress = nullptr;  // null: a ProgressLine on `log`
  std::FILE* log = stderr;
  int live = -1;                 // as training::TrainOptions::live
  int threads = 0;               // CPU threads for every stage (0: the config's)
  int64_t stop_after_steps = 0;  // tests: interrupt the first training stage that runs after this many steps
  // Data parallel (docs/distributed.md): every rank of the job calls run_study alike; the training
  // stages run on all ranks (training::TrainOptions::world), the rest (the folder, its lock and
  // markers, the analyses, the report) on rank 0 alone. Null: one process.
  dist::Communicator* world = nullptr;
  int local_rank = 0;
};

struct StageOutcome {
  std::string name;    // stages/<name>
  std::string status;  // "ran", "reused", "resumed", "interrupted"
  double seconds = 0;
};

struct StudySummary {
  std::vector<StageOutcome> stages;  // in the graph's order
  int ran = 0, reused = 0;
  bool complete = false;             // every stage finished
  std::string report;                // report.html when written, else ""
};

// Whether `stage` of the study in `out_dir` is finished (its folder holds the stage.json marker).
bool stage_finished(const std::string& out_dir, const Stage& stage);

// Checks the devices the study asks for before anything is written; throws mtmap::Error.
void check_study_devices(const Study& study);

StudySummary run_study(const Study& study, const StudyOptions& options);

}  // namespace mtmap::study
