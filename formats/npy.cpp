// The header is a Python dict literal; we scan for just the three keys the format defines and reject
// anything we cannot read faithfully (big-endian, Fortran order, sub-array fields, strings).
#include "formats/npy.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "engine/core/error.h"
#include "formats/atomic_file.h"

namespace mtmap::formats {
namespace {

struct Dtype {
  char kind;  // 'f', 'i', 'u', 'b'
  int bytes;
};

Dtype parse_dtype(const std::string& d, const std::string& path) {
  MTMAP_CHECK(d.size() >= 3 && d.size() <= 4, "{}: unsupported dtype '{}'", path, d);
  const char order = d[0];
  MTMAP_CHECK(order == '<' || order == '|' || (order == '=' ), "{}: dtype '{}' is not little-endian", path, d);
  const std::string size = d.substr(2);
  MTMAP_CHECK(size.find_first_not_of("0123456789") == std::string::npos, "{}: unsupported dtype '{}'", path, d);
  Dtype t{d[1], std::stoi(size)};  // one or two digits: stoi cannot fail
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

// The header dict, read by scanning (no std::regex: its matcher recurses once per character and
// overflows the stack on a long header:
// fuzz/regressions/npy). What is read is what numpy writes:
// 'descr': '<f8' or 'descr': [('name', '<f8'), ...], 'fortran_order': False, 'shape': (2, 3).
size_t skip_space(const std::string& h, size_t i) {
  while (i < h.size() && std::isspace(static_cast<unsigned char>(h[i]))) ++i;
  return i;
}

// Where the value of 'key' starts (after the colon and spaces), or npos.
size_t value_of(const std::string& h, const std::string& key) {
  const size_t at = h.find("'" + key + "':");
  return at == std::string::npos ? at : skip_space(h, at + key.size() + 3);
}

bool fortran_order(const std::string& h) {
  const size_t v = value_of(h, "fortran_order");
  return v != std::string::npos && h.compare(v, 4, "True") == 0;
}

// The text between the parentheses of 'shape'.
bool shape_text(const std::string& h, std::string* out) {
  const size_t v = value_of(h, "shape");
  if (v == std::string::npos || v >= h.size() || h[v] != '(') return false;
  const size_t close = h.find(')', v);
  if (close == std::string::npos) return false;
  *out = h.substr(v + 1, close - v - 1);
  return true;
}

enum class Descr { missing, simple, fields };

// A simple descr's text between its quotes, or a structured one's text between '[' and the last ']'
// of its line.
Descr descr_text(const std::string& h, std::string* out) {
  const size_t v = value_of(h, "descr");
  if (v == std::string::npos || v >= h.size()) return Descr::missing;
  if (h[v] == '\'') {
    const size_t close = h.find('\'', v + 1);
    if (close == std::string::npos) return Descr::missing;
    *out = h.substr(v + 1, close - v - 1);
    return Descr::simple;
  }
  if (h[v] != '[') return Descr::missing;
  const size_t line_end = std::min(h.find('\n', v), h.size());
  const size_t close = h.rfind(']', line_end - 1);
  if (close == std::string::npos || close <= v) return Descr::missing;
  *out = h.substr(v + 1, close - v - 1);
  return Descr::fields;
}

// The ('name', 'type') pairs of a structured descr; anything else in the list (sub-array shapes,
// nested dtypes) is passed over, and a list of nothing else has no fields.
std::vector<std::pair<std::string, std::string>> descr_fields(const std::string& list) {
  std::vector<std::pair<std::string, std::string>> out;
  auto quoted = [&](size_t i, std::string* s) -> size_t {  // a '...' at i; returns the index after it
    if (i >= list.size() || list[i] != '\'') return std::string::npos;
    const size_t close = list.find('\'', i + 1);
    if (close == std::string::npos) return close;
    *s = list.substr(i + 1, close - i - 1);
    return close + 1;
  };
  for (size_t open = list.find('('); open != std::string::npos; open = list.find('(', open + 1)) {
    std::string name, type;
    size_t i = quoted(skip_space(list, open + 1), &name);
    if (i == std::string::npos || (i = skip_space(list, i)) >= list.size() || list[i] != ',') continue;
    i = quoted(skip_space(list, i + 1), &type);
    if (i == std::string::npos || (i = skip_space(list, i)) >= list.size() || list[i] != ')') continue;
    out.emplace_back(name, type);
    open = i;
  }
  return out;
}

void write_header(AtomicFile& out, const std::string& dict) {
  std::string h = dict;
  // Total header (magic 6 + version 2 + length 2 + dict + '\n') padded with spaces to 64 bytes.
  const size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h.push_back('\n');
  const uint16_t len = static_cast<uint16_t>(h.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.write(&len, 2);
  out.write(h);
}

}  // namespace

// The longest header read (numpy.load's own limit for untrusted files is 10000 bytes): a bound on
// what a damaged length field can make us allocate and scan.
constexpr uint32_t kMaxHeaderBytes = 1 << 20;

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MTMAP_CHECK(in.good(), "cannot open '{}'", path);
  return read_npy(in, path);
}

NpyArray read_npy(std::istream& in, const std::string& path) {
  // What the stream holds, so that no size read from the header is allocated before it is known to fit.
  const std::streampos begin = in.tellg();
  in.seekg(0, std::ios::end);
  const std::streampos stream_end = in.tellg();
  in.seekg(begin);
  MTMAP_CHECK(begin != std::streampos(-1) && stream_end != std::streampos(-1), "{}: cannot read (not seekable)", path);
  const uint64_t available = uint64_t(stream_end - begin);
  char magic[8];
  in.read(magic, 8);
  MTMAP_CHECK(in.gcount() == 8 && std::memcmp(magic, "\x93NUMPY", 6) == 0, "{}: not a .npy file (bad magic)", path);
  const int major = magic[6];
  MTMAP_CHECK(major >= 1 && major <= 3, "{}: unsupported .npy version {}", path, major);
  uint32_t hlen = 0;
  if (major == 1) {
    uint16_t l = 0;
    in.read(reinterpret_cast<char*>(&l), 2);
    hlen = l;
  } else {
    in.read(reinterpret_cast<char*>(&hlen), 4);
  }
  MTMAP_CHECK(in.good(), "{}: truncated header", path);
  const uint64_t prefix = major == 1 ? 10 : 12;
  MTMAP_CHECK(hlen <= kMaxHeaderBytes, "{}: header of {} bytes (at most {} are read)", path, hlen, kMaxHeaderBytes);
  MTMAP_CHECK(prefix + hlen <= available, "{}: truncated header ({} bytes declared, the file has {} after the magic)",
              path, hlen, available - prefix);
  std::string header(hlen, '\0');
  in.read(header.data(), hlen);
  MTMAP_CHECK(in.gcount() == std::streamsize(hlen), "{}: truncated header", path);

  MTMAP_CHECK(!fortran_order(header), "{}: Fortran-order arrays are not supported (save with numpy.ascontiguousarray)",
              path);
  std::string shape;
  MTMAP_CHECK(shape_text(header, &shape), "{}: header has no shape", path);
  NpyArray a;
  for (size_t i = 0; i < shape.size();) {
    if (!std::isdigit(static_cast<unsigned char>(shape[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < shape.size() && std::isdigit(static_cast<unsigned char>(shape[j]))) ++j;
    const std::string digits = shape.substr(i, j - i);
    // 18 digits stay below 2^63; a longer dimension could never fit in any file.
    MTMAP_CHECK(digits.size() <= 18, "{}: shape ({}) has an impossible dimension {}", path, shape, digits);
    a.shape.push_back(std::stoull(digits));
    i = j;
  }
  const uint64_t data_bytes = available - prefix - hlen;

  std::vector<Dtype> types;
  std::string descr;
  const Descr kind = descr_text(header, &descr);
  MTMAP_CHECK(kind != Descr::missing, "{}: header has no descr", path);
  if (kind == Descr::simple) {
    types.push_back(parse_dtype(descr, path));
  } else {
    for (const auto& [name, type] : descr_fields(descr)) {
      a.fields.push_back(name);
      types.push_back(parse_dtype(type, path + " field '" + name + "'"));
    }
    MTMAP_CHECK(!a.fields.empty(), "{}: structured dtype with no readable fields: [{}]", path, descr);
    MTMAP_CHECK(a.shape.size() == 1, "{}: structured arrays must be 1-D (one record per unit)", path);
  }
  uint64_t record = 0;
  for (const Dtype& t : types) record += uint64_t(t.bytes);
  // The element count, checked against the data the file holds as it is multiplied up, so that a
  // shape like (10**12, 10**12) is an error and never an allocation or an overflow.
  uint64_t count = 1;
  bool fits = true;
  for (uint64_t s : a.shape) {
    if (s == 0) {
      count = 0;
      fits = true;
      break;
    }
    if (fits && count > data_bytes / record / s) fits = false;
    if (fits) count *= s;
  }
  MTMAP_CHECK(fits && count * record <= data_bytes, "{}: shape ({}) of {}-byte records needs more data than the {} bytes the file holds",
              path, shape, record, data_bytes);
  std::vector<char> raw(size_t(count * record));
  in.read(raw.data(), std::streamsize(raw.size()));
  MTMAP_CHECK(in.gcount() == std::streamsize(raw.size()), "{}: file holds {} data bytes, shape and dtype need {}", path,
              in.gcount(), raw.size());
  a.data.reserve(size_t(count) * types.size());
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
  AtomicFile out(path);  // never half an array under its name (formats/atomic_file.h)
  std::string s = "(";
  for (size_t d : shape) s += std::to_string(d) + ", ";
  if (shape.size() > 1) s.resize(s.size() - 1);
  if (shape.size() > 1) s.back() = ')';
  else s += ")";
  write_header(out, "{'descr': '<f8', 'fortran_order': False, 'shape': " + s + ", }");
  out.write(data.data(), data.size() * sizeof(double));
  out.commit();
}

void write_npy_records(const std::string& path, const std::vector<std::string>& names,
                       const std::vector<std::vector<double>>& columns) {
  MTMAP_CHECK(names.size() == columns.size() && !names.empty(), "write_npy_records: {} names for {} columns",
              names.size(), columns.size());
  const size_t rows = columns[0].size();
  std::string descr = "[";
  for (const auto& n : names) descr += "('" + n + "', '<f8'), ";
  descr += "]";
  AtomicFile out(path);
  write_header(out, "{'descr': " + descr + ", 'fortran_order': False, 'shape': (" + std::to_string(rows) + ",), }");
  std::string body;
  body.reserve(rows * columns.size() * sizeof(double));
  for (size_t r = 0; r < rows; ++r)
    for (const auto& c : columns) body.append(reinterpret_cast<const char*>(&c[r]), sizeof(double));
  out.write(body);
  out.commit();
}

}  // namespace mtmap::formats
