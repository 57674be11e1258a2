#pragma once
// Rendered direction maps (docs/measurements.md §4 "Render"; preprint Figs. 4A and 6): hue =
// preferred direction on a 360° cyclic colour map, optional brightness = |z|, pinwheel centres
// (white = +, black = −), a scale bar in mm with its length written beside it, and a colour-wheel
// key.
#include "analysis/config.h"
#include "analysis/direction_map.h"
#include "analysis/pinwheels.h"
#include "formats/png_image.h"

namespace mtmap::analysis {

struct MapView {
  double x0_mm, y0_mm, side_x_mm, side_y_mm;  // region of the sheet shown
};

MapView full_view(const FieldGrid& g);
// A square of `side_mm` at the centre of the grid (clipped to the grid).
MapView centre_view(const FieldGrid& g, double side_mm);

formats::Image render_direction_map(const FieldGrid& g, const PinwheelResult& p, const MapView& view, double period_deg,
                           const FigureConfig& cfg);
formats::Image render_magnitude_map(const FieldGrid& g, const MapView& view, const FigureConfig& cfg);

}  // namespace mtmap::analysis
