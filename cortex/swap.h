#pragma once
// Swap optimisation of a layer's positions (docs/model.md §3): units trade places when that makes their
// response correlations follow 1/(d + 1) better within a window.
#include <cstdint>
#include <functional>

#include "engine/tensor/tensor.h"

namespace mtmap::cortex {

// responses (S, U): U units' responses to S stimuli → (U, U) f32 Pearson correlations (NaN → 0:
// a unit with constant responses correlates 0 with everything, itself included).
Tensor response_correlation(const Tensor& responses);

struct SwapProgress {
  int64_t windows_done = 0, windows_total = 0;
  int64_t attempts = 0, accepted = 0;
  int64_t windows_skipped = 0;  // fewer than min_units inside
  double seconds = 0;
};

struct SwapOptions {
  double width_mm = 0;       // window side: the layer's neighbourhood width
  int64_t windows = 100000;  // TDANN: 100,000 windows × 500 attempts at full scale
  int64_t attempts_per_window = 500;
  int64_t min_units = 5;    // skip windows with fewer units
  int64_t max_units = 500;  // subsample larger windows to this many
  uint64_t seed = 0;
  int threads = 0;             // 0: OpenMP's default
  int64_t progress_every = 0;  // windows between progress calls (0: none)
  std::function<void(const SwapProgress&)> progress;
};

struct SwapResult {
  Tensor positions;  // (U, 2) f64: the input positions permuted among units
  SwapProgress stats;
};

// positions (U, 2), corr (U, U) (f32 or f64, CPU). Windows are drawn one by one (centres uniform in
// [min + r, max − r]²), then run in rounds of windows whose squares do not overlap, one per thread:
// units never leave their window's square, so the rounds are independent and the result is the same
// for any thread count. In a window: attempts_per_window times pick two units a ≠ b, local loss
// = Σ over {a, b} of (1 − Pearson over the window's other units of (corr row, 1/(d + 1) row))/2;
// swap their positions, keep the swap only if the local loss strictly dropped.
SwapResult swap_optimise(const Tensor& positions, const Tensor& corr, const SwapOptions& o);

// The spatial loss of a whole layer (relative form, every pair): (1 − Pearson(lower(corr),
// lower(1/(d + 1))))/2. Used to follow an optimisation; O(U²).
double layer_spatial_loss(const Tensor& positions, const Tensor& corr);

}  // namespace mtmap::cortex
