#pragma once
// Faults injected on purpose, for the reliability tests (docs/reliability.md): read once from the
// environment, so a test drives an unmodified `mtmap` binary. Unset (every normal run), each
// query is one load of a cached flag.
//
//   MTMAP_FAULT_NONFINITE=<site>@<step>[,<site>@<step>…]
//       the value at <site> (a model's block output: "stem", "layer3.0", …) gets one NaN at training
//       step <step> (1-based, as the metrics number steps). The trainer says which step it is in.
//
// (The crash tests' MTMAP_FAULT_KILL_IN_SAVE lives beside the writer it kills: formats/safetensors.cpp.)
#include <cstdint>
#include <string>

namespace mtmap::fault {

// The step the process is in (the trainer sets it before each step; 0 outside training).
void set_step(int64_t step);
// True when MTMAP_FAULT_NONFINITE asks for a non-finite value at `site` in the current step.
bool nonfinite_requested(const std::string& site);

}  // namespace mtmap::fault
