// The header is a Python dict literal; we parse just the three keys the format defines and reject
// anything we cannot read faithfully (big-endian, Fortran order, sub-array fields, strings).
#include "formats/npy.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <regex>

#include "engine/core/error.h"

namespace mtmap::formats {
namespace {

struct Dtype {
  char kind;  // 'f', 'i', 'u', 'b'
  int bytes;
};

Dtype parse_dtype(const std::string& d, const std::string& path) {
  MTMAP_CHECK(d.size() >= 3, "{}: unsupported dtype '{}'", path, d);
  const char order = d[0];
  MTMAP_CHECK(order == '<' || order == '|' || (order == '=' ), "{}: dtype '{}' is not little-endian", path, d);
  Dtype t{d[1], std::stoi(d.substr(2))};
  const bool ok = (t.kind == 'f' && (t.bytes == 4 || t.bytes == 8)) ||
                  ((t.kind == 'i' || t.kind == 'u') && (t.bytes == 1 || t.bytes == 2 || t.bytes == 4 || t.bytes == 8)) ||
                  (t.kind == 'b' && t.bytes == 1);
  MTMAP_CHECK(ok, "{}: unsupported dtype '{}' (need float, int or bool)", path, d);
  return t;
}

double load(const char* p, Dtype t) {
  switch (t.kind) {
    case 'f':
      if (t.bytes == 4) { float f; std::memcpy(&f, p, 4); return f; }
      else { double f; std::memcpy(&f, p, 8); return f; }
    case 'i':
      if (t.bytes == 1) return static_cast<int8_t>(*p);
      if (t.bytes == 2) { int16_t v; std::memcpy(&v, p, 2); return v; }
      if (t.bytes == 4) { int32_t v; std::memcpy(&v, p, 4); return v; }
      { int64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
    case 'u':
      if (t.bytes == 1) return static_cast<uint8_t>(*p);
      if (t.bytes == 2) { uint16_t v; std::memcpy(&v, p, 2); return v; }
      if (t.bytes == 4) { uint32_t v; std::memcpy(&v, p, 4); return v; }
      { uint64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
    default:
      return *p ? 1.0 : 0.0;
  }
}

void write_header(std::ofstream& out, const std::string& dict) {
  std::string h = dict;
  // Total header (magic 6 + version 2 + length 2 + dict + '\n') padded with spaces to 64 bytes.
  const size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h.push_back('\n');
  const uint16_t len = static_cast<uint16_t>(h.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.write(reinterpret_cast<const char*>(&len), 2);
  out.write(h.data(), h.size());
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MTMAP_CHECK(in.good(), "cannot open '{}'", path);
  char magic[8];
  in.read(magic, 8);
  MTMAP_CHECK(in.gcount() == 8 && std::memcmp(magic, "\x93NUMPY", 6) == 0, "{}: not a .npy file (bad magic)", path);
  const int major = magic[6];
  MTMAP_CHECK(major >= 1 && major <= 3, "{}: unsupported .npy version {}", path, major);
  uint32_t hlen = 0;
  if (major == 1) {
    uint16_t l;
    in.read(reinterpret_cast<char*>(&l), 2);
    hlen = l;
  } else {
    in.read(reinterpret_cast<char*>(&hlen), 4);
  }
  std::string header(hlen, '\0');
  in.read(header.data(), hlen);
  MTMAP_CHECK(in.gcount() == std::streamsize(hlen), "{}: truncated header", path);

  std::smatch m;
  MTMAP_CHECK(!std::regex_search(header, std::regex("'fortran_order':\\s*True")),
              "{}: Fortran-order arrays are not supported (save with numpy.ascontiguousarray)", path);
  MTMAP_CHECK(std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")), "{}: header has no shape", path);
  NpyArray a;
  const std::string shape = m[1];
  const std::regex number("\\d+");
  for (std::sregex_iterator it(shape.begin(), shape.end(), number), end; it != end; ++it)
    a.shape.push_back(std::stoull(it->str()));
  size_t count = 1;
  for (size_t s : a.shape) count *= s;

  std::vector<Dtype> types;
  if (std::regex_search(header, m, std::regex("'descr':\\s*'([^']*)'"))) {
    types.push_back(parse_dtype(m[1], path));
  } else {
    MTMAP_CHECK(std::regex_search(header, m, std::regex("'descr':\\s*\\[(.*)\\]")), "{}: header has no descr", path);
    const std::string list = m[1];
    const std::regex field("\\(\\s*'([^']*)'\\s*,\\s*'([^']*)'\\s*\\)");
    for (std::sregex_iterator it(list.begin(), list.end(), field), end; it != end; ++it) {
      a.fields.push_back((*it)[1]);
      types.push_back(parse_dtype((*it)[2], path + " field '" + (*it)[1].str() + "'"));
    }
    MTMAP_CHECK(!a.fields.empty(), "{}: structured dtype with no readable fields: [{}]", path, list);
    MTMAP_CHECK(a.shape.size() == 1, "{}: structured arrays must be 1-D (one record per unit)", path);
  }
  size_t record = 0;
  for (const Dtype& t : types) record += t.bytes;
  std::vector<char> raw(count * record);
  in.read(raw.data(), raw.size());
  MTMAP_CHECK(in.gcount() == std::streamsize(raw.size()), "{}: file holds {} data bytes, shape and dtype need {}", path,
              in.gcount(), raw.size());
  a.data.reserve(count * types.size());
  for (size_t i = 0; i < count; ++i) {
    const char* p = raw.data() + i * record;
    for (const Dtype& t : types) {
      a.data.push_back(load(p, t));
      p += t.bytes;
    }
  }
  return a;
}

void write_npy(const std::string& path, const std::vector<size_t>& shape, std::span<const double> data) {
  std::ofstream out(path, std::ios::binary);
  MTMAP_CHECK(out.good(), "cannot write '{}'", path);
  std::string s = "(";
  for (size_t d : shape) s += std::to_string(d) + ", ";
  if (shape.size() > 1) s.resize(s.size() - 1);
  if (shape.size() > 1) s.back() = ')';
  else s += ")";
  write_header(out, "{'descr': '<f8', 'fortran_order': False, 'shape': " + s + ", }");
  out.write(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(double));
}

void write_npy_records(const std::string& path, const std::vector<std::string>& names,
                       const std::vector<std::vector<double>>& columns) {
  MTMAP_CHECK(names.size() == columns.size() && !names.empty(), "write_npy_records: {} names for {} columns",
              names.size(), columns.size());
  const size_t rows = columns[0].size();
  std::string descr = "[";
  for (const auto& n : names) descr += "('" + n + "', '<f8'), ";
  descr += "]";
  std::ofstream out(path, std::ios::binary);
  MTMAP_CHECK(out.good(), "cannot write '{}'", path);
  write_header(out, "{'descr': " + descr + ", 'fortran_order': False, 'shape': (" + std::to_string(rows) + ",), }");
  for (size_t r = 0; r < rows; ++r)
    for (const auto& c : columns) out.write(reinterpret_cast<const char*>(&c[r]), sizeof(double));
}

}  // namespace mtmap::formats
