#include "formats/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mtmap::formats {
namespace {

// "Nice" tick step: 1, 2 or 5 × 10^k giving about `target` ticks.
double tick_step(double span, int target) {
  const double raw = span / target;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string render_svg(const Plot& p) {
  double xa = std::numeric_limits<double>::infinity(), xb = -xa, ya = xa, yb = -xa;
  for (const auto& s : p.series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      const double e = i < s.err.size() && std::isfinite(s.err[i]) ? s.err[i] : 0;
      xa = std::min(xa, s.x[i]), xb = std::max(xb, s.x[i]);
      ya = std::min(ya, s.y[i] - e), yb = std::max(yb, s.y[i] + e);
      if (s.style == Series::Style::bars) ya = std::min(ya, 0.0);
    }
  for (const auto& r : p.refs)
    if (!r.vertical) ya = std::min(ya, r.y), yb = std::max(yb, r.y);
    else xa = std::min(xa, r.y), xb = std::max(xb, r.y);
  for (const auto& b : p.bands) ya = std::min(ya, b.y0), yb = std::max(yb, b.y1);
  if (!std::isfinite(xa)) xa = 0, xb = 1;
  if (!std::isfinite(ya)) ya = 0, yb = 1;
  if (xb <= xa) xa -= 0.5, xb += 0.5;
  if (yb <= ya) ya -= 0.5, yb += 0.5;
  const double xpad = 0.04 * (xb - xa), ypad = 0.05 * (yb - ya);
  xa -= xpad, xb += xpad, ya -= ypad, yb += ypad;
  if (p.xmin) xa = *p.xmin;
  if (p.xmax) xb = *p.xmax;
  if (p.ymin) ya = *p.ymin;
  if (p.ymax) yb = *p.ymax;

  const double L = 62, R = 16, T = 30, B = 46;
  const double W = p.width, H = p.height, pw = W - L - R, ph = H - T - B;
  auto X = [&](double x) { return L + (x - xa) / (xb - xa) * pw; };
  auto Y = [&](double y) { return T + (1 - (y - ya) / (yb - ya)) * ph; };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n",
      p.width, p.height);
  s += fmt::format("<text x=\"{}\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{}</text>\n", L, xml_escape(p.title));
  s += fmt::format("<defs><clipPath id=\"c\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath></defs>\n", L,
                   T, pw, ph);
  for (const auto& b : p.bands) {
    const double y0 = std::clamp(Y(b.y1), T, T + ph), y1 = std::clamp(Y(b.y0), T, T + ph);
    s += fmt::format("<rect x=\"{}\" y=\"{:.1f}\" width=\"{}\" height=\"{:.1f}\" fill=\"#999\" fill-opacity=\"0.18\"/>\n",
                     L, y0, pw, std::max(0.0, y1 - y0));
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#555\" font-size=\"10\">{}</text>\n", L + 4, y0 + 11,
                     xml_escape(b.label));
  }
  // Axes and ticks.
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", L, T, pw, ph);
  const double dx = tick_step(xb - xa, 6), dy = tick_step(yb - ya, 5);
  for (double t = std::ceil(xa / dx) * dx; t <= xb + 1e-9 * dx; t += dx)
    s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#333\"/><text x=\"{0:.1f}\" "
                     "y=\"{3}\" text-anchor=\"middle\">{4:g}</text>\n",
                     X(t), T + ph, T + ph + 4, T + ph + 16, std::abs(t) < 1e-12 * dx ? 0.0 : t);
  for (double t = std::ceil(ya / dy) * dy; t <= yb + 1e-9 * dy; t += dy)
    s += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"/><text x=\"{3}\" "
                     "y=\"{4:.1f}\" text-anchor=\"end\">{5:g}</text>\n",
                     L - 4, L, Y(t), L - 6, Y(t) + 4, std::abs(t) < 1e-12 * dy ? 0.0 : t);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", L + pw / 2, H - 8, xml_escape(p.xlabel));
  s += fmt::format("<text transform=\"translate(14,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n", T + ph / 2,
                   xml_escape(p.ylabel));
  s += "<g clip-path=\"url(#c)\">\n";
  if (p.diagonal) {
    const double a = std::max(xa, ya), b = std::min(xb, yb);
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#888\"/>\n", X(a), Y(a), X(b), Y(b));
  }
  for (const auto& r : p.refs) {
    if (r.vertical)
      s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#d62728\" stroke-dasharray=\"6,4\"/>"
                       "<text x=\"{3:.1f}\" y=\"{4}\" fill=\"#d62728\" font-size=\"10\">{5}</text>\n",
                       X(r.y), T, T + ph, X(r.y) + 3, T + 12, xml_escape(r.label));
    else
      s += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#d62728\" stroke-dasharray=\"6,4\"/>"
                       "<text x=\"{3}\" y=\"{4:.1f}\" fill=\"#d62728\" font-size=\"10\" text-anchor=\"end\">{5}</text>\n",
                       L, L + pw, Y(r.y), L + pw - 4, Y(r.y) - 3, xml_escape(r.label));
  }
  for (const auto& se : p.series) {
    std::string path;
    const size_t n = std::min(se.x.size(), se.y.size());
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(se.x[i]) || !std::isfinite(se.y[i])) continue;
      switch (se.style) {
        case Series::Style::bars: {
          const double half = n > 1 ? 0.4 * std::abs(se.x[std::min(i + 1, n - 1)] - se.x[i == n - 1 ? i - 1 : i]) : 0.4;
          const double top = Y(std::max(se.y[i], 0.0)), base = Y(std::min(se.y[i], 0.0));
          s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
                           "fill-opacity=\"0.6\"/>\n",
                           X(se.x[i] - half), top, X(se.x[i] + half) - X(se.x[i] - half), base - top, se.colour);
          break;
        }
        case Series::Style::scatter:
          s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2\" fill=\"{}\" fill-opacity=\"0.5\"/>\n", X(se.x[i]),
                           Y(se.y[i]), se.colour);
          break;
        default:
          path += fmt::format("{}{:.1f},{:.1f} ", path.empty() ? "M" : "L", X(se.x[i]), Y(se.y[i]));
          if (se.style == Series::Style::line)
            s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>\n", X(se.x[i]), Y(se.y[i]), se.colour);
      }
      if (i < se.err.size() && std::isfinite(se.err[i]) && se.err[i] > 0)
        s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\"/>\n", X(se.x[i]),
                         Y(se.y[i] - se.err[i]), Y(se.y[i] + se.err[i]), se.colour);
    }
    if (!path.empty())
      s += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>\n", path, se.colour);
  }
  s += "</g>\n";
  // Legend.
  double ly = T + 14;
  for (const auto& se : p.series) {
    if (se.label.empty()) continue;
    s += fmt::format("<rect x=\"{}\" y=\"{:.1f}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{:.1f}\">{}</text>\n",
                     L + pw - 150, ly - 9, se.colour, L + pw - 136, ly, xml_escape(se.label));
    ly += 14;
  }
  s += "</svg>\n";
  return s;
}

}  // namespace mtmap::formats
