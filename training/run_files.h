#pragma once
// The files of a training run folder (docs/training.md):
//   config.json                 the resolved config (every default filled in)
//   metrics.jsonl               one JSON line per step
//   checkpoints/step-NNNNNNNN.safetensors   the last K checkpoints (models/checkpoint.h + "train." state)
//   stages/pretrain.safetensors, stages/sheets.safetensors   the staged schedule's intermediate outputs
//   model.safetensors           the trained query encoder and its sheets, at the end
// Every file is written to a temporary name and renamed, so a killed run never leaves a
// half-written file under a real name; a temporary left behind is never read.
#include <cstdint>
#include <string>
#include <vector>

#include "formats/atomic_file.h"

namespace mtmap::training {

std::string checkpoint_path(const std::string& run_dir, int64_t step);
// Complete checkpoints of the run, oldest first: (step, path).
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& run_dir);
// Deletes all but the newest `keep` checkpoints, and temporaries a killed run left behind.
void prune_checkpoints(const std::string& run_dir, int keep);

// Writes a file atomically (temporary file, then rename): formats/atomic_file.h.
using formats::write_file_atomic;
// Keeps the lines of a metrics file whose "step" is ≤ `last_step` (a resumed run rewrites what
// came after its checkpoint); a missing file is fine. Atomic.
void truncate_metrics(const std::string& path, int64_t last_step);

}  // namespace mtmap::training
