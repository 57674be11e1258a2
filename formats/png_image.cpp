#include "formats/png_image.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "engine/core/error.h"
#include "formats/atomic_file.h"

namespace mtmap::formats {
namespace {

struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};

// 3×5 glyphs, one row per entry, bit 2 = left column.
const uint8_t* glyph(char c) {
  static const uint8_t digits[10][5] = {{7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7},
                                        {5, 5, 7, 1, 1}, {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1},
                                        {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};
  static const uint8_t dot[5] = {0, 0, 0, 0, 2}, minus[5] = {0, 0, 7, 0, 0}, plus[5] = {0, 2, 7, 2, 0},
                       space[5] = {0, 0, 0, 0, 0}, m[5] = {0, 0, 7, 7, 5};
  if (c >= '0' && c <= '9') return digits[c - '0'];
  switch (c) {
    case '.': return dot;
    case '-': return minus;
    case '+': return plus;
    case 'm': return m;
    default: return space;
  }
}

}  // namespace

Image::Image(int width, int height, Rgb fill) : w_(width), h_(height), px_(size_t(width) * height * 3) {
  MTMAP_CHECK(width > 0 && height > 0, "image size {} × {}", width, height);
  for (size_t i = 0; i < px_.size(); i += 3) px_[i] = fill.r, px_[i + 1] = fill.g, px_[i + 2] = fill.b;
}

void Image::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
  uint8_t* p = &px_[(size_t(y) * w_ + x) * 3];
  p[0] = c.r, p[1] = c.g, p[2] = c.b;
}

Rgb Image::get(int x, int y) const {
  const uint8_t* p = &px_[(size_t(y) * w_ + x) * 3];
  return {p[0], p[1], p[2]};
}

void Image::fill_rect(int x0, int y0, int x1, int y1, Rgb c) {
  for (int y = std::min(y0, y1); y <= std::max(y0, y1); ++y)
    for (int x = std::min(x0, x1); x <= std::max(x0, x1); ++x) set(x, y, c);
}

void Image::fill_disc(double cx, double cy, double r, Rgb c) {
  for (int y = static_cast<int>(std::floor(cy - r)); y <= static_cast<int>(std::ceil(cy + r)); ++y)
    for (int x = static_cast<int>(std::floor(cx - r)); x <= static_cast<int>(std::ceil(cx + r)); ++x)
      if ((x + 0.5 - cx) * (x + 0.5 - cx) + (y + 0.5 - cy) * (y + 0.5 - cy) <= r * r) set(x, y, c);
}

void Image::text(int x, int y, const std::string& s, int scale, Rgb c) {
  for (size_t i = 0; i < s.size(); ++i) {
    const uint8_t* g = glyph(s[i]);
    for (int row = 0; row < 5; ++row)
      for (int col = 0; col < 3; ++col)
        if (g[row] & (4 >> col))
          fill_rect(x + (int(i) * 4 + col) * scale, y + row * scale, x + (int(i) * 4 + col + 1) * scale - 1,
                    y + (row + 1) * scale - 1, c);
  }
}

// libpng encodes into memory; the bytes then go to the file through an AtomicFile, so a full disk
// is an error naming the file and never leaves half an image under its name.
static void append_to_string(png_structp png, png_bytep data, png_size_t length) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), length);
}
static void no_flush(png_structp) {}

void write_png(const std::string& path, const Image& img) {
  std::string bytes;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  MTMAP_CHECK(png && info, "libpng: cannot create a writer for '{}'", path);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    MTMAP_FAIL("libpng: error encoding '{}'", path);
  }
  png_set_write_fn(png, &bytes, append_to_string, no_flush);
  png_set_IHDR(png, info, img.width(), img.height(), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < img.height(); ++y)
    png_write_row(png, const_cast<png_bytep>(img.pixels().data() + size_t(y) * img.width() * 3));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  write_file_atomic(path, bytes);
}

Image read_png(const std::string& path) {
  std::unique_ptr<FILE, FileClose> f(std::fopen(path.c_str(), "rb"));
  MTMAP_CHECK(f, "cannot open '{}'", path);
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  MTMAP_CHECK(png && info, "libpng: cannot create a reader for '{}'", path);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    MTMAP_FAIL("libpng: '{}' is not a readable PNG", path);
  }
  png_init_io(png, f.get());
  png_read_info(png, info);
  png_set_expand(png);
  png_set_strip_16(png);
  png_set_gray_to_rgb(png);
  png_read_update_info(png, info);
  const int w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  const int channels = png_get_channels(png, info);
  std::vector<uint8_t> row(size_t(w) * channels);
  Image img(w, h);
  for (int y = 0; y < h; ++y) {
    png_read_row(png, row.data(), nullptr);
    for (int x = 0; x < w; ++x) img.set(x, y, {row[x * channels], row[x * channels + 1], row[x * channels + 2]});
  }
  png_destroy_read_struct(&png, &info, nullptr);
  return img;
}

Rgb cyclic_colour(double t) {
  t -= std::floor(t);
  // HSV hue circle, saturation 0.85, value 1.
  const double h = t * 6, s = 0.85;
  const int i = static_cast<int>(h) % 6;
  const double f = h - std::floor(h);
  const double p = 1 - s, q = 1 - s * f, u = 1 - s * (1 - f);
  double r = 0, g = 0, b = 0;
  switch (i) {
    case 0: r = 1, g = u, b = p; break;
    case 1: r = q, g = 1, b = p; break;
    case 2: r = p, g = 1, b = u; break;
    case 3: r = p, g = q, b = 1; break;
    case 4: r = u, g = p, b = 1; break;
    default: r = 1, g = p, b = q; break;
  }
  return {static_cast<uint8_t>(std::lround(255 * r)), static_cast<uint8_t>(std::lround(255 * g)),
          static_cast<uint8_t>(std::lround(255 * b))};
}

}  // namespace mtmap::formats
