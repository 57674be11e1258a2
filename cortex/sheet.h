#pragma once
// The cortical sheet of each block (docs/model.md §2, §4): retinotopic initial positions, the
// neighbourhood windows the spatial loss draws from, and their safetensors files.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/random/generator.h"
#include "engine/tensor/tensor.h"

namespace mtmap::cortex {

// One block's sheet: side S of the square sheet and the neighbourhood (window) width, in mm.
struct SheetSpec {
  std::string block;
  double side_mm = 0;
  double neighbourhood_mm = 0;
};

// The preprint's values (docs/model.md §2 table) for layer1.0 … layer4.1.
std::vector<SheetSpec> preprint_sheets();
// The entry of `sheets` for `block` (throws naming the block and the known ones).
const SheetSpec& find_sheet(const std::vector<SheetSpec>& sheets, const std::string& block);

struct RetinotopyOptions {
  double jitter_mm = 0.3;      // Gaussian σ added to every coordinate
  double overlap_scale = 0.1;  // ov = min(overlap_scale · reference / N, 1)
  double overlap_reference = 56;
};

// Fraction ov by which neighbouring hypercolumns overlap, for an N-wide anchor grid.
double hypercolumn_overlap(int64_t n, const RetinotopyOptions& o = {});
// Hypercolumn width 2r = S / (N − N·ov + ov).
double hypercolumn_width(int64_t n, double side_mm, const RetinotopyOptions& o = {});

// Positions (C·H·W, 2) f64 in mm, row u = c·H·W + h·W + w, columns (x, y): x follows w, y follows h.
// Anchors on an H×W grid (each axis with its own N: linspace(r, S − r, N)); each unit gets an
// independent uniform offset within its anchor's hypercolumn square; then Gaussian jitter, each
// axis rescaled so its extent is unchanged and shifted back to its original minimum.
Tensor retinotopic_positions(int64_t C, int64_t H, int64_t W, double side_mm, Generator& gen,
                             const RetinotopyOptions& o = {});

struct NeighbourhoodOptions {
  int64_t windows = 20000;  // windows drawn
  double percentile = 5;    // n = this percentile of member counts …
  int64_t min_units = 25;   // … but at least this
  int64_t max_units = 500;  // M = min(n, max_units)
};

// Windows (P, M) i64 of unit indices (each row sorted): squares of side width_mm, centres uniform
// in [min + r, max − r]², members inside (edges included); windows with fewer than M members
// dropped, the rest subsampled to M without replacement.
Tensor neighbourhoods(const Tensor& positions, double width_mm, Generator& gen, const NeighbourhoodOptions& o = {});

// One window for a training step: a row of neighbourhoods (P, M), drawn uniformly → (M) i64.
Tensor sample_window(const Tensor& neighbourhoods, Generator& gen);

// Unit indices inside the square of side width centred at (cx, cy), edges included (sorted).
std::vector<int64_t> units_in_window(const Tensor& positions, double cx, double cy, double width_mm);

// A block's final sheet: positions (U, 2) f64 and neighbourhoods (P, M) i64.
struct LayerSheet {
  SheetSpec spec;
  Tensor positions;
  Tensor neighbourhoods;
};

// One safetensors file: tensors "<block>.positions" and "<block>.neighbourhoods", metadata
// "<block>.side_mm", "<block>.neighbourhood_mm" and "blocks" (comma-separated, in order).
void save_sheets(const std::string& path, const std::vector<LayerSheet>& sheets);
std::vector<LayerSheet> load_sheets(const std::string& path);

}  // namespace mtmap::cortex
