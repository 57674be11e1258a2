// Training on a GPU runs the same code as on the CPU: three steps of experiments/smoke.json on
// cuda:0 against the same steps on the CPU, in exact float32 (also on batches made on the GPU) and with TF32 convolutions, and the
// gradients themselves (through what two steps did to every parameter); bf16 mixed precision. Skipped (77) without a
// GPU; on the CPU emulator of the CUDA runtime (tests/cuda_emu) in every CI run.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "formats/safetensors.h"
#include "tests/training/training_fixtures.h"
#include "training/initial_model.h"
#include "training/trainer.h"

using namespace mtmap;

namespace {

// The losses of three (or `steps`) smoke steps on `device`.
std::vector<double> three_steps(nlohmann::json j, const std::string& device, int steps = 3) {
  j["training"]["steps"] = steps;
  j["training"]["device"] = device;
  training::TrainOptions o;
  o.out_dir = test::fresh_dir("cuda-" + device + (j["training"].value("tf32", true) ? "-tf32" : "") + "-" +
                              j["training"].value("precision", "f32") + "-" + j["data"].value("generate_on", "cpu"));
  o.live = 0;
  o.log = stdout;
  return training::train(test::smoke_config(j), o).losses;
}

// Every parameter of the model trained for `steps` steps on `device` (the checkpoint's tensors).
std::map<std::string, std::vector<double>> trained_parameters(nlohmann::json j, const std::string& device, int steps) {
  j["training"]["steps"] = steps;
  j["training"]["device"] = device;
  training::TrainOptions o;
  o.out_dir = test::fresh_dir("cuda-grad-" + device);
  o.live = 0;
  o.log = stdout;
  const training::TrainSummary s = training::train(test::smoke_config(j), o);
  REQUIRE(!s.final_model.empty());
  std::map<std::string, std::vector<double>> out;
  for (const auto& [name, t] : formats::load_safetensors(s.final_model).tensors)
    if (t.dtype() == DType::f32) out[name] = t.to(DType::f64).to_vector<double>();
  return out;
}

}  // namespace

TEST_CASE("cuda training in exact float32 follows the CPU's losses step by step", "[training][cuda]") {
  nlohmann::json j = test::smoke_json();
  j["training"]["tf32"] = false;  // the same arithmetic as the CPU's, up to summation order
  const std::vector<double> cpu = three_steps(j, "cpu"), gpu = three_steps(j, "cuda:0");
  REQUIRE(gpu.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    INFO("step " << i + 1 << ": cpu " << cpu[i] << " cuda " << gpu[i]);
    CHECK(std::abs(gpu[i] - cpu[i]) <= 1e-4 * std::abs(cpu[i]));
  }
  // The same run on batches made on the GPU (data.generate_on = "device", io/device_batches.h):
  // the same samples and augmentations, so the same loss but for the renderer's last bit now and
  // then (tests/io/test_device_batches.cpp). One step: the batches are what differs.
  j["data"]["generate_on"] = "device";
  const std::vector<double> made_on_gpu = three_steps(j, "cuda:0", 1);
  REQUIRE(made_on_gpu.size() == 1);
  INFO("step 1: batches from the loader " << gpu[0] << ", made on the GPU " << made_on_gpu[0]);
  CHECK(std::abs(made_on_gpu[0] - gpu[0]) <= 1e-5 * std::abs(gpu[0]));
}

TEST_CASE("cuda training with TF32 convolutions: the first step near the CPU's, every step finite",
          "[training][cuda]") {
  // TF32 rounds the convolutions' operands to 10-bit mantissas: step 1 differs from the CPU's by
  // that rounding alone (measured 3e-4 on the emulator); the smoke run's high learning rate then
  // amplifies it (3 % by step 3), so later steps are only checked to be finite.
  const nlohmann::json j = test::smoke_json();
  const std::vector<double> cpu = three_steps(j, "cpu"), gpu = three_steps(j, "cuda:0");
  REQUIRE(gpu.size() == 3);
  INFO("step 1: cpu " << cpu[0] << " cuda " << gpu[0]);
  CHECK(std::abs(gpu[0] - cpu[0]) <= 2e-3 * std::abs(cpu[0]));
  for (double l : gpu) CHECK(std::isfinite(l));
}

// The losses agreeing says little about the gradients of the parameters that touch them weakly. Two
// SGD steps move each parameter by −lr·(momentum and weight decay applied to its gradients): the
// same arithmetic on both devices, so the CUDA step's update of every parameter must match the
// CPU's. The tolerance is in the norm of each tensor's update (summation order, exact float32).
TEST_CASE("cuda training in exact float32 updates every parameter as the CPU's gradients do", "[training][cuda]") {
  nlohmann::json j = test::smoke_json();
  j["training"]["tf32"] = false;
  const training::TrainConfig c = test::smoke_config(j);
  const training::InitialModel init = training::init_model(c.model, c.training.seed, c.sheets.blocks, c.sheets.jitter_mm);
  const auto cpu = trained_parameters(j, "cpu", 2), gpu = trained_parameters(j, "cuda:0", 2);
  int compared = 0;
  for (const nn::NamedTensor& p : init.net->named_parameters()) {
    const std::vector<double> before = p.tensor.to(DType::f64).to_vector<double>();
    REQUIRE(cpu.count(p.name) == 1);
    REQUIRE(gpu.count(p.name) == 1);
    const std::vector<double>& a = cpu.at(p.name);
    const std::vector<double>& b = gpu.at(p.name);
    REQUIRE(a.size() == before.size());
    REQUIRE(b.size() == before.size());
    double update = 0, differ = 0;
    for (size_t i = 0; i < before.size(); ++i) {
      update += (a[i] - before[i]) * (a[i] - before[i]);
      differ += (b[i] - a[i]) * (b[i] - a[i]);
    }
    INFO(p.name << ": |CPU update| " << std::sqrt(update) << ", |CUDA − CPU| " << std::sqrt(differ));
    CHECK(update > 0);  // every parameter got a gradient
    CHECK(std::sqrt(differ) <= 1e-3 * std::sqrt(update));
    ++compared;
  }
  CHECK(compared > 40);
}

// training.precision = "bf16" reaches the convolutions of both encoders: step 1's loss is near
// the CPU's f32 loss (the rounding of bf16 operands alone: the float64-referenced bounds of that
// arithmetic are tests/cuda/test_cuda_model.cpp's) but not equal to it, where the exact f32 run
// above agrees to 1e-4 and better; every step is finite.
TEST_CASE("cuda training in bf16 mixed precision: the first step near the CPU's, not equal, every step finite",
          "[training][cuda]") {
  nlohmann::json j = test::smoke_json();
  const std::vector<double> cpu = three_steps(j, "cpu");
  j["training"]["precision"] = "bf16";
  const std::vector<double> gpu = three_steps(j, "cuda:0");
  REQUIRE(gpu.size() == 3);
  const double r = std::abs(gpu[0] - cpu[0]) / std::abs(cpu[0]);
  std::printf("bf16 mixed precision, smoke step 1: loss %.9g against the CPU's f32 %.9g (relative %.3g)\n", gpu[0],
              cpu[0], r);
  CHECK(r <= 2e-2);
  CHECK(r >= 1e-6);
  for (double l : gpu) CHECK(std::isfinite(l));
}
