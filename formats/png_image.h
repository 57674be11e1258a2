#pragma once
// An RGB raster with the few drawing primitives the map figures need, PNG in and out (libpng).
#include <cstdint>
#include <string>
#include <vector>

namespace mtmap::formats {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

class Image {
 public:
  Image(int width, int height, Rgb fill = {255, 255, 255});
  int width() const { return w_; }
  int height() const { return h_; }
  void set(int x, int y, Rgb c);  // ignores pixels outside the image
  Rgb get(int x, int y) const;
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c);  // inclusive corners
  void fill_disc(double cx, double cy, double r, Rgb c);
  // Digits, '.', '-', '+', ' ', 'm' and '°' in a 3×5 pixel font scaled by `scale`.
  void text(int x, int y, const std::string& s, int scale, Rgb c);
  const std::vector<uint8_t>& pixels() const { return px_; }  // (h, w, 3)

 private:
  int w_, h_;
  std::vector<uint8_t> px_;
};

void write_png(const std::string& path, const Image& img);
Image read_png(const std::string& path);  // 8-bit RGB or RGBA (alpha dropped)

// A 360° cyclic colour map (hue circle at reduced saturation); `t` in turns, any real value.
Rgb cyclic_colour(double t);

}  // namespace mtmap::formats
