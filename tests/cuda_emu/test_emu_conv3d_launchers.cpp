// The CUDA conv3d launchers end to end on the CPU emulator (kernels/cuda/conv3d.cu with the layout,
// analytic and implicit-GEMM kernel files, built as mtmap_kernels_cuda_emu): algorithm choice,
// workspace carving, NCDHW ↔ channels-last moves, the stem's weight rows, dgrad's weight
// transpose, split-K, for every algorithm and dtype it offers, through both entry points.
// Operands are multiples of 1/8 (exact in bf16 and TF32, every partial sum exact in f32), so each
// result equals the float64 loops rounded once to the output type, bit for bit.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/conv3d_reference.h"
#include "kernels/cuda/conv3d.h"
#include "kernels/cuda/conv3d_internal.h"
#include "tests/cuda_emu/emu_test_util.h"

using namespace mtmap;
using namespace mtmap::emu_test;

namespace {

struct Case {
  const char* name;
  int N, C, D, H, W, K, T, R, S, sd, sh, sw, pd, ph, pw;
};

const Case kCases[] = {
    {"3x3x3_c16_k16", 2, 16, 4, 5, 6, 16, 3, 3, 3, 1, 1, 1, 1, 1, 1},
    {"stem_c3_k8", 1, 3, 3, 9, 8, 8, 3, 7, 7, 1, 2, 2, 1, 3, 3},
    {"downsample_c8_k24", 2, 8, 5, 6, 4, 24, 1, 1, 1, 2, 2, 2, 0, 0, 0},
    {"3x3x3_stride2_c8_k16", 1, 8, 5, 6, 7, 16, 3, 3, 3, 2, 2, 2, 1, 1, 1},
    {"depth1_stride2_c8_k8", 1, 8, 1, 5, 4, 8, 1, 3, 3, 2, 2, 2, 0, 1, 1},  // a stride phase with no positions
    {"odd_c5_k3", 1, 5, 4, 5, 3, 3, 2, 3, 2, 1, 1, 1, 1, 0, 1},
};

Conv3dProblem problem_of(const Case& c) {
  Conv3dProblem p;
  p.N = c.N, p.C = c.C, p.D = c.D, p.H = c.H, p.W = c.W, p.K = c.K, p.T = c.T, p.R = c.R, p.S = c.S;
  p.stride_d = c.sd, p.stride_h = c.sh, p.stride_w = c.sw, p.pad_d = c.pd, p.pad_h = c.ph, p.pad_w = c.pw;
  p.compute_output();
  return p;
}

template <class T>
void expect_exact(const std::vector<T>& got, const std::vector<double>& want, const std::string& what) {
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    T w = from_double<T>(want[i]);
    if (std::memcmp(&got[i], &w, sizeof(T)) != 0 && bad++ == 0) first = i;
  }
  INFO(what << ": " << bad << " of " << got.size() << " differ; first at " << first << ": "
            << (bad ? to_double(got[first]) : 0.0) << " vs " << (bad ? want[first] : 0.0));
  CHECK(bad == 0);
}

