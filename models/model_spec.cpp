#include "models/model_spec.h"

#include <cmath>
#include <functional>
#include <map>

#include "engine/core/error.h"
#include "formats/json_config.h"

namespace mtmap::models {
namespace {

using json = nlohmann::json;

const char* stem_name(Stem s) { return s == Stem::r3d ? "r3d" : "hara"; }

// Upper bounds far above any model this project trains (the preprint's is width 64, 16 frames of
// 112 px): a spec is also what block_shapes runs a clip through, so a typo like "size": 112000 is an
// error naming the key, never a forward pass over terabytes.
constexpr int64_t kMaxWidth = 4096, kMaxChannels = 64, kMaxProjection = 65536, kMaxFrames = 1024, kMaxSize = 4096;
constexpr int kMaxDepth = 64;
constexpr int64_t kMaxInputElements = int64_t(1) << 26;  // channels · frames · size² of one clip

void check_positive(int64_t v, const std::string& key, int64_t max) {
  MTMAP_CHECK(v > 0, "{} = {} (need a positive integer)", key, v);
  MTMAP_CHECK(v <= max, "{} = {} (at most {})", key, v, max);
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
         const auto d = formats::get_checked<std::vector<int>>(v, key);
         MTMAP_CHECK(d.size() == 4, "{} has {} entries (need 4 stages)", key, d.size());
         for (size_t i = 0; i < 4; ++i) {
           MTMAP_CHECK(d[i] >= 1, "{}[{}] = {} (every stage needs a block)", key, i, d[i]);
           MTMAP_CHECK(d[i] <= kMaxDepth, "{}[{}] = {} (at most {} blocks a stage)", key, i, d[i], kMaxDepth);
           s.net.depth[i] = d[i];
         }
       }},
      {"width", [&](const json& v, const std::string& key) { check_positive(s.net.width = formats::get_integer<int64_t>(v, key), key, kMaxWidth); }},
      {"in_channels",
       [&](const json& v, const std::string& key) { check_positive(s.net.in_channels = formats::get_integer<int64_t>(v, key), key, kMaxChannels); }},
      {"projection_dim",
       [&](const json& v, const std::string& key) {
         s.net.projection_dim = formats::get_integer<int64_t>(v, key);
         MTMAP_CHECK(s.net.projection_dim >= 0 && s.net.projection_dim <= kMaxProjection,
                     "{} = {} (need 0..{}; 0 = no head)", key, s.net.projection_dim, kMaxProjection);
       }},
      {"dtype",
       [&](const json& v, const std::string& key) {
         const std::string name = v.get<std::string>();
         MTMAP_CHECK(name == "f32" || name == "f64", "{} = '{}' (need f32 or f64)", key, name);
         s.net.dtype = name == "f32" ? DType::f32 : DType::f64;
       }},
      {"frames", [&](const json& v, const std::string& key) { check_positive(s.frames = formats::get_integer<int64_t>(v, key), key, kMaxFrames); }},
      {"size", [&](const json& v, const std::string& key) { check_positive(s.size = formats::get_integer<int64_t>(v, key), key, kMaxSize); }},
      {"mean",
       [&](const json& v, const std::string& key) {
         s.mean = v.get<std::array<double, 3>>();
         for (double x : s.mean) MTMAP_CHECK(std::isfinite(x), "{} contains {} (need finite values)", key, x);
       }},
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
  MTMAP_CHECK(s.net.in_channels * s.frames * s.size * s.size <= kMaxInputElements,
              "{}: a clip of in_channels · frames · size² = {} · {} · {}² values is too large (at most {})", origin,
              s.net.in_channels, s.frames, s.size, kMaxInputElements);
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
  // The block outputs' (T, H, W) by the window arithmetic of ResNet3d's layers (floor division, as
  // conv3d and max_pool3d compute it), not by running a clip through the network: every config
  // check asks, and a forward pass of one 512-px clip needs gigabytes (fuzzing found the validation
  // of such a config running out of memory). The test "block_shapes matches the model's own block
  // outputs" keeps this equal to a forward pass, for both stems and odd sizes.
  auto out = [](int64_t in, int64_t kernel, int64_t stride, int64_t padding) {
    return (in + 2 * padding - kernel) / stride + 1;
  };
  int64_t t = s.frames, h = s.size, w = s.size;
  if (s.net.stem == Stem::r3d) {  // conv (3, 7, 7), stride (1, 2, 2), padding (1, 3, 3)
    t = out(t, 3, 1, 1), h = out(h, 7, 2, 3), w = out(w, 7, 2, 3);
  } else {  // conv (7, 7, 7), stride (1, 2, 2), padding 3; then max pool 3, stride 2, padding 1
    t = out(t, 7, 1, 3), h = out(h, 7, 2, 3), w = out(w, 7, 2, 3);
    t = out(t, 3, 2, 1), h = out(h, 3, 2, 1), w = out(w, 3, 2, 1);
  }
  std::vector<BlockShape> shapes;
  for (int stage = 0; stage < 4; ++stage)
    for (int b = 0; b < s.net.depth[size_t(stage)]; ++b) {
      if (b == 0 && stage > 0) t = out(t, 3, 2, 1), h = out(h, 3, 2, 1), w = out(w, 3, 2, 1);  // conv1, stride 2
      shapes.push_back({fmt::format("layer{}.{}", stage + 1, b), s.net.width << stage, t, h, w});
    }
  return shapes;
}

}  // namespace mtmap::models
