#pragma once
// Tables of numbers with named columns, read from CSV or .npy and written to both; and the
// extraction of a direction-map unit table (positions in mm, preferred direction in degrees,
// optional weight) from any such table, so maps measured in animals go through the same code.
#include <istream>
#include <string>
#include <vector>

#include "analysis/direction_map.h"
#include "formats/npy.h"

namespace mtmap::analysis {

struct Table {
  std::string origin;  // file name, for error messages
  std::vector<std::string> names;
  std::vector<std::vector<double>> columns;  // (columns, rows)
  size_t rows() const { return columns.empty() ? 0 : columns[0].size(); }
  const std::vector<double>* find(const std::string& name) const;
};

// CSV: a header row of names, then numbers ("nan"/"inf" are read, and judged by the user of the
// column). Errors name the file, the line and the column.
Table read_csv(const std::string& path);
// The same from a stream (`origin` names it in messages): the one CSV parser, also what the fuzz
// target (fuzz/fuzz_unit_table.cpp) feeds bytes to.
Table read_csv(std::istream& in, const std::string& origin);
// .npy: a structured array (columns by field name) or a 2-D array (columns named by `plain_names`).
Table read_npy_table(const std::string& path, const std::vector<std::string>& plain_names);
// The same from an array already read (`origin` names it in messages).
Table table_from_npy(const formats::NpyArray& a, const std::string& origin, const std::vector<std::string>& plain_names);
void write_csv(const std::string& path, const Table& t);
void write_npy_table(const std::string& path, const Table& t);

// Columns: x_mm (or x), y_mm (or y), preferred_direction_deg (or theta_deg, direction_deg), and an
// optional weight (or vector_strength; default 1). A 2-D .npy has columns x, y, direction[, weight].
// With drop_nonfinite, rows with a non-finite value in those columns are dropped and counted;
// otherwise the first one is an error naming file, row and column.
MapUnits map_units_from_table(const Table& t, bool drop_nonfinite, int* dropped = nullptr);
MapUnits read_map_units(const std::string& path, bool drop_nonfinite, int* dropped = nullptr);

}  // namespace mtmap::analysis