template <class T>
void check_case(const Case& c, CudaConvConfig cfg, bool channels_last, uint32_t seed) {
  const Conv3dProblem p = problem_of(c);
  const DType t = dtype_of<T>();
  const int64_t dhw = p.D * p.H * p.W, zpq = p.Z * p.P * p.Q, trs = p.filter_volume();
  auto x = random_eighths(size_t(p.input_elements()), seed), w = random_eighths(size_t(p.weight_elements()), seed + 1),
       dy = random_eighths(size_t(p.output_elements()), seed + 2);
  std::vector<double> y(size_t(p.output_elements())), dx(size_t(p.input_elements())), dw(size_t(p.weight_elements()));
  cpu::conv3d_fprop_reference(p, x.data(), w.data(), y.data());
  cpu::conv3d_dgrad_reference(p, dy.data(), w.data(), dx.data());
  cpu::conv3d_wgrad_reference(p, x.data(), dy.data(), dw.data());
  if (channels_last) {
    using emu_test::channels_last;  // the function, not this function's flag of the same name
    x = channels_last(x, p.N, p.C, dhw), w = channels_last(w, p.K, p.C, trs), dy = channels_last(dy, p.N, p.K, zpq);
    y = channels_last(y, p.N, p.K, zpq), dx = channels_last(dx, p.N, p.C, dhw), dw = channels_last(dw, p.K, p.C, trs);
  }
  std::vector<T> xs = to_storage<T>(x), ws_ = to_storage<T>(w), dys = to_storage<T>(dy);
  emu::DeviceBuffer bx(xs.data(), xs.size() * sizeof(T)), bw(ws_.data(), ws_.size() * sizeof(T)),
      bdy(dys.data(), dys.size() * sizeof(T));
  const std::string what = std::string(c.name) + " " + dtype_name(t) + " algo " +
                           cuda::conv_algo_name(cuda::conv3d_resolve(ConvOperator::fprop, t, p, cfg)) +
                           (cfg.async_copy ? "" : " register-staged") +
                           (cfg.dgrad_stride_phases ? "" : " dgrad over all taps") +
                           (channels_last ? " channels-last" : " NCDHW");
  auto run = [&](ConvOperator op, auto launcher, const void* a, const void* b, size_t out_n) {
    size_t bytes = channels_last ? cuda::conv3d_cl_workspace_bytes(op, t, p, cfg)
                                 : cuda::conv3d_workspace_bytes(op, t, p, cfg);
    std::vector<unsigned char> ws(bytes + 1);
    std::vector<T> out = poisoned<T>(out_n);
    emu::DeviceBuffer bws(ws.data(), ws.size());
    launcher(t, p, cfg, a, b, out.data(), ws.data(), bytes, nullptr);
    return out;
  };
  auto fprop = channels_last ? cuda::conv3d_cl_fprop : cuda::conv3d_fprop;
  auto dgrad = channels_last ? cuda::conv3d_cl_dgrad : cuda::conv3d_dgrad;
  auto wgrad = channels_last ? cuda::conv3d_cl_wgrad : cuda::conv3d_wgrad;
  expect_exact(run(ConvOperator::fprop, fprop, xs.data(), ws_.data(), y.size()), y, what + " fprop");
  expect_exact(run(ConvOperator::dgrad, dgrad, dys.data(), ws_.data(), dx.size()), dx, what + " dgrad");
  expect_exact(run(ConvOperator::wgrad, wgrad, xs.data(), dys.data(), dw.size()), dw, what + " wgrad");
}

}  // namespace

TEST_CASE("emulated cuda conv3d launchers: every algorithm and dtype, both layouts, bit for bit", "[emu][conv3d]") {
  uint32_t seed = 40;
  for (const Case& c : kCases) {
    for (bool channels_last : {false, true}) {
      for (CudaConvAlgo algo : {CudaConvAlgo::automatic, CudaConvAlgo::implicit_gemm, CudaConvAlgo::stem}) {
        check_case<BFloat16>(c, {algo, false}, channels_last, seed += 3);
        check_case<float>(c, {algo, true}, channels_last, seed += 3);
      }
      check_case<BFloat16>(c, {CudaConvAlgo::implicit_gemm, false, false}, channels_last, seed += 3);  // no cp.async
      check_case<float>(c, {CudaConvAlgo::implicit_gemm, true, true, false}, channels_last, seed += 3);  // no phases
      if (!channels_last) {  // the analytic kernels: engine layout only
        check_case<double>(c, {CudaConvAlgo::analytic, false}, false, seed += 3);
        check_case<float>(c, {CudaConvAlgo::analytic, false}, false, seed += 3);
        check_case<BFloat16>(c, {CudaConvAlgo::analytic, false}, false, seed += 3);
      }
    }
  }
}

// The analytic wgrad's block follows the positions each weight sums over (N·Z·P·Q): every block
// size it picks, 32 to 256 threads, and more positions than threads (each thread then sums a
// strided share), against the float64 loops bit for bit.
TEST_CASE("emulated cuda analytic wgrad: every block size, and more positions than threads", "[emu][conv3d]") {
  const Case cases[] = {
      {"positions_6", 1, 2, 1, 3, 2, 2, 1, 3, 3, 1, 1, 1, 0, 1, 1},            // 32 threads
      {"positions_40", 2, 2, 1, 4, 5, 2, 1, 3, 3, 1, 1, 1, 0, 1, 1},           // 64
      {"positions_126", 1, 3, 2, 7, 9, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1},          // 128
      {"positions_256", 2, 2, 2, 8, 8, 2, 1, 3, 3, 1, 1, 1, 0, 1, 1},          // 256, one each
      {"positions_1000", 2, 2, 5, 10, 10, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1},       // 256, 3-4 each
  };
  const int want_threads[] = {32, 64, 128, 256, 256};
  uint32_t seed = 900;
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Conv3dProblem p = problem_of(cases[i]);
    INFO(cases[i].name << ": " << p.output_positions() << " positions");
    CHECK(cuda::conv_detail::analytic_wgrad_threads(p.output_positions()) == want_threads[i]);
    check_case<double>(cases[i], {CudaConvAlgo::analytic, false}, false, seed += 3);
    check_case<float>(cases[i], {CudaConvAlgo::analytic, false}, false, seed += 3);
  }
}
