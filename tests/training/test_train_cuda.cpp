// Training on a GPU runs the same code as on the CPU: three steps of experiments/smoke.json on
// cuda:0 (TF32 convolutions) against the same steps on the CPU. Skipped (77) without a GPU; on the
// CPU emulator of the CUDA runtime (tests/cuda_emu) in every CI run.
#include <catch2/catch.hpp>

#include <cmath>

#include "tests/training/training_fixtures.h"
#include "training/trainer.h"

using namespace mtmap;

TEST_CASE("cuda training: three smoke steps follow the CPU's losses", "[training][cuda]") {
  nlohmann::json j = test::smoke_json();
  j["training"]["steps"] = 3;
  std::vector<double> cpu, gpu;
  for (const char* device : {"cpu", "cuda:0"}) {
    j["training"]["device"] = device;
    training::TrainOptions o;
    o.out_dir = test::fresh_dir(std::string("cuda-") + device);
    o.live = 0;
    o.log = stdout;
    const training::TrainSummary s = training::train(test::smoke_config(j), o);
    (std::string(device) == "cpu" ? cpu : gpu) = s.losses;
  }
  REQUIRE(gpu.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    INFO("step " << i + 1 << ": cpu " << cpu[i] << " cuda " << gpu[i]);
    CHECK(std::isfinite(gpu[i]));
    // TF32 convolutions (10-bit mantissa) on the GPU, exact f32 on the CPU.
    CHECK(std::abs(gpu[i] - cpu[i]) <= 2e-2 * std::abs(cpu[i]));
  }
}
