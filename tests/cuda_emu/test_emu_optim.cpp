// The CUDA optimiser kernels (kernels/cuda/optim.cu on the CPU emulator) against the CPU kernels:
// SGD with momentum, weight decay and its mask (first step and later ones) and the EMA update,
// bit for bit over several steps, as the GPU test requires (both sides round every product and
// sum, no FMA contraction).
#include <catch2/catch.hpp>

#include <cstring>

#include "kernels/cpu/optim.h"
#include "kernels/cuda/optim.h"
#include "tests/cuda_emu/emu_test_util.h"

using namespace mtmap;
using namespace mtmap::emu_test;

namespace {

template <class T>
void expect_same_bits(const std::vector<T>& a, const std::vector<T>& b, const char* what) {
  size_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i) bad += std::memcmp(&a[i], &b[i], sizeof(T)) != 0;
  INFO(what << " " << dtype_name(dtype_of<T>()) << ": " << bad << " of " << a.size() << " differ");
  CHECK(bad == 0);
}

// The CPU kernels have no bf16: its reference step is the f32 kernel on the bf16 values, with the
// parameter and momentum rounded back to bf16 after each step (the GPU computes in float and
// rounds both once per step).
template <class T>
void check_optim(int64_t n, uint32_t seed) {
  std::vector<T> p = random_values<T>(size_t(n), seed), mask(p.size());
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = from_double<T>(i % 3 ? 1.0 : 0.0);
  std::vector<T> buf = poisoned<T>(size_t(n)), p_ref = p, buf_ref = buf, ema = random_values<T>(size_t(n), seed + 9),
                 ema_ref = ema;
  emu::DeviceBuffer bp(p.data(), p.size() * sizeof(T)), bm(mask.data(), mask.size() * sizeof(T)),
      bb(buf.data(), buf.size() * sizeof(T)), be(ema.data(), ema.size() * sizeof(T));
  for (int step = 0; step < 4; ++step) {
    std::vector<T> g = random_values<T>(size_t(n), seed + 100 + uint32_t(step));
    emu::DeviceBuffer bg(g.data(), g.size() * sizeof(T));
    cuda::sgd_step(dtype_of<T>(), n, p.data(), g.data(), buf.data(), mask.data(), 0.05, 0.9, 1e-4, step == 0, nullptr);
    auto pr = convert<Ref<T>>(p_ref), br = convert<Ref<T>>(buf_ref), gr = convert<Ref<T>>(g),
         mr = convert<Ref<T>>(mask), er = convert<Ref<T>>(ema_ref);
    cpu::sgd_step(dtype_of<Ref<T>>(), n, pr.data(), gr.data(), br.data(), mr.data(), 0.05, 0.9, 1e-4, step == 0);
    p_ref = convert<T>(pr), buf_ref = convert<T>(br);
    cuda::ema_update(dtype_of<T>(), n, ema.data(), p.data(), 0.999, nullptr);
    pr = convert<Ref<T>>(p_ref);
    cpu::ema_update(dtype_of<Ref<T>>(), n, er.data(), pr.data(), 0.999);
    ema_ref = convert<T>(er);
  }
  expect_same_bits(p, p_ref, "parameters");
  expect_same_bits(buf, buf_ref, "momentum");
  expect_same_bits(ema, ema_ref, "ema");
}

}  // namespace

TEST_CASE("emulated cuda SGD and EMA steps are bit-exact with the CPU kernels", "[emu][optim]") {
  for (int64_t n : {1, 300, 70001}) {
    check_optim<float>(n, 3);
    check_optim<double>(n, 5);
    check_optim<BFloat16>(n, 7);
  }
}
