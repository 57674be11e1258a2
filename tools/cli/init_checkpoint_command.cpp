// `mtmap init-checkpoint`: a freshly initialised model (docs/model.md §1 init, seeded) and the
// retinotopic initial sheet of every block the preprint's table covers (docs/model.md §2), saved as
// a checkpoint `mtmap analyze` and training read. Untrained models are the baseline of every
// analysis (and what the tests analyse).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>

#include "analysis/config.h"
#include "cortex/sheet.h"
#include "models/checkpoint.h"
#include "tools/cli/commands.h"

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
      const analysis::AnalysisConfig c = analysis::load_config(args->config);
      if (!c.model.is_null()) model = c.model;
      origin = args->config + ".model";
    }
    if (args->width) model["width"] = *args->width;
    if (args->frames) model["frames"] = *args->frames;
    if (args->size) model["size"] = *args->size;
    const models::ModelSpec spec = models::model_spec_from_json(model, origin);
    const std::vector<models::BlockShape> shapes = models::block_shapes(spec);  // also checks the input fits

    Generator gen(args->seed);
    models::ResNet3d net(spec.net, gen);
    std::vector<models::SheetPositions> sheets;
    std::vector<std::string> without;
    const std::vector<cortex::SheetSpec> table = cortex::preprint_sheets();
    for (const models::BlockShape& b : shapes) {
      auto it = std::find_if(table.begin(), table.end(), [&](const cortex::SheetSpec& s) { return s.block == b.name; });
      if (it == table.end()) {
        without.push_back(b.name);
        continue;
      }
      sheets.push_back({b.name, it->side_mm, it->neighbourhood_mm,
                        cortex::retinotopic_positions(b.channels, b.height, b.width, it->side_mm, gen)});
    }
    const std::filesystem::path parent = std::filesystem::path(args->out).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      MTMAP_CHECK(!ec, "init-checkpoint: cannot create the folder {}: {}", parent.string(), ec.message());
    }
    models::save_checkpoint(args->out, net, spec, sheets, {{"mtmap.init_seed", std::to_string(args->seed)}});
    int64_t params = 0;
    for (const Tensor& p : net.parameters()) params += p.numel();
    fmt::print("model: {} ({} parameters)\n", models::model_spec_to_json(spec).dump(), params);
    for (const models::BlockShape& b : shapes)
      fmt::print("  {}: {}×{}×{}×{} → {} units{}\n", b.name, b.channels, b.frames, b.height, b.width, b.units(),
                 std::find(without.begin(), without.end(), b.name) == without.end() ? ""
                                                                                    : " (no sheet: not in the "
                                                                                      "preprint's table)");
    fmt::print("wrote {}\n", args->out);
  });
}

}  // namespace mtmap::cli
