#include "models/checkpoint.h"

#include <cmath>

#include "engine/core/error.h"

namespace mtmap::models {
namespace {

using json = nlohmann::json;

constexpr const char* kSheetPrefix = "sheet.";

double metadata_number(const formats::SafetensorsFile& f, const std::string& path, const std::string& key) {
  auto it = f.metadata.find(key);
  MTMAP_CHECK(it != f.metadata.end(), "{}: metadata '{}' is missing", path, key);
  // The whole text must be one finite number ("1.5mm", "nan" and "1e999" are not).
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  MTMAP_CHECK(used > 0 && used == it->second.size() && std::isfinite(v), "{}: metadata '{}' = '{}' is not a finite number",
              path, key, it->second);
  return v;
}

void check_positions(const Tensor& p, const std::string& path, const std::string& name) {
  MTMAP_CHECK(p.ndim() == 2 && p.size(1) == 2, "{}: tensor '{}' {} is not (units, 2) positions", path, name,
              shape_str(p.shape()));
  for (double v : p.to(DType::f64).to_vector<double>())
    MTMAP_CHECK(std::isfinite(v), "{}: tensor '{}' holds a non-finite position {}", path, name, v);
}

// The blocks with "<prefix><block>.positions" tensors in a file, in file order.
std::vector<std::string> sheet_blocks(const formats::SafetensorsFile& f, const std::string& prefix) {
  const std::string suffix = ".positions";
  std::vector<std::string> blocks;
  for (const auto& [name, t] : f.tensors)
    if (name.starts_with(prefix) && name.ends_with(suffix) && name.size() > prefix.size() + suffix.size() &&
        (!prefix.empty() || !name.starts_with(kSheetPrefix)))
      blocks.push_back(name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()));
  return blocks;
}

}  // namespace

void save_checkpoint(const std::string& path, const ResNet3d& net, const ModelSpec& spec,
                     const std::vector<SheetPositions>& sheets, const std::map<std::string, std::string>& extra,
                     const std::vector<std::pair<std::string, Tensor>>& training_state) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, t] : training_state)
    MTMAP_CHECK(name.starts_with(kTrainingStatePrefix), "save_checkpoint {}: training-state tensor '{}' must start with '{}'",
                path, name, kTrainingStatePrefix);
  for (const nn::NamedTensor& p : net.named_parameters()) tensors.emplace_back(p.name, p.tensor);
  for (const nn::NamedTensor& b : net.named_buffers()) tensors.emplace_back(b.name, b.tensor);
  std::map<std::string, std::string> meta = extra;
  meta["mtmap.format"] = kCheckpointFormat;
  meta["mtmap.model"] = model_spec_to_json(spec).dump();
  for (const SheetPositions& s : sheets) {
    const std::string name = kSheetPrefix + s.block + ".positions";
    check_positions(s.positions, path, name);
    tensors.emplace_back(name, s.positions.to(DType::f64));
    meta[kSheetPrefix + s.block + ".side_mm"] = fmt::format("{:.17g}", s.side_mm);
    meta[kSheetPrefix + s.block + ".neighbourhood_mm"] = fmt::format("{:.17g}", s.neighbourhood_mm);
  }
  tensors.insert(tensors.end(), training_state.begin(), training_state.end());
  formats::save_safetensors(path, tensors, meta);
}

const SheetPositions* Checkpoint::sheet(const std::string& block) const {
  for (const SheetPositions& s : sheets)
    if (s.block == block) return &s;
  return nullptr;
}

Checkpoint read_checkpoint(const std::string& path) { return checkpoint_from_file(formats::load_safetensors(path), path); }

Checkpoint checkpoint_from_file(formats::SafetensorsFile file, const std::string& path) {
  Checkpoint c;
  c.path = path;
  c.file = std::move(file);
  auto model = c.file.metadata.find("mtmap.model");
  if (model != c.file.metadata.end()) {
    json j;
    try {
      j = json::parse(model->second);
    } catch (const json::exception& e) {
      MTMAP_FAIL("{}: metadata 'mtmap.model' is not valid JSON ({})", path, e.what());
    }
    c.spec = model_spec_from_json(j, path + " (metadata mtmap.model)");
  }
  for (const std::string& block : sheet_blocks(c.file, kSheetPrefix)) {
    SheetPositions s;
    s.block = block;
    const std::string name = kSheetPrefix + block + ".positions";
    s.positions = c.file.at(name).to(DType::f64);
    check_positions(s.positions, path, name);
    s.side_mm = metadata_number(c.file, path, kSheetPrefix + block + ".side_mm");
    s.neighbourhood_mm = metadata_number(c.file, path, kSheetPrefix + block + ".neighbourhood_mm");
    c.sheets.push_back(std::move(s));
  }
  return c;
}

SheetPositions read_sheet_positions(const std::string& path, const std::string& block) {
  const formats::SafetensorsFile f = formats::load_safetensors(path);
  // A checkpoint names its sheet tensors with a prefix, a sheet file of cortex::save_sheets without.
  for (const std::string& prefix : {std::string(kSheetPrefix), std::string()}) {
    const std::string name = prefix + block + ".positions";
    if (!f.contains(name)) continue;
    SheetPositions s;
    s.block = block;
    s.positions = f.at(name).to(DType::f64);
    check_positions(s.positions, path, name);
    auto side = f.metadata.find(prefix + block + ".side_mm");
    auto width = f.metadata.find(prefix + block + ".neighbourhood_mm");
    if (side != f.metadata.end()) s.side_mm = metadata_number(f, path, side->first);
    if (width != f.metadata.end()) s.neighbourhood_mm = metadata_number(f, path, width->first);
    return s;
  }
  std::vector<std::string> blocks = sheet_blocks(f, kSheetPrefix);
  for (const std::string& b : sheet_blocks(f, "")) blocks.push_back(b);
  MTMAP_FAIL(
      "{}: no sheet positions for block {} (tensor '{}{}.positions' or '{}.positions'); the file has positions "
      "for: {}",
      path, block, kSheetPrefix, block, block,
      blocks.empty() ? "no block" : fmt::format("{}", fmt::join(blocks, ", ")));
}

std::shared_ptr<ResNet3d> load_model(const Checkpoint& ckpt, const ModelSpec& spec, const std::string& spec_origin) {
  Generator gen(0);  // the initial values are all overwritten
  auto net = std::make_shared<ResNet3d>(spec.net, gen);
  try {
    formats::load_module(ckpt.file, ckpt.path, *net, /*strict=*/true, {kSheetPrefix, kTrainingStatePrefix});
  } catch (const Error& e) {
    MTMAP_FAIL("{}\n  (the model was built from {}: {})", e.what(), spec_origin, model_spec_to_json(spec).dump());
  }
  return net;
}

}  // namespace mtmap::models
