// nn::Module::to(device): every parameter and buffer moves, the layers' own handles follow, the
// values survive, and the module computes on the device what it computed on the host.
#include "engine/autograd/grad_mode.h"
#include "engine/nn/layers.h"
#include "tests/cuda/cuda_test_util.h"

using namespace mtmap;

namespace {

class TwoLayers : public nn::Module {
 public:
  explicit TwoLayers(Generator& gen) {
    lin = register_module("lin", std::make_shared<nn::Linear>(5, 3, true, gen));
    bn = register_module("bn", std::make_shared<nn::BatchNorm3d>(3));
  }
  std::shared_ptr<nn::Linear> lin;
  std::shared_ptr<nn::BatchNorm3d> bn;
};

}  // namespace

TEST_CASE("Module::to moves parameters and buffers in place", "[cuda][module]") {
  Generator gen(7);
  TwoLayers m(gen);
  const std::vector<float> w = m.lin->weight.to_vector<float>();
  Tensor x = test::random_input({4, 5}, gen, DType::f32);
  autograd::NoGradGuard no_grad;
  const std::vector<float> host = m.lin->forward(x).to_vector<float>();
  m.to(test::gpu());
  for (const auto& p : m.named_parameters()) CHECK(p.tensor.device() == test::gpu());
  for (const auto& b : m.named_buffers()) CHECK(b.tensor.device() == test::gpu());
  CHECK(m.lin->weight.device() == test::gpu());  // the layer's own field, not just the registry's copy
  CHECK(m.bn->running_var.device() == test::gpu());
  CHECK(m.lin->weight.requires_grad());
  CHECK(m.lin->weight.to(Device::cpu()).to_vector<float>() == w);
  const std::vector<float> dev = m.lin->forward(x.to(test::gpu())).to(Device::cpu()).to_vector<float>();
  REQUIRE(dev.size() == host.size());
  for (size_t i = 0; i < dev.size(); ++i) CHECK(dev[i] == Approx(host[i]).margin(1e-5));
  m.to(Device::cpu());
  CHECK(m.lin->weight.device() == Device::cpu());
  CHECK(m.lin->weight.to_vector<float>() == w);
}
