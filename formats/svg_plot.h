#pragma once
// Line, scatter and bar plots as standalone SVG text, with dashed reference lines and shaded
// reference bands for the macaque values. Enough for the report's curves and histograms.
#include <optional>
#include <string>
#include <vector>

namespace mtmap::formats {

struct Series {
  std::string label;
  std::vector<double> x, y;
  std::vector<double> err;  // optional ± half-width per point, drawn as error bars
  std::string colour = "#1f77b4";
  enum class Style { line, scatter, bars, steps } style = Style::line;
};

struct RefLine {
  double y;
  std::string label;
  bool vertical = false;  // x = y instead of y = value
};
struct RefBand {
  double y0, y1;
  std::string label;
};

struct Plot {
  std::string title, xlabel, ylabel;
  std::vector<Series> series;
  std::vector<RefLine> refs;
  std::vector<RefBand> bands;
  std::optional<double> xmin, xmax, ymin, ymax;
  bool diagonal = false;  // draw y = x
  int width = 520, height = 340;
};

std::string render_svg(const Plot& p);
std::string xml_escape(const std::string& s);

}  // namespace mtmap::formats
