// `mtmap init-checkpoint`: training::write_initial_checkpoint (a freshly initialised model and the
// retinotopic sheets of its blocks) from a config's model section and the command line, saved as a
// checkpoint `mtmap analyze` and training read.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>

#include "study/experiment_file.h"
#include "tools/cli/commands.h"
#include "training/initial_model.h"

namespace mtmap::cli {

void add_init_checkpoint_command(CLI::App& app) {
  struct Args {
    std::string config, out;
    uint64_t seed = 0;
    std::optional<int64_t> width, frames, size;  // given: checked with the rest of the spec
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("init-checkpoint",
                                     "Write a randomly initialised model and its retinotopic sheet as a checkpoint");
  cmd->add_option("--out", args->out, "Checkpoint file to write (.safetensors)")->required();
  cmd->add_option("--config", args->config,
                  "Config JSON whose \"model\" section describes the model (defaults: full-scale r3d-18)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--seed", args->seed, "Seed of the weights and the sheet")->capture_default_str();
  cmd->add_option("--width", args->width, "Override model.width");
  cmd->add_option("--frames", args->frames, "Override model.frames");
  cmd->add_option("--size", args->size, "Override model.size");
  cmd->add_flag("--force", args->force,
                "Replace an existing file (a trained checkpoint is never replaced by accident)");
  cmd->callback([args] {
    MTMAP_CHECK(args->force || !std::filesystem::exists(args->out),
                "init-checkpoint: {} exists; give --force to replace it", args->out);
    nlohmann::json model = nlohmann::json::object();
    std::string origin = "model";
    if (!args->config.empty()) {
      const study::Experiment e = study::read_experiment(args->config);
      if (e.train.contains("model")) model = e.train["model"];
      origin = args->config + ".model";
    }
    if (args->width) model["width"] = *args->width;
    if (args->frames) model["frames"] = *args->frames;
    if (args->size) model["size"] = *args->size;
    const models::ModelSpec spec = models::model_spec_from_json(model, origin);
    const training::InitialModel m = training::write_initial_checkpoint(args->out, spec, args->seed);
    fmt::print("model: {} ({} parameters)\n", models::model_spec_to_json(spec).dump(), m.parameter_count());
    for (const models::BlockShape& b : m.blocks)
      fmt::print("  {}: {}×{}×{}×{} → {} units{}\n", b.name, b.channels, b.frames, b.height, b.width, b.units(),
                 std::find(m.without_sheet.begin(), m.without_sheet.end(), b.name) == m.without_sheet.end()
                     ? ""
                     : " (no sheet: not in the preprint's table)");
    fmt::print("wrote {}\n", args->out);
  });
}

}  // namespace mtmap::cli
