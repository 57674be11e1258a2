#include "models/resnet3d.h"

#include <algorithm>
#include <limits>

#include "engine/core/fault_injection.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/norm_pool.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"

namespace mtmap::models {
namespace {

// A module holding other modules under given names, for torchvision's nesting ("layer1" → "0").
class Container : public nn::Module {
 public:
  template <class M>
  void add(const std::string& name, std::shared_ptr<M> m) {
    register_module(name, std::move(m));
  }
};

}  // namespace

ConvBn::ConvBn(int64_t in, int64_t out, std::array<int64_t, 3> kernel, std::array<int64_t, 3> stride,
               std::array<int64_t, 3> padding, Generator& gen, DType dtype) {
  conv = register_module("0", std::make_shared<nn::Conv3d>(in, out, kernel, stride, padding, gen, dtype));
  bn = register_module("1", std::make_shared<nn::BatchNorm3d>(out, dtype));
}

BasicBlock::BasicBlock(int64_t in, int64_t out, int64_t stride, Generator& gen, DType dtype) {
  std::array<int64_t, 3> s{stride, stride, stride};
  conv1 = register_module("conv1", std::make_shared<ConvBn>(in, out, std::array<int64_t, 3>{3, 3, 3}, s,
                                                            std::array<int64_t, 3>{1, 1, 1}, gen, dtype));
  conv2 = register_module("conv2", std::make_shared<ConvBn>(out, out, std::array<int64_t, 3>{3, 3, 3},
                                                            std::array<int64_t, 3>{1, 1, 1},
                                                            std::array<int64_t, 3>{1, 1, 1}, gen, dtype));
  if (stride != 1 || in != out)
    downsample = register_module("downsample", std::make_shared<ConvBn>(in, out, std::array<int64_t, 3>{1, 1, 1}, s,
                                                                        std::array<int64_t, 3>{0, 0, 0}, gen, dtype));
}

namespace {
// A tensor the GPU would store in bf16, as the CPU keeps it: f32 rounded to bf16 values (the
// cast's backward rounds the gradient coming back, as the GPU's bf16 gradient is).
Tensor as_bf16_values(const Tensor& v, bool bf16) {
  return bf16 && v.dtype() != DType::bf16 ? v.to(DType::bf16).to(v.dtype()) : v;
}
}  // namespace

Tensor ConvBn::forward(const Tensor& x, bool relu, bool bf16) const {
  return as_bf16_values(bn->forward(conv->forward(x), relu), bf16);
}

Tensor BasicBlock::forward(const Tensor& x, bool bf16) const {
  Tensor h = conv2->forward(conv1->forward(x, /*relu=*/true, bf16), /*relu=*/false, bf16);
  Tensor shortcut = downsample ? downsample->forward(x, /*relu=*/false, bf16) : x;
  return as_bf16_values(add_relu(h, shortcut), bf16);
}

void ResNet3d::set_bf16_activations(bool on) {
  bf16_activations_ = on;
  apply([on](nn::Module& m) {
    if (auto* conv = dynamic_cast<nn::Conv3d*>(&m)) {
      if (on) conv->bf16_operands = true;
      conv->bf16_output = on;
    }
  });
}

ResNet3d::ResNet3d(const ResNet3dConfig& config, Generator& gen) : config_(config) {
  MTMAP_CHECK(config.width > 0 && config.in_channels > 0, "ResNet3d: width {} and input channels {} must be positive",
              config.width, config.in_channels);
  for (int d : config.depth) MTMAP_CHECK(d >= 1, "ResNet3d: every stage needs at least one block, depth [{}]", fmt::join(config.depth, ", "));
  if (config.stem == Stem::r3d)
    stem_ = register_module("stem", std::make_shared<ConvBn>(config.in_channels, config.width, std::array<int64_t, 3>{3, 7, 7},
                                                             std::array<int64_t, 3>{1, 2, 2},
                                                             std::array<int64_t, 3>{1, 3, 3}, gen, config.dtype));
  else
    stem_ = register_module("stem", std::make_shared<ConvBn>(config.in_channels, config.width, std::array<int64_t, 3>{7, 7, 7},
                                                             std::array<int64_t, 3>{1, 2, 2},
                                                             std::array<int64_t, 3>{3, 3, 3}, gen, config.dtype));
  int64_t in = config.width;
  for (int stage = 0; stage < 4; ++stage) {
    int64_t out = config.width << stage;
    auto layer = register_module("layer" + std::to_string(stage + 1), std::make_shared<Container>());
    stages_.emplace_back();
    for (int b = 0; b < config.depth[size_t(stage)]; ++b) {
      int64_t stride = (b == 0 && stage > 0) ? 2 : 1;
      auto block = std::make_shared<BasicBlock>(in, out, stride, gen, config.dtype);
      layer->add(std::to_string(b), block);
      stages_.back().push_back(block);
      in = out;
    }
  }
  if (config.projection_dim > 0) {
    auto fc = register_module("fc", std::make_shared<Container>());
    fc0_ = std::make_shared<nn::Linear>(in, in, true, gen, config.dtype);
    fc2_ = std::make_shared<nn::Linear>(in, config.projection_dim, true, gen, config.dtype);
    fc->add("0", fc0_);
    fc->add("2", fc2_);  // index 1 is the ReLU, as in MoCo v2's nn.Sequential
  }
}

std::vector<std::string> ResNet3d::block_names() const {
  std::vector<std::string> names;
  for (size_t s = 0; s < stages_.size(); ++s)
    for (size_t b = 0; b < stages_[s].size(); ++b) names.push_back(fmt::format("layer{}.{}", s + 1, b));
  return names;
}

namespace {
// MTMAP_FAULT_NONFINITE (engine/core/fault_injection.h): one NaN added to the first element, so it
// flows on through the network and its gradient as a real one would.
Tensor inject_nonfinite_if_asked(const std::string& site, const Tensor& h) {
  if (!fault::nonfinite_requested(site)) return h;
  Tensor nan = zeros(h.shape(), DType::f32, Device::cpu());
  nan.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  return add(h, nan.to(h.dtype()).to(h.device()));
}
}  // namespace

ResNet3dOutput ResNet3d::forward(const Tensor& x, const std::vector<std::string>& keep, bool trace) const {
  MTMAP_CHECK(x.ndim() == 5 && x.size(1) == config_.in_channels, "ResNet3d: input {} must be (N, {}, T, H, W)",
              shape_str(x.shape()), config_.in_channels);
  std::vector<std::string> known = block_names();
  for (const std::string& k : keep)
    MTMAP_CHECK(std::find(known.begin(), known.end(), k) != known.end(), "ResNet3d: no block named '{}' (blocks: {})", k,
                fmt::join(known, ", "));
  ResNet3dOutput out;
  const bool bf16 = bf16_activations_;
  // Back to the model's dtype where the activations leave the network (a no-op unless bf16 ones).
  auto model_dtype = [&](const Tensor& v) { return v.dtype() == config_.dtype ? v : v.to(config_.dtype); };
  Tensor h = stem_->forward(x, /*relu=*/true, bf16);
  if (config_.stem == Stem::hara) {
    Pool3dOptions pool;
    pool.kernel = {3, 3, 3};
    pool.stride = {2, 2, 2};
    pool.padding = {1, 1, 1};
    h = max_pool3d(h, pool);
  }
  h = inject_nonfinite_if_asked("stem", h);
  if (trace) out.trace.emplace_back("stem", h);
  for (size_t s = 0; s < stages_.size(); ++s)
    for (size_t b = 0; b < stages_[s].size(); ++b) {
      h = stages_[s][b]->forward(h, bf16);
      std::string name = fmt::format("layer{}.{}", s + 1, b);
      h = inject_nonfinite_if_asked(name, h);
      if (std::find(keep.begin(), keep.end(), name) != keep.end()) out.blocks[name] = model_dtype(h);
      if (trace) out.trace.emplace_back(name, h);
    }
  out.features = mean(model_dtype(h), {2, 3, 4});
  if (fc0_) out.embedding = l2_normalize(fc2_->forward(relu(fc0_->forward(out.features))), 1);
  return out;
}

}  // namespace mtmap::models
