#pragma once
// The start of every schedule (docs/model.md §1 and §2): a freshly initialised model and the
// retinotopic initial sheet of every block the preprint's table covers. Untrained models are also
// the baseline of every analysis. `mtmap init-checkpoint` writes one as a checkpoint.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cortex/sheet.h"
#include "models/checkpoint.h"
#include "models/model_spec.h"
#include "models/resnet3d.h"

namespace mtmap::training {

struct InitialModel {
  std::shared_ptr<models::ResNet3d> net;
  std::vector<models::BlockShape> blocks;     // every block's output shape, in order
  std::vector<models::SheetPositions> sheets;  // one per block the preprint's sheet table covers
  std::vector<std::string> without_sheet;     // the blocks it does not cover
  int64_t parameter_count() const;
};

// Weights and sheet positions both drawn from one generator seeded with `seed`, in that order.
// `sheets`: the blocks that get a sheet (by default the preprint's table), jittered by `jitter_mm`.
// Throws, naming the spec's origin, when the input does not fit the network.
InitialModel init_model(const models::ModelSpec& spec, uint64_t seed,
                        const std::vector<cortex::SheetSpec>& sheets = cortex::preprint_sheets(),
                        double jitter_mm = 0.3);

// init_model, saved as a checkpoint at `path` (its folder created); the seed is recorded in the
// metadata ("mtmap.init_seed").
InitialModel write_initial_checkpoint(const std::string& path, const models::ModelSpec& spec, uint64_t seed);

}  // namespace mtmap::training
