// The 3D ResNet: shapes at the scales of docs/model.md §1, names, a block's float64 gradient check,
// determinism.
#include <algorithm>

#include "engine/nn/flat_parameters.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/optim/sgd.h"
#include "models/resnet3d.h"
#include "tests/test_support.h"

using namespace mtmap;
using models::ResNet3d;
using models::ResNet3dConfig;
using Ts = std::vector<Tensor>;

TEST_CASE("r3d block output shapes follow docs/model.md", "[resnet3d]") {
  Generator g(11);
  ResNet3dConfig c;
  c.width = 4;
  ResNet3d net(c, g);
  std::vector<std::string> names = net.block_names();
  REQUIRE(names.size() == 8);
  CHECK(names.front() == "layer1.0");
  CHECK(names.back() == "layer4.1");
  // 16×112×112 shrinks as 16×56² → 8×28² → 4×14² → 2×7² (docs/model.md §1), here at width 4.
  Tensor x = randn({1, 3, 16, 112, 112}, g);
  models::ResNet3dOutput out = net.forward(x, names);
  CHECK(out.blocks.at("layer1.1").shape() == Shape{1, 4, 16, 56, 56});
  CHECK(out.blocks.at("layer2.0").shape() == Shape{1, 8, 8, 28, 28});
  CHECK(out.blocks.at("layer3.1").shape() == Shape{1, 16, 4, 14, 14});
  CHECK(out.blocks.at("layer4.1").shape() == Shape{1, 32, 2, 7, 7});
  CHECK(out.features.shape() == Shape{1, 32});
  CHECK(out.embedding.shape() == Shape{1, 128});
  CHECK(sum(mul(out.embedding, out.embedding)).item() == Approx(1.0));
  CHECK_THROWS_WITH(net.forward(x, {"layer5.0"}), Catch::Contains("layer5.0"));
  CHECK_THROWS_WITH(net.forward(randn({1, 1, 4, 8, 8}, g)), Catch::Contains("[1, 1, 4, 8, 8]"));
}

TEST_CASE("Hara stem halves time and space with its max-pool", "[resnet3d]") {
  Generator g(12);
  ResNet3dConfig c;
  c.stem = models::Stem::hara;
  c.width = 2;
  c.projection_dim = 0;
  ResNet3d net(c, g);
  models::ResNet3dOutput out = net.forward(randn({1, 3, 16, 64, 64}, g), {"layer1.0"});
  CHECK(out.blocks.at("layer1.0").shape() == Shape{1, 2, 8, 16, 16});
  CHECK(!out.embedding.defined());
  CHECK(net.named_parameters()[0].tensor.shape() == Shape{2, 3, 7, 7, 7});
}

TEST_CASE("parameter names match torchvision's r3d_18 and MoCo v2's head", "[resnet3d]") {
  Generator g(13);
  ResNet3dConfig c;
  c.width = 2;
  ResNet3d net(c, g);
  std::vector<std::string> params, buffers;
  for (auto& p : net.named_parameters()) params.push_back(p.name);
  for (auto& b : net.named_buffers()) buffers.push_back(b.name);
  auto has = [](const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); };
  CHECK(has(params, "stem.0.weight"));
  CHECK(has(params, "stem.1.weight"));
  CHECK(has(params, "layer1.0.conv1.0.weight"));
  CHECK(has(params, "layer1.1.conv2.1.bias"));
  CHECK(has(params, "layer2.0.downsample.0.weight"));
  CHECK(has(params, "layer4.1.conv2.0.weight"));
  CHECK(has(params, "fc.0.weight"));
  CHECK(has(params, "fc.2.bias"));
  CHECK(!has(params, "layer1.0.downsample.0.weight"));  // layer1 keeps the shape: identity shortcut
  CHECK(has(buffers, "layer3.0.downsample.1.running_var"));
  CHECK(has(buffers, "stem.1.num_batches_tracked"));
}

TEST_CASE("a BasicBlock with a downsample passes the float64 gradient check", "[resnet3d][gradcheck]") {
  Generator g(14);
  models::BasicBlock block(2, 3, 2, g, DType::f64);
  Tensor x = test::leaf({2, 2, 3, 4, 3}, 15);
  REQUIRE_GRADCHECK("basic_block", [&](const Ts& in) { return block.forward(in[0]); }, {x});
  Tensor fixed = x.detach();
  auto r = autograd::gradcheck_params("basic_block_params", [&] { return block.forward(fixed); }, block.parameters());
  INFO(r.report);
  CHECK(r.ok);
  CHECK(r.checked == 2 * 3 * 27 + 3 * 3 * 27 + 3 * 2 + 6 * 3);  // conv1, conv2, downsample weights + 3 BNs
}

TEST_CASE("same seed, same training losses, bit for bit", "[resnet3d]") {
  auto run = [] {
    Generator g(16);
    ResNet3dConfig c;
    c.width = 2;
    c.projection_dim = 8;
    ResNet3d net(c, g);
    nn::FlatParameters flat(net);
    optim::Sgd sgd(flat, {});
    std::vector<double> losses;
    Tensor x = randn({2, 3, 4, 16, 16}, g);
    for (int step = 0; step < 3; ++step) {
      flat.zero_grad();
      Tensor e = net.forward(x).embedding;
      Tensor loss = sum(mul(e, e.narrow(0, 1, 1)));
      losses.push_back(loss.item());
      loss.backward();
      sgd.step(0.1);
    }
    return losses;
  };
  std::vector<double> a = run(), b = run();
  CHECK(a == b);
  CHECK(a[0] != a[2]);  // it did train
}

// Module::apply reaches every module once, parents before children: here, setting every
// convolution's CUDA options (what bench_train_step_cuda does to allow TF32).
TEST_CASE("apply visits every module of the r3d once, so every Conv3d can be configured", "[resnet3d]") {
  Generator g(12);
  ResNet3dConfig c;
  c.width = 4;
  ResNet3d net(c, g);
  int modules = 0, convs = 0;
  std::vector<const nn::Module*> seen;
  net.apply([&](nn::Module& m) {
    ++modules;
    seen.push_back(&m);
    if (auto* conv = dynamic_cast<nn::Conv3d*>(&m)) {
      ++convs;
      conv->options.cuda.allow_tf32 = true;
    }
  });
  CHECK(seen.front() == &net);
  CHECK(convs == 20);  // stem, 8 blocks × 2, 3 downsamples
  std::sort(seen.begin(), seen.end());
  CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
  // Every ConvBn unit's convolution now carries the option.
  CHECK(dynamic_cast<nn::Conv3d&>(net.child("stem").child("0")).options.cuda.allow_tf32);
  CHECK(dynamic_cast<nn::Conv3d&>(net.child("layer4").child("0").child("downsample").child("0")).options.cuda.allow_tf32);
  CHECK(modules > convs);
}
