#include "formats/safetensors.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "engine/ops/copy.h"
#include "formats/atomic_file.h"

namespace mtmap::formats {
namespace {

// Fault injection for the crash tests (tests/training/cli_train.sh): when MTMAP_FAULT_KILL_IN_SAVE
// is set and `path` contains its value, the process kills itself (SIGKILL, as a power cut or an
// OOM kill would) half-way through writing the temporary file. Unset, this is one getenv per save.
void kill_here_if_asked(const std::string& path, AtomicFile& f) {
  const char* target = std::getenv("MTMAP_FAULT_KILL_IN_SAVE");
  if (!target || !*target || path.find(target) == std::string::npos) return;
  f.sync_partial();
  std::raise(SIGKILL);
}


using json = nlohmann::json;

const char* st_dtype(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::bf16: return "BF16";
    case DType::i32: return "I32";
    case DType::i64: return "I64";
    case DType::u8: return "U8";
  }
  return "?";
}

bool parse_dtype(const std::string& s, DType* t) {
  static const std::pair<const char*, DType> table[] = {{"F32", DType::f32}, {"F64", DType::f64}, {"BF16", DType::bf16},
                                                        {"I32", DType::i32}, {"I64", DType::i64}, {"U8", DType::u8},
                                                        {"BOOL", DType::u8}};
  for (const auto& [name, dtype] : table)
    if (s == name) {
      *t = dtype;
      return true;
    }
  return false;
}

}  // namespace

const Tensor& SafetensorsFile::at(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  MTMAP_FAIL("safetensors: no tensor named '{}'", name);
}

bool SafetensorsFile::contains(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return true;
  return false;
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  std::vector<Tensor> host;
  uint64_t offset = 0;
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    MTMAP_CHECK(names.insert(name).second, "save_safetensors {}: tensor name '{}' appears twice", path, name);
    MTMAP_CHECK(name != "__metadata__", "save_safetensors {}: '__metadata__' is reserved", path);
    Tensor h = t.detach().to(Device::cpu()).contiguous();
    uint64_t bytes = h.nbytes();
    header[name] = {{"dtype", st_dtype(h.dtype())}, {"shape", h.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    host.push_back(h);
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the data to 8 bytes, as the reference writer does

  // Through an AtomicFile: a full disk or a read-only folder is an error naming the file and the
  // reason, and whatever `path` held before (the previous checkpoint) stays as it was.
  AtomicFile f(path);
  const uint64_t n = text.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
  f.write(len, 8);
  f.write(text);
  for (size_t i = 0; i < host.size(); ++i) {
    if (i == host.size() / 2) kill_here_if_asked(path, f);
    f.write(host[i].raw(), host[i].nbytes());
  }
  f.commit();
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  MTMAP_CHECK(f.good(), "load_safetensors: cannot open {}: {}", path, std::strerror(errno));
  return load_safetensors(f, path);
}

SafetensorsFile load_safetensors(std::istream& f, const std::string& path) {
  f.seekg(0, std::ios::end);
  const std::streampos end_pos = f.tellg();
  MTMAP_CHECK(end_pos != std::streampos(-1), "load_safetensors {}: cannot read (not seekable)", path);
  uint64_t file_size = uint64_t(end_pos);
  f.seekg(0);
  MTMAP_CHECK(file_size >= 8, "load_safetensors {}: {} bytes is too short for a safetensors file", path, file_size);
  unsigned char len[8];
  f.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(len[i]) << (8 * i);
  MTMAP_CHECK(n <= file_size - 8 && n <= (100u << 20), "load_safetensors {}: header length {} does not fit a {}-byte file",
              path, n, file_size);
  std::string text(n, '\0');
  f.read(text.data(), std::streamsize(n));
  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& e) {
    MTMAP_FAIL("load_safetensors {}: the header is not valid JSON ({})", path, e.what());
  }
  MTMAP_CHECK(header.is_object(), "load_safetensors {}: the header is not a JSON object", path);
  const uint64_t data_start = 8 + n, data_size = file_size - data_start;

  SafetensorsFile out;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  uint64_t claimed = 0;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") {
      MTMAP_CHECK(it->is_object(), "load_safetensors {}: __metadata__ is not an object", path);
      for (auto m = it->begin(); m != it->end(); ++m) {
        MTMAP_CHECK(m->is_string(), "load_safetensors {}: metadata '{}' is not a string", path, m.key());
        out.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const json& e = *it;
    MTMAP_CHECK(e.is_object() && e.contains("dtype") && e.contains("shape") && e.contains("data_offsets"),
                "load_safetensors {}: tensor '{}' lacks dtype, shape or data_offsets", path, name);
    DType dtype;
    MTMAP_CHECK(e["dtype"].is_string() && parse_dtype(e["dtype"].get<std::string>(), &dtype),
                "load_safetensors {}: tensor '{}' has unsupported dtype {}", path, name, e["dtype"].dump());
    Shape shape;
    MTMAP_CHECK(e["shape"].is_array() && e["shape"].size() <= size_t(kMaxDims),
                "load_safetensors {}: tensor '{}' has a bad shape {}", path, name, e["shape"].dump());
    // The element count is bounded as it is multiplied up (and then checked against the data the file
    // holds before anything is allocated), so that a shape like [10**12, 10**12] is an error naming
    // the tensor, never an overflow or a huge allocation.
    constexpr uint64_t kMaxElements = uint64_t(1) << 56;
    uint64_t elements = 1;
    bool has_zero = false;
    for (const json& d : e["shape"]) {
      MTMAP_CHECK(d.is_number_unsigned(), "load_safetensors {}: tensor '{}' has a bad shape {}", path, name, e["shape"].dump());
      const uint64_t n = d.get<uint64_t>();
      if (n == 0) has_zero = true;
      else MTMAP_CHECK(n <= kMaxElements / elements, "load_safetensors {}: tensor '{}' has an impossible shape {}", path,
                       name, e["shape"].dump());
      if (n != 0) elements *= n;
      shape.push_back(int64_t(n));
    }
    const uint64_t expect = has_zero ? 0 : elements * dtype_size(dtype);
    const json& off = e["data_offsets"];
    MTMAP_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
                "load_safetensors {}: tensor '{}' has bad data_offsets {}", path, name, off.dump());
    uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    MTMAP_CHECK(begin <= end && end - begin == expect, "load_safetensors {}: tensor '{}' {} {} needs {} bytes, offsets give [{}, {})",
                path, name, dtype_name(dtype), shape_str(shape), expect, begin, end);
    MTMAP_CHECK(end <= data_size, "load_safetensors {}: tensor '{}' ends at byte {} but the data has {} (truncated file?)", path,
                name, end, data_size);
    // Ranges that do not overlap hold at most the data's bytes together: checked before allocating,
    // so that a header pointing many tensors at one range cannot multiply the file's size.
    claimed += expect;
    MTMAP_CHECK(claimed <= data_size, "load_safetensors {}: the tensors up to '{}' claim {} bytes but the data has {} (overlapping tensors?)",
                path, name, claimed, data_size);
    ranges.emplace_back(begin, end);
    Tensor t = empty(shape, dtype);
    f.seekg(std::streamoff(data_start + begin));
    f.read(static_cast<char*>(t.raw()), std::streamsize(expect));
    MTMAP_CHECK(f.good(), "load_safetensors {}: reading tensor '{}' failed", path, name);
    out.tensors.emplace_back(name, t);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    MTMAP_CHECK(ranges[i].first >= ranges[i - 1].second, "load_safetensors {}: two tensors overlap at byte {}", path,
                ranges[i].first);
  return out;
}

void save_module(const std::string& path, const nn::Module& module, const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const nn::NamedTensor& p : module.named_parameters()) tensors.emplace_back(p.name, p.tensor);
  for (const nn::NamedTensor& b : module.named_buffers()) tensors.emplace_back(b.name, b.tensor);
  save_safetensors(path, tensors, metadata);
}

