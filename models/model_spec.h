#pragma once
// What it takes to rebuild a trained ResNet3d from its weights: the architecture (ResNet3dConfig)
// and the input it was trained on (clip frames, frame size, the per-channel normalisation). Stored
// as JSON in a checkpoint's metadata and accepted as the `model` section of a config, with the
// same keys both ways, so a checkpoint exported from PyTorch (no metadata) can be described by hand.
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/resnet3d.h"

namespace mtmap::models {

struct ModelSpec {
  ResNet3dConfig net;
  int64_t frames = 16;  // clip length T the model was trained on
  int64_t size = 112;   // frame side S (square frames)
  // The input normalisation (x − mean)/std per RGB channel: the ImageNet/Kinetics convention the
  // data pipeline's augmentations use (io::AugmentConfig; a test keeps the two equal).
  std::array<double, 3> mean = {0.485, 0.456, 0.406};
  std::array<double, 3> std = {0.229, 0.224, 0.225};
};

// Strict: unknown keys, wrong types and out-of-range values throw naming `origin`.key (e.g.
// "model.json.width"). Missing keys keep the defaults above (full-scale r3d-18).
ModelSpec model_spec_from_json(const nlohmann::json& j, const std::string& origin);
nlohmann::json model_spec_to_json(const ModelSpec& s);

// Every block's output shape (C, T, H, W) for one clip of the spec's input, in block order.
struct BlockShape {
  std::string name;
  int64_t channels = 0, frames = 0, height = 0, width = 0;
  int64_t units() const { return channels * height * width; }  // docs/model.md §2: a unit is one (c, h, w)
};
std::vector<BlockShape> block_shapes(const ModelSpec& s);

}  // namespace mtmap::models
