#pragma once
// NumPy .npy files (format versions 1–3, little-endian, C order): plain numeric arrays and 1-D
// structured arrays with named numeric fields (a table numpy.load reads with its column names).
#include <cstddef>
#include <istream>
#include <span>
#include <string>
#include <vector>

namespace mtmap::formats {

struct NpyArray {
  std::vector<size_t> shape;
  std::vector<std::string> fields;  // structured arrays: field names; empty for a plain array
  std::vector<double> data;         // plain: row-major values; structured: (rows, fields) row-major
};

// Reads f8, f4, i8, i4, i2, i1, u1 and bool, plain or as fields of a structured dtype.
NpyArray read_npy(const std::string& path);
// The same from a stream (`origin` names it in messages): the one parser behind read_npy, also what
// the fuzz target (fuzz/fuzz_npy.cpp) feeds bytes to. A header or a shape that asks for more data than
// the stream holds is an error naming `origin`, before anything that size is allocated.
NpyArray read_npy(std::istream& in, const std::string& origin);
void write_npy(const std::string& path, const std::vector<size_t>& shape, std::span<const double> data);  // <f8
// One record per row, one '<f8' field per column.
void write_npy_records(const std::string& path, const std::vector<std::string>& names,
                       const std::vector<std::vector<double>>& columns);

}  // namespace mtmap::formats