void load_module(const std::string& path, nn::Module& module, bool strict) {
  load_module(load_safetensors(path), path, module, strict);
}

void load_module(const SafetensorsFile& file, const std::string& path, nn::Module& module, bool strict,
                 const std::vector<std::string>& skip_prefixes) {
  std::vector<nn::NamedTensor> targets = module.named_parameters();
  for (nn::NamedTensor& b : module.named_buffers()) targets.push_back(b);
  std::set<std::string> used;
  for (nn::NamedTensor& target : targets) {
    if (!file.contains(target.name)) {
      MTMAP_CHECK(!strict, "load_module {}: the file has no tensor '{}' {}", path, target.name, shape_str(target.tensor.shape()));
      continue;
    }
    const Tensor& src = file.at(target.name);
    MTMAP_CHECK(src.shape() == target.tensor.shape(), "load_module {}: tensor '{}' is {} in the file but {} in the model", path,
                target.name, shape_str(src.shape()), shape_str(target.tensor.shape()));
    copy_into(target.tensor.detach(), src.to(target.tensor.device()));
    used.insert(target.name);
  }
  if (strict)
    for (const auto& [name, t] : file.tensors) {
      const std::string& n = name;  // a lambda cannot capture a structured binding before clang 16
      MTMAP_CHECK(used.count(n) || std::any_of(skip_prefixes.begin(), skip_prefixes.end(),
                                               [&](const std::string& p) { return n.starts_with(p); }),
                  "load_module {}: the file's tensor '{}' {} has no place in the model", path, name,
                  shape_str(t.shape()));
    }
}

}  // namespace mtmap::formats
