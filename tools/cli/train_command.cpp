// `mtmap train --config experiment.json --out DIR [--resume]`: training::train over an experiment
// file's training sections. The config is read and validated before anything is written: a bad
// config is one error line naming the key and what is allowed, exit status 2.
#include <fmt/format.h>

#include <memory>

#include "engine/core/error.h"
#include "tools/cli/commands.h"
#include "study/experiment_file.h"
#include "training/moco.h"
#include "training/trainer.h"

namespace mtmap::cli {

void add_train_command(CLI::App& app) {
  struct Args {
    std::string config, out;
    bool resume = false;
    std::string progress = "auto";
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("train", "Train the model of an experiment (MoCo v2 with the spatial loss)");
  cmd->add_option("--config", args->config, "Experiment JSON (its model, data, sheets and training sections)")
      ->required();
  cmd->add_option("--out", args->out, "Run folder: config.json, metrics.jsonl, checkpoints/, model.safetensors")
      ->required();
  cmd->add_flag("--resume", args->resume, "Continue the run in --out from its newest checkpoint");
  cmd->add_option("--progress", args->progress, "Progress display: auto (a live bar on a terminal), bar or lines")
      ->check(CLI::IsMember({"auto", "bar", "lines"}))
      ->capture_default_str();
  cmd->callback([args] {
    training::TrainConfig config;
    try {
      const study::Experiment e = study::read_experiment(args->config);
      config = training::train_config_from_json(e.train, args->config);
    } catch (const Error& e) {
      fmt::print(stderr, "mtmap: config error: {}\n", e.what());
      throw CLI::RuntimeError(2);
    }
    training::TrainOptions o;
    o.out_dir = args->out;
    o.resume = args->resume;
    o.live = args->progress == "auto" ? -1 : args->progress == "bar" ? 1 : 0;
    o.world = job().world.get();  // under mpirun or srun: data parallel over the job's ranks
    if (config.training.threads == 0) config.training.threads = rank_threads();  // not in the config's hash
    o.local_rank = job().launch.local_rank;
    const training::TrainSummary s = training::train(config, o);
    if (job().launch.rank == 0)
      fmt::print("trained {} steps into {}{}\n", s.last_step, args->out,
                 job().world ? fmt::format(" on {} ranks", job().world->size()) : "");
  });
}

}  // namespace mtmap::cli
