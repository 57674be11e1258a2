#include "analysis/unit_table.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "formats/atomic_file.h"
#include "formats/npy.h"
#include "engine/core/error.h"

namespace mtmap::analysis {

// The file formats this file writes or reads (formats/).
using formats::NpyArray;
using formats::read_npy;
using formats::write_npy_records;

namespace {

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\"");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t\r\"");
  return s.substr(a, b - a + 1);
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(trim(cell));
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

const std::vector<double>* Table::find(const std::string& name) const {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return &columns[i];
  return nullptr;
}

Table read_csv(const std::string& path) {
  std::ifstream in(path);
  MTMAP_CHECK(in.good(), "cannot open unit table '{}'", path);
  return read_csv(in, path);
}

Table read_csv(std::istream& in, const std::string& path) {
  Table t;
  t.origin = path;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!trim(line).empty() && trim(line)[0] != '#') break;
  }
  MTMAP_CHECK(!trim(line).empty(), "{}: no header row (empty file)", path);
  t.names = split(line);
  for (size_t c = 0; c < t.names.size(); ++c) {
    MTMAP_CHECK(!t.names[c].empty(), "{}:{}: column {} has an empty name", path, line_no, c + 1);
    for (size_t d = 0; d < c; ++d)
      MTMAP_CHECK(t.names[c] != t.names[d], "{}:{}: column name '{}' appears twice", path, line_no, t.names[c]);
  }
  t.columns.assign(t.names.size(), {});
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty() || trim(line)[0] == '#') continue;
    const auto cells = split(line);
    MTMAP_CHECK(cells.size() == t.names.size(), "{}:{}: {} fields, the header has {} columns", path, line_no,
                cells.size(), t.names.size());
    for (size_t c = 0; c < cells.size(); ++c) {
      const char* s = cells[c].c_str();
      char* end = nullptr;
      errno = 0;
      const double v = std::strtod(s, &end);
      MTMAP_CHECK(!cells[c].empty() && end && *end == '\0' && errno != ERANGE,
                  "{}:{}: column '{}': '{}' is not a number", path, line_no, t.names[c], cells[c]);
      t.columns[c].push_back(v);
    }
  }
  return t;
}

Table read_npy_table(const std::string& path, const std::vector<std::string>& plain_names) {
  return table_from_npy(read_npy(path), path, plain_names);
}

Table table_from_npy(const NpyArray& a, const std::string& path, const std::vector<std::string>& plain_names) {
  Table t;
  t.origin = path;
  if (!a.fields.empty()) {
    t.names = a.fields;
    const size_t rows = a.shape[0], nf = a.fields.size();
    t.columns.assign(nf, std::vector<double>(rows));
    for (size_t r = 0; r < rows; ++r)
      for (size_t f = 0; f < nf; ++f) t.columns[f][r] = a.data[r * nf + f];
    return t;
  }
  MTMAP_CHECK(a.shape.size() == 2, "{}: a plain array must be 2-D (units, columns), got {} dimensions", path,
              a.shape.size());
  const size_t rows = a.shape[0], cols = a.shape[1];
  MTMAP_CHECK(cols <= plain_names.size() && cols > 0, "{}: {} columns; expected up to {} ({})", path, cols,
              plain_names.size(), fmt::join(plain_names, ", "));
  t.names.assign(plain_names.begin(), plain_names.begin() + cols);
  t.columns.assign(cols, std::vector<double>(rows));
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) t.columns[c][r] = a.data[r * cols + c];
  return t;
}

void write_csv(const std::string& path, const Table& t) {
  std::string out = fmt::format("{}\n", fmt::join(t.names, ","));
  for (size_t r = 0; r < t.rows(); ++r) {
    for (size_t c = 0; c < t.columns.size(); ++c) out += fmt::format("{}{:.9g}", c ? "," : "", t.columns[c][r]);
    out += '\n';
  }
  formats::write_file_atomic(path, out);  // never half a table under its name
}

void write_npy_table(const std::string& path, const Table& t) { write_npy_records(path, t.names, t.columns); }

MapUnits map_units_from_table(const Table& t, bool drop_nonfinite, int* dropped) {
  auto pick = [&](std::initializer_list<const char*> aliases, bool required) -> const std::vector<double>* {
    for (const char* a : aliases)
      if (const auto* c = t.find(a)) return c;
    MTMAP_CHECK(!required, "{}: no column {} (columns: {})", t.origin, fmt::join(aliases, " or "),
                fmt::join(t.names, ", "));
    return nullptr;
  };
  const auto* x = pick({"x_mm", "x"}, true);
  const auto* y = pick({"y_mm", "y"}, true);
  const auto* th = pick({"preferred_direction_deg", "theta_deg", "direction_deg", "direction"}, true);
  const auto* w = pick({"weight", "vector_strength"}, false);
  MTMAP_CHECK(t.rows() > 0, "{}: the unit table has no rows", t.origin);
  const auto name_of = [&](const std::vector<double>* c) {
    for (size_t i = 0; i < t.columns.size(); ++i)
      if (&t.columns[i] == c) return t.names[i];
    return std::string("?");
  };
  MapUnits u;
  int skipped = 0;
  for (size_t r = 0; r < t.rows(); ++r) {
    bool ok = true;
    for (const auto* c : {x, y, th, w}) {
      if (!c || std::isfinite((*c)[r])) continue;
      MTMAP_CHECK(drop_nonfinite, "{}: row {} (unit {}), column '{}' is {} (use --drop-nan to skip such units)", t.origin,
                  r + 1, r, name_of(c), (*c)[r]);
      ok = false;
    }
    if (w && ok && (*w)[r] < 0) MTMAP_FAIL("{}: row {} (unit {}), column '{}' is negative ({})", t.origin, r + 1, r, name_of(w), (*w)[r]);
    if (!ok) {
      ++skipped;
      continue;
    }
    u.x_mm.push_back((*x)[r]);
    u.y_mm.push_back((*y)[r]);
    u.theta_deg.push_back((*th)[r]);
    u.weight.push_back(w ? (*w)[r] : 1.0);
  }
  if (dropped) *dropped = skipped;
  MTMAP_CHECK(u.size() > 0, "{}: no unit left after dropping {} rows with non-finite values", t.origin, skipped);
  return u;
}

MapUnits read_map_units(const std::string& path, bool drop_nonfinite, int* dropped) {
  Table t;
  if (ends_with(path, ".npy")) t = read_npy_table(path, {"x_mm", "y_mm", "preferred_direction_deg", "weight"});
  else t = read_csv(path);
  return map_units_from_table(t, drop_nonfinite, dropped);
}

}  // namespace mtmap::analysis
