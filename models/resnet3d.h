#pragma once
// The 3D ResNet-18 backbone of docs/model.md §1 with the MoCo v2 projection head.
// Parameter names follow torchvision's r3d_18 (stem.0.weight, layer1.0.conv1.0.weight, …) and
// MoCo v2's head (fc.0, fc.2), so weights move between PyTorch and mtmap both ways.
#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/nn/layers.h"

namespace mtmap::models {

enum class Stem { r3d, hara };

struct ResNet3dConfig {
  Stem stem = Stem::r3d;
  std::array<int, 4> depth{2, 2, 2, 2};
  int64_t width = 64;          // channels of layer1; stages have width·[1, 2, 4, 8]
  int64_t in_channels = 3;
  int64_t projection_dim = 128;  // 0: no projection head
  DType dtype = DType::f32;
};

// conv → BN (→ ReLU in forward when asked): the "conv1"/"conv2"/"downsample"/"stem" units,
// children named "0" (the convolution) and "1" (the batch norm) as in torchvision.
class ConvBn : public nn::Module {
 public:
  ConvBn(int64_t in, int64_t out, std::array<int64_t, 3> kernel, std::array<int64_t, 3> stride,
         std::array<int64_t, 3> padding, Generator& gen, DType dtype);
  // bf16: the activations are bf16 (ResNet3d::set_bf16_activations); on the CPU, which keeps
  // them f32, the output is rounded to bf16 values where a GPU stores it in bf16.
  Tensor forward(const Tensor& x, bool relu, bool bf16 = false) const;
  std::shared_ptr<nn::Conv3d> conv;
  std::shared_ptr<nn::BatchNorm3d> bn;
};

class BasicBlock : public nn::Module {
 public:
  BasicBlock(int64_t in, int64_t out, int64_t stride, Generator& gen, DType dtype);
  Tensor forward(const Tensor& x, bool bf16 = false) const;  // bf16: as ConvBn's
  std::shared_ptr<ConvBn> conv1, conv2, downsample;  // downsample null when the shape is kept
};

struct ResNet3dOutput {
  Tensor features;                         // (N, C) after global average pooling
  Tensor embedding;                        // (N, projection_dim), L2-normalised; undefined without a head
  std::map<std::string, Tensor> blocks;    // the requested block outputs, (N, C, T, H, W)
  // With forward(…, trace = true): the stem's output and every block's, in order ("stem",
  // "layer1.0", …), to find where a non-finite value first appeared. In training they are held by
  // the autograd graph anyway; in inference they would be kept alive, hence opt-in.
  std::vector<std::pair<std::string, Tensor>> trace;
};

class ResNet3d : public nn::Module {
 public:
  ResNet3d(const ResNet3dConfig& config, Generator& gen);
  // x (N, in_channels, T, H, W). `keep`: names of block outputs to return ("layer3.1", …).
  // The reliability tests' MTMAP_FAULT_NONFINITE (engine/core/fault_injection.h) can put a NaN
  // into the stem's or a block's output here.
  ResNet3dOutput forward(const Tensor& x, const std::vector<std::string>& keep = {}, bool trace = false) const;
  const ResNet3dConfig& config() const { return config_; }
  // Every block's name in order: layer1.0 … layer4.1 for depth [2,2,2,2].
  std::vector<std::string> block_names() const;
  int64_t feature_channels() const { return config_.width * 8; }
  // Mixed precision with bf16 activations (training.precision = "bf16"): every convolution on bf16
  // operands (nn::Conv3d::bf16_operands) with its bf16 output kept, batch norm taking bf16 with its
  // f32 parameters and statistics, the residual additions and ReLUs in bf16; the kept block
  // outputs, the pooled features and the head in the model's dtype. On a GPU the activations are
  // bf16 tensors (half the memory); on the CPU they stay f32, rounded to bf16 values at the same
  // points: the reference the GPU's mixed precision is tested against.
  void set_bf16_activations(bool on);
  bool bf16_activations() const { return bf16_activations_; }

 private:
  ResNet3dConfig config_;
  bool bf16_activations_ = false;
  std::shared_ptr<ConvBn> stem_;
  std::vector<std::vector<std::shared_ptr<BasicBlock>>> stages_;
  std::shared_ptr<nn::Linear> fc0_, fc2_;
};

}  // namespace mtmap::models
