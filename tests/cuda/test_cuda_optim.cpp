// CUDA parity of the optimiser over the flat parameter buffer: FlatParameters built from a module
// whose parameters live on the GPU, SGD (momentum, weight decay, the no-decay mask, the first
// step's plain copy into the momentum buffer) over several steps, and the EMA update.
// f32 and f64 are bit-exact with the CPU: the GPU kernels round every product and sum exactly as
// the CPU loop does (no FMA). bf16 computes in float and rounds the parameters and the momentum
// buffer once per step, so its first step equals the CPU f32 step rounded to bf16 bit for bit;
// later steps start from the rounded state and drift by about one bf16 rounding per step
// (relative 2^-9 of the parameter): rtol 1e-2 over three steps.
#include "engine/nn/flat_parameters.h"
#include "engine/ops/copy.h"
#include "engine/optim/sgd.h"
#include "tests/cuda/cuda_test_util.h"

namespace mtmap::test {
namespace {

// Parameters of odd sizes (no multiple of a block), some exempt from weight decay, on any device.
class Toy : public nn::Module {
 public:
  Toy(const std::vector<Tensor>& values, Device d) {
    for (size_t i = 0; i < values.size(); ++i)
      register_parameter(fmt::format("p{}", i), values[i].to(d).detach(), /*decay=*/i % 2 == 0);
  }
};

std::vector<Tensor> toy_values(Generator& gen, DType t) {
  return {random_input({3, 5, 7}, gen, t), random_input({1}, gen, t), random_input({257, 3}, gen, t),
          random_input({1000}, gen, t), random_input({64, 3, 3, 3, 3}, gen, t)};
}

std::vector<Tensor> reference_values(const std::vector<Tensor>& v) {
  std::vector<Tensor> r;
  for (const Tensor& t : v) r.push_back(reference_input(t));
  return r;
}

}  // namespace

TEST_CASE("cuda FlatParameters: parameters become views of a GPU buffer, grads of a zeroed one", "[optim]") {
  PoisonScope poison;
  Generator gen(81);
  for (DType t : float_types()) {
    std::vector<Tensor> v = toy_values(gen, t);
    Toy m(v, gpu());
    nn::FlatParameters flat(m);
    REQUIRE(flat.params().device() == gpu());
    int64_t at = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      std::string what = fmt::format("{} parameter {}", dtype_name(t), i);
      check_equal(v[i].reshape({v[i].numel()}), flat.params().narrow(0, at, v[i].numel()), what + " value");
      std::vector<double> mask = flat.decay_mask().narrow(0, at, v[i].numel()).to(Device::cpu()).to_vector<double>();
      for (double x : mask) REQUIRE(x == (i % 2 == 0 ? 1.0 : 0.0));
      at += v[i].numel();
    }
    check_equal(zeros({flat.numel()}, t), flat.grads(), fmt::format("{} zeroed grads", dtype_name(t)));
    copy_into(flat.grads(), random_input({flat.numel()}, gen, t).to(gpu()));
    flat.zero_grad();
    check_equal(zeros({flat.numel()}, t), flat.grads(), fmt::format("{} zero_grad", dtype_name(t)));
  }
}

TEST_CASE("cuda sgd: several steps with momentum and weight decay match the CPU", "[optim]") {
  for (DType t : float_types()) {
    PoisonScope poison;
    Generator gen(82);
    std::vector<Tensor> v = toy_values(gen, t);
    Toy cpu_model(reference_values(v), Device::cpu()), gpu_model(v, gpu());
    nn::FlatParameters cpu_flat(cpu_model), gpu_flat(gpu_model);
    optim::SgdOptions o;
    o.momentum = 0.9;
    o.weight_decay = 0.05;  // large enough that the mask visibly matters
    optim::Sgd cpu_sgd(cpu_flat, o), gpu_sgd(gpu_flat, o);
    const double lrs[] = {0.1, 0.03, 0.2};
    for (int step = 0; step < 3; ++step) {
      Tensor g = random_input({cpu_flat.numel()}, gen, t);
      copy_into(cpu_flat.grads(), reference_input(g));
      copy_into(gpu_flat.grads(), g.to(gpu()));
      cpu_sgd.step(lrs[step]);
      gpu_sgd.step(lrs[step]);
      std::string what = fmt::format("sgd {} step {}", dtype_name(t), step);
      if (t != DType::bf16)
        check_equal(cpu_flat.params(), gpu_flat.params(), what);
      else if (step == 0)
        check_equal(cpu_flat.params().to(DType::bf16), gpu_flat.params(), what);
      else
        check_close(cpu_flat.params(), gpu_flat.params(), 1e-2, 1e-2, what);
    }
    // The module's own parameter tensors see the update (they are views of the flat buffer).
    check_equal(gpu_flat.params().narrow(0, 0, 105).reshape({3, 5, 7}), gpu_model.named_parameters()[0].tensor,
                fmt::format("sgd {} parameter view", dtype_name(t)));
  }
}

TEST_CASE("cuda ema_update matches the CPU", "[optim]") {
  for (DType t : float_types()) {
    PoisonScope poison;
    Generator gen(83);
    std::vector<Tensor> a = toy_values(gen, t), b = toy_values(gen, t);
    Toy cpu_target(reference_values(a), Device::cpu()), cpu_source(reference_values(b), Device::cpu());
    Toy gpu_target(a, gpu()), gpu_source(b, gpu());
    nn::FlatParameters ct(cpu_target), cs(cpu_source), gt(gpu_target), gs(gpu_source);
    optim::ema_update(ct, cs, 0.99);
    optim::ema_update(gt, gs, 0.99);
    std::string what = fmt::format("ema_update {}", dtype_name(t));
    check_equal(t == DType::bf16 ? ct.params().to(DType::bf16) : ct.params(), gt.params(), what);
    // The source is left alone.
    check_equal(t == DType::bf16 ? cs.params().to(DType::bf16) : cs.params(), gs.params(), what + " source");
  }
}

TEST_CASE("cuda ema_update rejects a source on another device, naming both") {
  if (gpu().is_cpu()) return;  // the self-check mode has one device only
  Generator gen(84);
  std::vector<Tensor> v = toy_values(gen, DType::f32);
  Toy on_gpu(v, gpu()), on_cpu(v, Device::cpu());
  nn::FlatParameters target(on_gpu), source(on_cpu);
  REQUIRE_THROWS_WITH(optim::ema_update(target, source, 0.9), Catch::Contains("ema_update") && Catch::Contains("cpu"));
}

}  // namespace mtmap::test
