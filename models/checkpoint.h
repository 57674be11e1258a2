#pragma once
// A model checkpoint: one safetensors file holding
//   - the model state under torchvision's names (stem.0.weight, layer1.0.conv1.0.weight, …), so
//     PyTorch loads it after dropping the sheet tensors (prefix "sheet.");
//   - optionally the cortical sheet of some blocks: tensors "sheet.<block>.positions" (U, 2) f64
//     in mm, u = c·H·W + h·W + w (docs/model.md §2), metadata "sheet.<block>.side_mm" and
//     "sheet.<block>.neighbourhood_mm";
//   - metadata "mtmap.format" (kCheckpointFormat) and "mtmap.model" (the ModelSpec as JSON);
//   - optionally what training needs to continue exactly (training/train_state.h): tensors whose
//     names start with "train." (the key encoder, optimiser state, queue), which load_model skips.
// A file without "mtmap.model" (e.g. written from a PyTorch state dict) is still a checkpoint;
// its architecture must then come from elsewhere (a config's `model` section).
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/safetensors.h"
#include "models/model_spec.h"
#include "models/resnet3d.h"

namespace mtmap::models {

inline constexpr const char* kCheckpointFormat = "mtmap-checkpoint-1";
inline constexpr const char* kTrainingStatePrefix = "train.";

// One block's unit positions on its sheet (the neighbourhood windows are derived data and are
// recomputed from these by cortex::neighbourhoods when training resumes).
struct SheetPositions {
  std::string block;
  double side_mm = 0, neighbourhood_mm = 0;
  Tensor positions;  // (U, 2) f64, columns (x, y) in mm
};

void save_checkpoint(const std::string& path, const ResNet3d& net, const ModelSpec& spec,
                     const std::vector<SheetPositions>& sheets,
                     const std::map<std::string, std::string>& extra_metadata = {},
                     const std::vector<std::pair<std::string, Tensor>>& training_state = {});

struct Checkpoint {
  std::string path;
  formats::SafetensorsFile file;
  std::optional<ModelSpec> spec;  // from "mtmap.model"; empty for a file without it
  std::vector<SheetPositions> sheets;
  const SheetPositions* sheet(const std::string& block) const;  // nullptr when absent
};

// Reads and validates the file (a missing or corrupt file is an error naming it).
Checkpoint read_checkpoint(const std::string& path);
// The checkpoint in a safetensors file already read (`path` names it in messages): what
// read_checkpoint does after reading, also what the fuzz target (fuzz/fuzz_safetensors.cpp) runs.
Checkpoint checkpoint_from_file(formats::SafetensorsFile file, const std::string& path);

// The sheet positions of `block` from any safetensors file: a checkpoint ("sheet.<block>.positions")
// or a sheet file of cortex::save_sheets ("<block>.positions"). Errors name the file, the block and
// the blocks the file does have.
SheetPositions read_sheet_positions(const std::string& path, const std::string& block);

// Builds the model of `spec` and copies the checkpoint's state into it: every parameter and buffer
// must be present with its shape, and every non-sheet tensor of the file must belong to the model
// (a mismatch names the tensor, both shapes and where the spec came from: `spec_origin`).
std::shared_ptr<ResNet3d> load_model(const Checkpoint& ckpt, const ModelSpec& spec, const std::string& spec_origin);

}  // namespace mtmap::models
