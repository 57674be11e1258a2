// The autograd engine: accumulation, shared subgraphs, no_grad, pruning, early frees, deep graphs.
#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/linalg.h"
#include "engine/ops/reduce.h"
#include "tests/test_support.h"

using namespace mtmap;

TEST_CASE("gradients accumulate into leaves across backward calls", "[autograd]") {
  Tensor x = from_vector<double>({1, 2, 3}, {3});
  x.set_requires_grad(true);
  sum(mul(x, x)).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 4, 6});
  sum(mul(x, 3.0)).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{5, 7, 9});
  x.zero_grad();
  CHECK(!x.grad().defined());
}

TEST_CASE("a value used twice (diamond) gets the sum of both paths", "[autograd]") {
  Tensor x = from_vector<double>({2}, {1});
  x.set_requires_grad(true);
  Tensor y = exp(x);
  Tensor z = add(mul(y, y), y);  // dz/dx = (2y + 1) * y
  z.backward(ones({1}, DType::f64));
  double ey = std::exp(2.0);
  CHECK(x.grad().item() == Approx((2 * ey + 1) * ey));
}

TEST_CASE("no_grad records nothing, inputs without requires_grad get nothing", "[autograd]") {
  Tensor x = from_vector<double>({1, 2}, {2});
  x.set_requires_grad(true);
  Tensor c = from_vector<double>({5, 7}, {2});
  {
    autograd::NoGradGuard guard;
    Tensor y = mul(x, c);
    CHECK(!y.grad_fn());
    CHECK_THROWS_AS(sum(y).backward(), Error);
  }
  Tensor y = mul(x, c);
  REQUIRE(y.grad_fn());
  CHECK(y.grad_fn()->next()[1].node == nullptr);  // c needs no gradient: its edge is pruned
  sum(y).backward();
  CHECK(!c.grad().defined());
  CHECK(x.grad().to_vector<double>() == std::vector<double>{5, 7});
}

TEST_CASE("a graph can be walked once, saved tensors are freed as nodes run", "[autograd]") {
  Allocator& alloc = cpu_allocator();
  Tensor x = ones({256, 256}, DType::f64);
  x.set_requires_grad(true);
  size_t base = alloc.stats().allocated;
  Tensor loss = sum(exp(exp(exp(x))));
  size_t with_graph = alloc.stats().allocated;
  CHECK(with_graph > base + 3 * 256 * 256 * 8);  // three saved activations
  loss.backward();
  // Left: x.grad and the loss itself; every saved activation is gone.
  CHECK(alloc.stats().allocated < base + 2 * 256 * 256 * 8);
  CHECK_THROWS_WITH(loss.backward(), Catch::Contains("second time"));
}

TEST_CASE("deep graphs do not overflow the stack", "[autograd]") {
  Tensor x = from_vector<double>({1.0}, {1});
  x.set_requires_grad(true);
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = add(y, 1e-6);
  y.backward(ones({1}, DType::f64));
  CHECK(x.grad().item() == 1.0);
}

TEST_CASE("backward needs a gradient for non-scalars", "[autograd]") {
  Tensor x = from_vector<double>({1, 2}, {2});
  x.set_requires_grad(true);
  Tensor y = mul(x, 2.0);
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("[2]"));
  CHECK_THROWS_WITH(y.backward(ones({3}, DType::f64)), Catch::Contains("[3]"));
  CHECK_THROWS_AS(from_vector<int64_t>({1}, {1}).set_requires_grad(true), Error);
}

TEST_CASE("a two-layer network trains: loss falls, same seed gives the same losses bit for bit", "[autograd]") {
  auto train = [] {
    Generator g(99);
    Tensor w1 = mul(randn({4, 8}, g), 0.5).set_requires_grad(true);
    Tensor w2 = mul(randn({8, 1}, g), 0.5).set_requires_grad(true);
    Tensor x = randn({32, 4}, g);
    Tensor target = sum(mul(x, x), {1}, true);
    std::vector<float> losses;
    for (int step = 0; step < 50; ++step) {
      Tensor pred = matmul(relu(matmul(x, w1)), w2);
      Tensor loss = mean(pow(sub(pred, target), 2.0));
      losses.push_back(float(loss.item()));
      w1.zero_grad();
      w2.zero_grad();
      loss.backward();
      autograd::NoGradGuard ng;
      w1 = sub(w1, mul(w1.grad(), 0.01)).set_requires_grad(true);
      w2 = sub(w2, mul(w2.grad(), 0.01)).set_requires_grad(true);
    }
    return losses;
  };
  std::vector<float> a = train(), b = train();
  CHECK(a == b);
  CHECK(a.back() < 0.5f * a.front());
}

TEST_CASE("the gradient check catches a wrong backward rule", "[autograd][gradcheck]") {
  // y = x^2 with a backward rule that forgets the factor 2 on the second element only.
  auto wrong_square = [](const std::vector<Tensor>& in) {
    Tensor x = in[0];
    Tensor y = mul(x.detach(), x.detach());
    if (autograd::needs_grad({&x}))
      autograd::record("wrong_square", {x}, y, [x = x.detach()](const Tensor& g, const std::vector<bool>&) {
        Tensor factor = from_vector<double>({2, 1, 2}, {3});
        return std::vector<Tensor>{mul(mul(g, x), factor)};
      });
    return y;
  };
  Tensor x = test::leaf({3}, 5);
  autograd::GradcheckResult r = autograd::gradcheck("wrong_square", wrong_square, {x});
  CHECK(!r.ok);
  CHECK_THAT(r.report, Catch::Contains("element 1"));
  CHECK_THAT(r.report, !Catch::Contains("element 0"));
  // A rule that is right everywhere passes, and an input that should get no gradient is checked.
  Tensor c = from_vector<double>({1, 2, 3}, {3});
  auto right = [](const std::vector<Tensor>& in) { return mul(in[0], in[1]); };
  CHECK(autograd::gradcheck("mul", right, {x, c}).ok);
}

TEST_CASE("a deep graph dropped without backward is destroyed without recursion", "[autograd]") {
  Tensor x = from_vector<double>({1.0}, {1});
  x.set_requires_grad(true);
  {
    Tensor y = x;
    for (int i = 0; i < 200000; ++i) y = mul(y, 1.0);
    CHECK(y.grad_fn());
  }  // the whole chain goes here
  CHECK(!x.grad().defined());
}
