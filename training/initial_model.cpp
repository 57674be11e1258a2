#include "training/initial_model.h"

#include <algorithm>
#include <filesystem>

#include "cortex/sheet.h"
#include "engine/core/error.h"

namespace mtmap::training {

int64_t InitialModel::parameter_count() const {
  int64_t n = 0;
  for (const Tensor& p : net->parameters()) n += p.numel();
  return n;
}

InitialModel init_model(const models::ModelSpec& spec, uint64_t seed, const std::vector<cortex::SheetSpec>& table,
                        double jitter_mm) {
  InitialModel m;
  m.blocks = models::block_shapes(spec);  // also checks that the input fits
  Generator gen(seed);
  m.net = std::make_shared<models::ResNet3d>(spec.net, gen);
  cortex::RetinotopyOptions retinotopy;
  retinotopy.jitter_mm = jitter_mm;
  for (const models::BlockShape& b : m.blocks) {
    auto it = std::find_if(table.begin(), table.end(), [&](const cortex::SheetSpec& s) { return s.block == b.name; });
    if (it == table.end()) {
      m.without_sheet.push_back(b.name);
      continue;
    }
    m.sheets.push_back({b.name, it->side_mm, it->neighbourhood_mm,
                        cortex::retinotopic_positions(b.channels, b.height, b.width, it->side_mm, gen, retinotopy)});
  }
  return m;
}

InitialModel write_initial_checkpoint(const std::string& path, const models::ModelSpec& spec, uint64_t seed) {
  InitialModel m = init_model(spec, seed);
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    MTMAP_CHECK(!ec, "cannot create the folder {} for {}: {}", parent.string(), path, ec.message());
  }
  models::save_checkpoint(path, *m.net, spec, m.sheets, {{"mtmap.init_seed", std::to_string(seed)}});
  return m;
}

}  // namespace mtmap::training
