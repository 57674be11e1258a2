// nn modules, flat buffers, SGD, the cosine schedule and EMA.
#include <cmath>

#include "engine/nn/flat_parameters.h"
#include "engine/nn/layers.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/linalg.h"
#include "engine/ops/reduce.h"
#include "engine/optim/sgd.h"
#include "tests/test_support.h"

using namespace mtmap;
using Ts = std::vector<Tensor>;

namespace {

class TwoLayer : public nn::Module {
 public:
  explicit TwoLayer(Generator& g, DType dtype = DType::f32) {
    a = register_module("a", std::make_shared<nn::Linear>(3, 4, true, g, dtype));
    b = register_module("b", std::make_shared<nn::Linear>(4, 2, false, g, dtype));
  }
  Tensor forward(const Tensor& x) const { return b->forward(relu(a->forward(x))); }
  std::shared_ptr<nn::Linear> a, b;
};

}  // namespace

TEST_CASE("modules name their parameters like PyTorch state dicts", "[nn]") {
  Generator g(1);
  TwoLayer m(g);
  std::vector<nn::NamedTensor> p = m.named_parameters();
  REQUIRE(p.size() == 3);
  CHECK(p[0].name == "a.weight");
  CHECK(p[1].name == "a.bias");
  CHECK(!p[1].decay);
  CHECK(p[2].name == "b.weight");
  CHECK(p[2].tensor.shape() == Shape{2, 4});
  m.eval();
  CHECK(!m.child("a").training());
  m.train();
  CHECK(m.child("b").training());
  CHECK_THROWS_WITH(m.child("c"), Catch::Contains("'c'"));
}

TEST_CASE("Linear float64 gradient check", "[nn][gradcheck]") {
  Generator g(2);
  nn::Linear lin(5, 3, true, g, DType::f64);
  REQUIRE_GRADCHECK("linear", [&](const Ts& x) { return lin.forward(x[0]); }, {test::leaf({2, 4, 5}, 3)});
  // and with respect to the parameters themselves
  REQUIRE_GRADCHECK("linear_params",
                    [&](const Ts& x) { return add(matmul(test::leaf({2, 5}, 4).detach(), x[0].transpose(0, 1)), x[1]); },
                    {lin.weight, lin.bias});
}

TEST_CASE("flat buffers: parameters and gradients are views into one buffer each", "[nn]") {
  Generator g(5);
  TwoLayer m(g);
  std::vector<float> before = m.a->weight.to_vector<float>();
  nn::FlatParameters flat(m);
  CHECK(flat.numel() == 3 * 4 + 4 + 4 * 2);
  CHECK(m.a->weight.to_vector<float>() == before);  // values kept
  CHECK(m.a->weight.raw() == flat.params().raw());  // first segment
  CHECK(static_cast<float*>(m.b->weight.raw()) == static_cast<float*>(flat.params().raw()) + 16);
  CHECK(flat.decay_mask().to_vector<float>()[12] == 0.0f);  // a.bias
  Tensor x = randn({6, 3}, g);
  sum(m.forward(x)).backward();
  // The gradient landed in the flat buffer, in place.
  CHECK(m.a->weight.grad().raw() == flat.grads().raw());
  std::vector<float> grads = flat.grads().to_vector<float>();
  double norm = 0;
  for (float v : grads) norm += double(v) * v;
  CHECK(norm > 0);
  // A second backward accumulates in place.
  sum(m.forward(x)).backward();
  std::vector<float> twice = flat.grads().to_vector<float>();
  for (size_t i = 0; i < grads.size(); ++i) CHECK(twice[i] == Approx(2 * grads[i]));
  flat.zero_grad();
  for (float v : flat.grads().to_vector<float>()) CHECK(v == 0.0f);
}

TEST_CASE("SGD follows PyTorch's update rule with a no-decay list", "[optim]") {
  Generator g(6);
  TwoLayer m(g, DType::f64);
  nn::FlatParameters flat(m);
  optim::Sgd sgd(flat, {0.9, 0.1});
  std::vector<double> p0 = flat.params().to_vector<double>(), mask = flat.decay_mask().to_vector<double>();
  std::vector<double> buf(p0.size()), p = p0;
  Tensor x = randn({4, 3}, g, DType::f64);
  for (int step = 0; step < 3; ++step) {
    flat.zero_grad();
    sum(m.forward(x)).backward();
    std::vector<double> grad = flat.grads().to_vector<double>();
    sgd.step(0.5);
    for (size_t i = 0; i < p.size(); ++i) {
      double d = grad[i] + 0.1 * mask[i] * p[i];
      buf[i] = step == 0 ? d : 0.9 * buf[i] + d;
      p[i] -= 0.5 * buf[i];
    }
    std::vector<double> got = flat.params().to_vector<double>();
    for (size_t i = 0; i < p.size(); ++i) REQUIRE(got[i] == Approx(p[i]).epsilon(1e-12));
  }
  CHECK_THROWS_WITH(sgd.step(std::nan("")), Catch::Contains("learning rate"));
}

TEST_CASE("cosine schedule with warm-up", "[optim]") {
  optim::CosineSchedule s{0.1, 10, 110, 0.0};
  CHECK(s.lr(0) == Approx(0.01));
  CHECK(s.lr(9) == Approx(0.1));
  CHECK(s.lr(10) == Approx(0.1));
  CHECK(s.lr(60) == Approx(0.05));
  CHECK(s.lr(110) == Approx(0.0).margin(1e-12));
  CHECK(s.lr(500) == Approx(0.0).margin(1e-12));
}

TEST_CASE("EMA of one module's parameters into another's", "[optim]") {
  Generator g1(7), g2(8);
  TwoLayer q(g1, DType::f64), k(g2, DType::f64);
  nn::FlatParameters fq(q), fk(k);
  std::vector<double> a = fk.params().to_vector<double>(), b = fq.params().to_vector<double>();
  optim::ema_update(fk, fq, 0.99);
  std::vector<double> c = fk.params().to_vector<double>();
  for (size_t i = 0; i < a.size(); ++i) CHECK(c[i] == Approx(0.99 * a[i] + 0.01 * b[i]));
  Generator g3(9);
  nn::Linear other(3, 4, true, g3, DType::f64);
  nn::FlatParameters fo(other);
  CHECK_THROWS_WITH(optim::ema_update(fo, fq, 0.5), Catch::Contains("layouts differ"));
}
