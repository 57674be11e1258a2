// Pixels sample z bilinearly and take its angle, so the rendering never interpolates angles.
// The sheet's y axis points up: image rows are flipped.
#include "analysis/map_figures.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "engine/core/error.h"

namespace mtmap::analysis {

// The file formats this file writes or reads (formats/).
using formats::Image;
using formats::Rgb;
using formats::cyclic_colour;

namespace {

std::complex<double> sample(const FieldGrid& g, double x, double y, double* cover) {
  const double fx = std::clamp((x - g.x0) / g.h, 0.0, g.nx - 1.0), fy = std::clamp((y - g.y0) / g.h, 0.0, g.ny - 1.0);
  const int ix = std::min(static_cast<int>(fx), g.nx - 2 < 0 ? 0 : g.nx - 2);
  const int iy = std::min(static_cast<int>(fy), g.ny - 2 < 0 ? 0 : g.ny - 2);
  const int jx = std::min(ix + 1, g.nx - 1), jy = std::min(iy + 1, g.ny - 1);
  const double u = fx - ix, v = fy - iy;
  const double w00 = (1 - u) * (1 - v), w10 = u * (1 - v), w01 = (1 - u) * v, w11 = u * v;
  *cover = std::min({g.coverage[g.at(ix, iy)], g.coverage[g.at(jx, iy)], g.coverage[g.at(ix, jy)],
                     g.coverage[g.at(jx, jy)]});
  return w00 * g.z[g.at(ix, iy)] + w10 * g.z[g.at(jx, iy)] + w01 * g.z[g.at(ix, jy)] + w11 * g.z[g.at(jx, jy)];
}

struct Frame {
  int w, h;
  double px_per_mm;
};

Frame frame_for(const MapView& v, const FigureConfig& cfg) {
  const double longest = std::max(v.side_x_mm, v.side_y_mm);
  MTMAP_CHECK(longest > 0, "map view of size {} × {} mm", v.side_x_mm, v.side_y_mm);
  const double ppm = cfg.map_pixels / longest;
  return {std::max(1, static_cast<int>(std::lround(v.side_x_mm * ppm))),
          std::max(1, static_cast<int>(std::lround(v.side_y_mm * ppm))), ppm};
}

void scale_bar(Image& img, const Frame& f, double bar_mm) {
  const int len = static_cast<int>(std::lround(bar_mm * f.px_per_mm));
  const int x0 = 12, y1 = f.h - 12;
  img.fill_rect(x0 - 2, y1 - 7, x0 + len + 1, y1 + 2, {0, 0, 0});
  img.fill_rect(x0, y1 - 5, x0 + len - 1, y1, {255, 255, 255});
  const std::string label = fmt::format("{:g} mm", bar_mm);
  const int scale = 2;
  img.fill_rect(x0 - 2, y1 - 23, x0 + int(label.size()) * 4 * scale + 1, y1 - 10, {0, 0, 0});
  img.text(x0, y1 - 21, label, scale, {255, 255, 255});
}

void colour_key(Image& img, const Frame& f, double period_deg) {
  const double r_out = std::min(28.0, f.w / 8.0), r_in = r_out * 0.55;
  const double cx = f.w - r_out - 8, cy = r_out + 8;
  for (int y = static_cast<int>(cy - r_out); y <= cy + r_out; ++y)
    for (int x = static_cast<int>(cx - r_out); x <= cx + r_out; ++x) {
      const double dx = x + 0.5 - cx, dy = cy - (y + 0.5), r = std::hypot(dx, dy);
      if (r > r_out || r < r_in) continue;
      // The key shows the map's own convention: angle θ on the sheet, colour of θ.
      const double theta = std::atan2(dy, dx) / (2 * std::numbers::pi);
      img.set(x, y, cyclic_colour(period_deg == 360.0 ? theta : 2 * theta));
    }
}

}  // namespace

MapView full_view(const FieldGrid& g) { return {g.x0, g.y0, (g.nx - 1) * g.h, (g.ny - 1) * g.h}; }

MapView centre_view(const FieldGrid& g, double side_mm) {
  const MapView f = full_view(g);
  const double sx = std::min(side_mm, f.side_x_mm), sy = std::min(side_mm, f.side_y_mm);
  return {f.x0_mm + (f.side_x_mm - sx) / 2, f.y0_mm + (f.side_y_mm - sy) / 2, sx, sy};
}

Image render_direction_map(const FieldGrid& g, const PinwheelResult& p, const MapView& v, double period_deg,
                           const FigureConfig& cfg) {
  const Frame f = frame_for(v, cfg);
  Image img(f.w, f.h, {128, 128, 128});
  double zmax = 0;
  for (auto z : g.z) zmax = std::max(zmax, std::abs(z));
  for (int py = 0; py < f.h; ++py)
    for (int px = 0; px < f.w; ++px) {
      const double x = v.x0_mm + (px + 0.5) / f.px_per_mm, y = v.y0_mm + v.side_y_mm - (py + 0.5) / f.px_per_mm;
      double cover = 0;
      const std::complex<double> z = sample(g, x, y, &cover);
      if (cover <= 0 || std::abs(z) == 0) continue;
      Rgb c = cyclic_colour(field_angle_deg(z, period_deg) / period_deg);
      if (cfg.brightness_from_magnitude && zmax > 0) {
        const double b = std::abs(z) / zmax;
        c = {uint8_t(c.r * b), uint8_t(c.g * b), uint8_t(c.b * b)};
      }
      img.set(px, py, c);
    }
  const double r = std::clamp(f.px_per_mm * g.h * 0.5, 2.5, 5.0);  // visible, never hiding the map
  for (const Pinwheel& w : p.pinwheels) {
    const double px = (w.x_mm - v.x0_mm) * f.px_per_mm, py = (v.y0_mm + v.side_y_mm - w.y_mm) * f.px_per_mm;
    if (px < 0 || py < 0 || px >= f.w || py >= f.h) continue;
    const bool positive = w.charge > 0;
    img.fill_disc(px, py, r + 1.5, positive ? Rgb{0, 0, 0} : Rgb{255, 255, 255});
    img.fill_disc(px, py, r, positive ? Rgb{255, 255, 255} : Rgb{0, 0, 0});
  }
  scale_bar(img, f, cfg.scale_bar_mm);
  colour_key(img, f, period_deg);
  return img;
}

Image render_magnitude_map(const FieldGrid& g, const MapView& v, const FigureConfig& cfg) {
  const Frame f = frame_for(v, cfg);
  Image img(f.w, f.h, {255, 255, 255});
  double zmax = 0;
  for (auto z : g.z) zmax = std::max(zmax, std::abs(z));
  for (int py = 0; py < f.h; ++py)
    for (int px = 0; px < f.w; ++px) {
      const double x = v.x0_mm + (px + 0.5) / f.px_per_mm, y = v.y0_mm + v.side_y_mm - (py + 0.5) / f.px_per_mm;
      double cover = 0;
      const double m = std::abs(sample(g, x, y, &cover));
      const auto level = static_cast<uint8_t>(std::lround(255 * (zmax > 0 ? m / zmax : 0)));
      img.set(px, py, cover > 0 ? Rgb{level, level, level} : Rgb{128, 0, 0});
    }
  scale_bar(img, f, cfg.scale_bar_mm);
  return img;
}

}  // namespace mtmap::analysis
