#include "models/model_spec.h"

#include <cmath>
#include <functional>
#include <map>

#include "engine/autograd/grad_mode.h"
#include "engine/core/error.h"

namespace mtmap::models {
namespace {

using json = nlohmann::json;

const char* stem_name(Stem s) { return s == Stem::r3d ? "r3d" : "hara"; }

void check_positive(int64_t v, const std::string& key) {
  MTMAP_CHECK(v > 0, "{} = {} (need a positive integer)", key, v);
}

}  // namespace

ModelSpec model_spec_from_json(const json& j, const std::string& origin) {
  MTMAP_CHECK(j.is_object(), "{}: expected a JSON object describing the model, got {}", origin, j.type_name());
  ModelSpec s;
  // Key → setter: a key not in the table is reported with the known ones, never ignored.
  const std::map<std::string, std::function<void(const json&, const std::string&)>> keys = {
      {"stem",
       [&](const json& v, const std::string& key) {
         const std::string name = v.get<std::string>();
         MTMAP_CHECK(name == "r3d" || name == "hara", "{} = '{}' (need r3d or hara)", key, name);
         s.net.stem = name == "r3d" ? Stem::r3d : Stem::hara;
       }},
      {"depth",
       [&](const json& v, const std::string& key) {
         const auto d = v.get<std::vector<int>>();
         MTMAP_CHECK(d.size() == 4, "{} has {} entries (need 4 stages)", key, d.size());
         for (size_t i = 0; i < 4; ++i) {
           MTMAP_CHECK(d[i] >= 1, "{}[{}] = {} (every stage needs a block)", key, i, d[i]);
           s.net.depth[i] = d[i];
         }
       }},
      {"width", [&](const json& v, const std::string& key) { check_positive(s.net.width = v.get<int64_t>(), key); }},
      {"in_channels",
       [&](const json& v, const std::string& key) { check_positive(s.net.in_channels = v.get<int64_t>(), key); }},
      {"projection_dim",
       [&](const json& v, const std::string& key) {
         s.net.projection_dim = v.get<int64_t>();
         MTMAP_CHECK(s.net.projection_dim >= 0, "{} = {} (need ≥ 0; 0 = no head)", key, s.net.projection_dim);
       }},
      {"dtype",
       [&](const json& v, const std::string& key) {
         const std::string name = v.get<std::string>();
         MTMAP_CHECK(name == "f32" || name == "f64", "{} = '{}' (need f32 or f64)", key, name);
         s.net.dtype = name == "f32" ? DType::f32 : DType::f64;
       }},
      {"frames", [&](const json& v, const std::string& key) { check_positive(s.frames = v.get<int64_t>(), key); }},
      {"size", [&](const json& v, const std::string& key) { check_positive(s.size = v.get<int64_t>(), key); }},
      {"mean", [&](const json& v, const std::string&) { s.mean = v.get<std::array<double, 3>>(); }},
      {"std",
       [&](const json& v, const std::string& key) {
         s.std = v.get<std::array<double, 3>>();
         for (double x : s.std) MTMAP_CHECK(x > 0 && std::isfinite(x), "{} contains {} (need > 0)", key, x);
       }},
  };
  for (const auto& [key, value] : j.items()) {
    const std::string path = origin + "." + key;
    auto it = keys.find(key);
    if (it == keys.end()) {
      std::vector<std::string> known;
      for (const auto& [k, _] : keys) known.push_back(k);
      MTMAP_FAIL("{}: unknown model key (known keys: {})", path, fmt::join(known, ", "));
    }
    try {
      it->second(value, path);
    } catch (const json::exception& e) {
      MTMAP_FAIL("{}: wrong type ({}): {}", path, value.dump(), e.what());
    }
  }
  return s;
}

json model_spec_to_json(const ModelSpec& s) {
  return {{"stem", stem_name(s.net.stem)},
          {"depth", s.net.depth},
          {"width", s.net.width},
          {"in_channels", s.net.in_channels},
          {"projection_dim", s.net.projection_dim},
          {"dtype", dtype_name(s.net.dtype)},
          {"frames", s.frames},
          {"size", s.size},
          {"mean", s.mean},
          {"std", s.std}};
}

std::vector<BlockShape> block_shapes(const ModelSpec& s) {
  // The block outputs' T, H, W do not depend on the width, so a width-1 twin without a head runs
  // one zero clip and gives them exactly (no second copy of the stride arithmetic to drift); the
  // channels scale with the width.
  ResNet3dConfig twin = s.net;
  twin.width = 1;
  twin.projection_dim = 0;
  twin.dtype = DType::f32;
  Generator gen(0);
  ResNet3d net(twin, gen);
  net.eval();
  autograd::NoGradGuard no_grad;
  const std::vector<std::string> names = net.block_names();
  ResNet3dOutput out = net.forward(zeros({1, s.net.in_channels, s.frames, s.size, s.size}), names);
  std::vector<BlockShape> shapes;
  for (const std::string& name : names) {
    const Tensor& b = out.blocks.at(name);
    shapes.push_back({name, b.size(1) * s.net.width, b.size(2), b.size(3), b.size(4)});
  }
  return shapes;
}

}  // namespace mtmap::models
