// conv3d on the GPU: every conv layer shape of the r3d 3D ResNet-18 at 16×112×112, batches 8 and
// 32, fprop / dgrad / wgrad in bf16 (f32 accumulation), channels-last (NDHWC activations, KTRSC
// weights) for both sides: mtmap's shipped launcher (kernels/cuda/conv3d.h, algorithm automatic)
// against cuDNN's fastest algorithm from cudnnFind*AlgorithmEx, in one run.
//
// Each point: both outputs computed and compared (|a − b| ≤ 2^-7·|b| + 2^-7·rms(b): two bf16
// roundings, plus the different summation orders) before either is timed; an invalid point is
// reported, not timed, and makes the exit status 1. Timing: CUDA events around each
// launch, median of up to 30 runs after 2 warm-ups, each side capped at ~40 ms of runs per point.
//
// Where cuDNN is missing (not found at configure time) or refuses a point, mtmap is validated
// against its own analytic kernel at batch 1 on the same layer instead, and the point is timed
// without a peer ("cudnn_error" names why).
//
// Output: one JSON line per point (fields name their units), then a summary table. Exits 77 at
// once without a GPU. Options: --batches 8,32  --layers stem,layer1  --max-seconds 85
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/common/bf16.h"
#include "kernels/common/conv3d_igemm.h"
#include "kernels/common/conv3d_problem.h"
#include "kernels/cuda/conv3d.h"

#ifdef MTMAP_BENCH_CUDNN
#include <cudnn.h>
#endif

namespace {

using mtmap::BFloat16;
using mtmap::Conv3dProblem;
using mtmap::ConvOperator;

#define BENCH_CUDA(call)                                                                                             \
  do {                                                                                                               \
    cudaError_t e_ = (call);                                                                                         \
    if (e_ != cudaSuccess) {                                                                                         \
      std::fprintf(stderr, "bench_conv3d_cuda: %s failed: %s (line %d)\n", #call, cudaGetErrorString(e_), __LINE__); \
      std::exit(1);                                                                                                  \
    }                                                                                                                \
  } while (0)

struct Layer {
  const char* name;
  int64_t C, K, D, HW, t, rs, sd, shw, pd, phw;  // input C×D×HW², filter t×rs², stride, padding
};

// r3d-18 (the preprint's variant: 3×7×7 stem, stride (1,2,2), no max-pool) at 16×112×112.
const std::vector<Layer>& layers() {
  static const std::vector<Layer> l = {
      {"stem", 3, 64, 16, 112, 3, 7, 1, 2, 1, 3},
      {"layer1", 64, 64, 16, 56, 3, 3, 1, 1, 1, 1},
      {"layer2.0.conv1", 64, 128, 16, 56, 3, 3, 2, 2, 1, 1},
      {"layer2.0.downsample", 64, 128, 16, 56, 1, 1, 2, 2, 0, 0},
      {"layer2", 128, 128, 8, 28, 3, 3, 1, 1, 1, 1},
      {"layer3.0.conv1", 128, 256, 8, 28, 3, 3, 2, 2, 1, 1},
      {"layer3.0.downsample", 128, 256, 8, 28, 1, 1, 2, 2, 0, 0},
      {"layer3", 256, 256, 4, 14, 3, 3, 1, 1, 1, 1},
      {"layer4.0.conv1", 256, 512, 4, 14, 3, 3, 2, 2, 1, 1},
      {"layer4.0.downsample", 256, 512, 4, 14, 1, 1, 2, 2, 0, 0},
      {"layer4", 512, 512, 2, 7, 3, 3, 1, 1, 1, 1},
  };
  return l;
}

Conv3dProblem problem(const Layer& l, int64_t batch) {
  Conv3dProblem p;
  p.N = batch, p.C = l.C, p.D = l.D, p.H = l.HW, p.W = l.HW;
  p.K = l.K, p.T = l.t, p.R = l.rs, p.S = l.rs;
  p.stride_d = l.sd, p.stride_h = p.stride_w = l.shw;
  p.pad_d = l.pd, p.pad_h = p.pad_w = l.phw;
  p.compute_output();
  return p;
}

const char* op_name(ConvOperator op) {
  return op == ConvOperator::fprop ? "fprop" : op == ConvOperator::dgrad ? "dgrad" : "wgrad";
}

// Dense bf16 tensor-core peak of the card, TFLOP/s (0 = unknown: no % of peak reported).
double bf16_peak_tflops(const std::string& name) {
  if (name.find("H100") != std::string::npos) return name.find("PCIe") != std::string::npos ? 756.0 : 989.4;
  if (name.find("H200") != std::string::npos || name.find("GH200") != std::string::npos) return 989.4;
  if (name.find("A100") != std::string::npos) return 312.0;
  if (name.find("B200") != std::string::npos) return 2250.0;
  return 0.0;
}

// A device buffer, freed on scope exit.
struct DeviceBuffer {
  void* p = nullptr;
  size_t bytes = 0;
  explicit DeviceBuffer(size_t n) : bytes(n) {
    if (n) BENCH_CUDA(cudaMalloc(&p, n));
  }
  ~DeviceBuffer() {
    if (p) cudaFree(p);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

// Median milliseconds of `run` (CUDA events around each launch), after 2 warm-ups; as many runs as
// fit ~40 ms, between 3 and 30.
double time_ms(const std::function<void()>& run, cudaStream_t s) {
  cudaEvent_t a, b;
  BENCH_CUDA(cudaEventCreate(&a));
  BENCH_CUDA(cudaEventCreate(&b));
  auto once = [&] {
    BENCH_CUDA(cudaEventRecord(a, s));
    run();
    BENCH_CUDA(cudaEventRecord(b, s));
    BENCH_CUDA(cudaEventSynchronize(b));
    float ms = 0;
    BENCH_CUDA(cudaEventElapsedTime(&ms, a, b));
    return double(ms);
  };
  once();
  double first = once();
  int reps = int(std::clamp(40.0 / std::max(first, 1e-3), 3.0, 30.0));
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) t.push_back(once());
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::vector<float> to_host(const void* d, int64_t n) {
  std::vector<uint16_t> bits(size_t(n), 0);
  BENCH_CUDA(cudaMemcpy(bits.data(), d, size_t(n) * 2, cudaMemcpyDeviceToHost));
  std::vector<float> out(static_cast<size_t>(n));
  for (size_t i = 0; i < out.size(); ++i) out[i] = mtmap::bf16_to_float(BFloat16{bits[i]});
  return out;
}

struct Check {
  bool ok;
  double max_err_over_tol;  // largest |a − b| / tolerance
  int64_t bad;
};

Check compare(const std::vector<float>& got, const std::vector<float>& want) {
  double ss = 0;
  for (float v : want) ss += double(v) * v;
  double rms = want.empty() ? 0 : std::sqrt(ss / double(want.size()));
  double r = std::ldexp(1.0, -7), a = std::ldexp(1.0, -7) * rms + 1e-30;
  Check c{true, 0.0, 0};
  for (size_t i = 0; i < want.size(); ++i) {
    double err = std::abs(double(got[i]) - want[i]), tol = a + r * std::abs(double(want[i]));
    double q = std::isfinite(err) ? err / tol : 1e30;
    c.max_err_over_tol = std::max(c.max_err_over_tol, q);
    if (!(err <= tol)) ++c.bad;
  }
  c.ok = c.bad == 0;
  return c;
}

// Operand extents in elements, by operator: (in0, in1, out) as the launchers take them.
struct Extents {
  int64_t in0, in1, out;
};
Extents extents(const Conv3dProblem& p, ConvOperator op) {
  int64_t x = p.input_elements(), w = p.weight_elements(), y = p.output_elements();
  switch (op) {
    case ConvOperator::fprop:
      return {x, w, y};
    case ConvOperator::dgrad:
      return {y, w, x};
    case ConvOperator::wgrad:
      return {x, y, w};
  }
  return {};
}

// An error message as a JSON string body.
std::string json_safe(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '"' || c == '\\' ? '\'' : (c == '\n' ? ' ' : c);
  return out;
}

// mtmap's channels-last launcher for `op`.
void run_mtmap(ConvOperator op, const Conv3dProblem& p, const mtmap::CudaConvConfig& cfg, const void* in0,
               const void* in1, void* out, void* ws, size_t ws_bytes, cudaStream_t s) {
  switch (op) {
    case ConvOperator::fprop:
      mtmap::cuda::conv3d_cl_fprop(mtmap::DType::bf16, p, cfg, in0, in1, out, ws, ws_bytes, s);
      break;
    case ConvOperator::dgrad:
      mtmap::cuda::conv3d_cl_dgrad(mtmap::DType::bf16, p, cfg, in0, in1, out, ws, ws_bytes, s);
      break;
    case ConvOperator::wgrad:
      mtmap::cuda::conv3d_cl_wgrad(mtmap::DType::bf16, p, cfg, in0, in1, out, ws, ws_bytes, s);
      break;
  }
}

// The fallback check where cuDNN is missing or refuses a point: batch 1 of the same layer through
// mtmap's NCDHW launcher (automatic: the same tensor-core kernels) against its analytic kernel on
// the same bits, and the full-batch channels-last result `mine` finite everywhere (it was
// poisoned with NaN before the run).
Check check_against_analytic(const Layer& l, ConvOperator op, const void* in0, const void* in1, void* scratch,
                             const std::vector<float>& mine, cudaStream_t stream) {
  Conv3dProblem p1 = problem(l, 1);
  Extents e1 = extents(p1, op);
  mtmap::CudaConvConfig automatic, analytic{mtmap::CudaConvAlgo::analytic, false};
  size_t ws1 = mtmap::cuda::conv3d_workspace_bytes(op, mtmap::DType::bf16, p1, automatic);
  DeviceBuffer w1(ws1);
  auto run = [&](const mtmap::CudaConvConfig& c, void* w, size_t wb) {
    BENCH_CUDA(cudaMemset(scratch, 0xFF, size_t(e1.out) * 2));
    switch (op) {
      case ConvOperator::fprop:
        mtmap::cuda::conv3d_fprop(mtmap::DType::bf16, p1, c, in0, in1, scratch, w, wb, stream);
        break;
      case ConvOperator::dgrad:
        mtmap::cuda::conv3d_dgrad(mtmap::DType::bf16, p1, c, in0, in1, scratch, w, wb, stream);
        break;
      case ConvOperator::wgrad:
        mtmap::cuda::conv3d_wgrad(mtmap::DType::bf16, p1, c, in0, in1, scratch, w, wb, stream);
        break;
    }
    BENCH_CUDA(cudaStreamSynchronize(stream));
    return to_host(scratch, e1.out);
  };
  std::vector<float> ref = run(analytic, nullptr, 0);
  Check check = compare(run(automatic, w1.p, ws1), ref);
  for (float v : mine)
    if (!std::isfinite(v)) ++check.bad;
  check.ok = check.bad == 0;
  return check;
}

#ifdef MTMAP_BENCH_CUDNN
#define BENCH_CUDNN(call)                                                                                          \
  do {                                                                                                             \
    cudnnStatus_t s_ = (call);                                                                                     \
    if (s_ != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string(#call) + ": " + cudnnGetErrorString(s_)); \
  } while (0)

// cuDNN descriptors for one problem, NDHWC / KTRSC bf16, f32 compute, tensor-op math.
struct CudnnConv {
  cudnnTensorDescriptor_t x{}, y{};
  cudnnFilterDescriptor_t w{};
  cudnnConvolutionDescriptor_t conv{};
  explicit CudnnConv(const Conv3dProblem& p) {
    BENCH_CUDNN(cudnnCreateTensorDescriptor(&x));
    BENCH_CUDNN(cudnnCreateTensorDescriptor(&y));
    BENCH_CUDNN(cudnnCreateFilterDescriptor(&w));
    BENCH_CUDNN(cudnnCreateConvolutionDescriptor(&conv));
    int xd[5] = {int(p.N), int(p.C), int(p.D), int(p.H), int(p.W)};
    int yd[5] = {int(p.N), int(p.K), int(p.Z), int(p.P), int(p.Q)};
    int wd[5] = {int(p.K), int(p.C), int(p.T), int(p.R), int(p.S)};
    BENCH_CUDNN(cudnnSetTensorNdDescriptorEx(x, CUDNN_TENSOR_NHWC, CUDNN_DATA_BFLOAT16, 5, xd));
    BENCH_CUDNN(cudnnSetTensorNdDescriptorEx(y, CUDNN_TENSOR_NHWC, CUDNN_DATA_BFLOAT16, 5, yd));
    BENCH_CUDNN(cudnnSetFilterNdDescriptor(w, CUDNN_DATA_BFLOAT16, CUDNN_TENSOR_NHWC, 5, wd));
    int pad[3] = {int(p.pad_d), int(p.pad_h), int(p.pad_w)};
    int stride[3] = {int(p.stride_d), int(p.stride_h), int(p.stride_w)};
    int dil[3] = {int(p.dil_d), int(p.dil_h), int(p.dil_w)};
    BENCH_CUDNN(cudnnSetConvolutionNdDescriptor(conv, 3, pad, stride, dil, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    BENCH_CUDNN(cudnnSetConvolutionMathType(conv, CUDNN_TENSOR_OP_MATH));
  }
  ~CudnnConv() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  CudnnConv(const CudnnConv&) = delete;
  CudnnConv& operator=(const CudnnConv&) = delete;
};

struct CudnnChoice {
  int algo = -1;
  bool deterministic = false;
  size_t workspace = 0;
};

// The fastest algorithm cudnnFind*Ex measures (any determinism: "the best it offers").
CudnnChoice cudnn_find(cudnnHandle_t h, const CudnnConv& d, ConvOperator op, const void* in0, const void* in1,
                       void* out, void* ws, size_t ws_bytes) {
  constexpr int kMax = 16;
  int n = 0;
  CudnnChoice c;
  auto take = [&](auto* perf) {
    for (int i = 0; i < n; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= ws_bytes) {
        c.algo = int(perf[i].algo);
        c.deterministic = perf[i].determinism == CUDNN_DETERMINISTIC;
        c.workspace = perf[i].memory;
        return;
      }
  };
  switch (op) {
    case ConvOperator::fprop: {
      cudnnConvolutionFwdAlgoPerf_t perf[kMax];
      BENCH_CUDNN(cudnnFindConvolutionForwardAlgorithmEx(h, d.x, in0, d.w, in1, d.conv, d.y, out, kMax, &n, perf, ws,
                                                         ws_bytes));
      take(perf);
      break;
    }
    case ConvOperator::dgrad: {
      cudnnConvolutionBwdDataAlgoPerf_t perf[kMax];
      BENCH_CUDNN(cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.w, in1, d.y, in0, d.conv, d.x, out, kMax, &n, perf,
                                                              ws, ws_bytes));
      take(perf);
      break;
    }
    case ConvOperator::wgrad: {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[kMax];
      BENCH_CUDNN(cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d.x, in0, d.y, in1, d.conv, d.w, out, kMax, &n, perf,
                                                                ws, ws_bytes));
      take(perf);
      break;
    }
  }
  if (c.algo < 0) throw std::runtime_error("cudnnFind returned no usable algorithm");
  return c;
}

void run_cudnn(cudnnHandle_t h, const CudnnConv& d, ConvOperator op, const CudnnChoice& c, const void* in0,
               const void* in1, void* out, void* ws) {
  const float one = 1.0f, zero = 0.0f;
  switch (op) {
    case ConvOperator::fprop:
      BENCH_CUDNN(cudnnConvolutionForward(h, &one, d.x, in0, d.w, in1, d.conv, cudnnConvolutionFwdAlgo_t(c.algo), ws,
                                          c.workspace, &zero, d.y, out));
      break;
    case ConvOperator::dgrad:
      BENCH_CUDNN(cudnnConvolutionBackwardData(h, &one, d.w, in1, d.y, in0, d.conv,
                                               cudnnConvolutionBwdDataAlgo_t(c.algo), ws, c.workspace, &zero, d.x,
                                               out));
      break;
    case ConvOperator::wgrad:
      BENCH_CUDNN(cudnnConvolutionBackwardFilter(h, &one, d.x, in0, d.y, in1, d.conv,
                                                 cudnnConvolutionBwdFilterAlgo_t(c.algo), ws, c.workspace, &zero, d.w,
                                                 out));
      break;
  }
}
#endif

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

struct Row {
  std::string layer;
  int64_t batch;
  std::string op;
  double mtmap_ms, cudnn_ms, tflops, pct;
  bool valid;
  std::string alt_name = "";  // the point's other variant, timed after the shipped one
  double alt_ms = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> batches = {8, 32};
  std::vector<std::string> only;
  double max_seconds = 85;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_conv3d_cuda: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--batches") {
      batches.clear();
      for (const std::string& b : split_list(value())) batches.push_back(std::stoll(b));
    } else if (a == "--layers") {
      only = split_list(value());
    } else if (a == "--max-seconds") {
      max_seconds = std::stod(value());
    } else {
      std::fprintf(stderr, "bench_conv3d_cuda: unknown argument %s (--batches, --layers, --max-seconds)\n", a.c_str());
      return 2;
    }
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("bench_conv3d_cuda: no usable CUDA device (no GPU, or no driver): skipping (exit 77)\n");
    return 77;
  }
  cudaDeviceProp prop{};
  BENCH_CUDA(cudaGetDeviceProperties(&prop, 0));
  const std::string device = prop.name;
  const double peak = bf16_peak_tflops(device);
  const auto start = std::chrono::steady_clock::now();
  cudaStream_t stream;
  BENCH_CUDA(cudaStreamCreate(&stream));

  // One set of buffers at the largest extent any point needs, filled once with U(−1, 1) bf16.
  int64_t max_act = 0, max_w = 0;
  for (const Layer& l : layers())
    for (int64_t b : batches) {
      Conv3dProblem p = problem(l, b);
      max_act = std::max({max_act, p.input_elements(), p.output_elements()});
      max_w = std::max(max_w, p.weight_elements());
    }
  const int64_t max_elems = std::max(max_act, max_w);
  DeviceBuffer in0(size_t(max_elems) * 2), in1(size_t(max_elems) * 2), out_m(size_t(max_elems) * 2),
      out_r(size_t(max_elems) * 2);
  {
    std::vector<uint16_t> host(static_cast<size_t>(max_elems));
    std::mt19937 rng(12345);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (uint16_t& h : host) h = mtmap::float_to_bf16(u(rng)).bits;
    BENCH_CUDA(cudaMemcpy(in0.p, host.data(), host.size() * 2, cudaMemcpyHostToDevice));
    for (uint16_t& h : host) h = mtmap::float_to_bf16(u(rng)).bits;
    BENCH_CUDA(cudaMemcpy(in1.p, host.data(), host.size() * 2, cudaMemcpyHostToDevice));
  }
  constexpr size_t kCudnnWorkspace = size_t(1) << 30;

#ifdef MTMAP_BENCH_CUDNN
  const bool have_cudnn = true;
  cudnnHandle_t cudnn;
  if (cudnnCreate(&cudnn) != CUDNN_STATUS_SUCCESS) {
    std::fprintf(stderr, "bench_conv3d_cuda: cudnnCreate failed\n");
    return 1;
  }
  cudnnSetStream(cudnn, stream);
  DeviceBuffer cudnn_ws(kCudnnWorkspace);
#else
  const bool have_cudnn = false;
  (void)kCudnnWorkspace;
  std::printf(
      "bench_conv3d_cuda: built without cuDNN (not found at configure time): mtmap alone, validated "
      "against its analytic kernel at batch 1\n");
#endif

  std::vector<Row> rows;
  bool all_valid = true;
  for (int64_t batch : batches)
    for (const Layer& l : layers()) {
      if (!only.empty() && std::find(only.begin(), only.end(), l.name) == only.end()) continue;
      for (ConvOperator op : {ConvOperator::fprop, ConvOperator::dgrad, ConvOperator::wgrad}) {
        double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (elapsed > max_seconds) {
          std::printf("bench_conv3d_cuda: %.0f s budget spent, skipping %s batch %lld %s\n", max_seconds, l.name,
                      (long long)batch, op_name(op));
          continue;
        }
        Conv3dProblem p = problem(l, batch);
        Extents e = extents(p, op);
        mtmap::CudaConvConfig cfg;  // the shipped choice: automatic (bf16 → implicit_gemm, stem for C = 3)
        size_t ws_bytes = mtmap::cuda::conv3d_cl_workspace_bytes(op, mtmap::DType::bf16, p, cfg);
        DeviceBuffer ws(ws_bytes);
        Row row{l.name, batch, op_name(op), 0, 0, 0, 0, false};
        std::string cudnn_fields, check_fields, alt_fields;
        try {
          // Validate before timing: outputs poisoned (0xFF bytes: bf16 NaN) so unwritten
          // elements fail.
          BENCH_CUDA(cudaMemset(out_m.p, 0xFF, size_t(e.out) * 2));
          run_mtmap(op, p, cfg, in0.p, in1.p, out_m.p, ws.p, ws_bytes, stream);
          BENCH_CUDA(cudaStreamSynchronize(stream));
          std::vector<float> mine = to_host(out_m.p, e.out);
          Check check{};
          bool cudnn_ok = false;
#ifdef MTMAP_BENCH_CUDNN
          std::unique_ptr<CudnnConv> desc;
          CudnnChoice choice;
          try {
            desc = std::make_unique<CudnnConv>(p);
            BENCH_CUDA(cudaMemset(out_r.p, 0xFF, size_t(e.out) * 2));
            choice = cudnn_find(cudnn, *desc, op, in0.p, in1.p, out_r.p, cudnn_ws.p, kCudnnWorkspace);
            BENCH_CUDA(cudaMemset(out_r.p, 0xFF, size_t(e.out) * 2));
            run_cudnn(cudnn, *desc, op, choice, in0.p, in1.p, out_r.p, cudnn_ws.p);
            BENCH_CUDA(cudaStreamSynchronize(stream));
            check = compare(mine, to_host(out_r.p, e.out));
            check_fields = ", \"validated_against\": \"cudnn\"";
            cudnn_ok = true;
          } catch (const std::exception& ex) {
            // cuDNN cannot run this point (say, no bf16 NDHWC engine): mtmap is still validated.
            cudnn_fields = ", \"cudnn_error\": \"" + json_safe(ex.what()) + "\"";
          }
#endif
          if (!cudnn_ok) {
            check = check_against_analytic(l, op, in0.p, in1.p, out_r.p, mine, stream);
            check_fields = ", \"validated_against\": \"mtmap_analytic_batch1\"";
          }
          char buf[256];
          std::snprintf(buf, sizeof buf, ", \"valid\": %s, \"max_err_over_tol\": %.3g, \"bad_elements\": %lld",
                        check.ok ? "true" : "false", check.max_err_over_tol, (long long)check.bad);
          check_fields += buf;
          row.valid = check.ok;
          if (check.ok) {
            row.mtmap_ms =
                time_ms([&] { run_mtmap(op, p, cfg, in0.p, in1.p, out_m.p, ws.p, ws_bytes, stream); }, stream);
#ifdef MTMAP_BENCH_CUDNN
            if (cudnn_ok) {
              row.cudnn_ms =
                  time_ms([&] { run_cudnn(cudnn, *desc, op, choice, in0.p, in1.p, out_r.p, cudnn_ws.p); }, stream);
              std::snprintf(
                  buf, sizeof buf,
                  ", \"cudnn_ms\": %.4f, \"cudnn_tflops\": %.2f, \"cudnn_algo\": %d, \"cudnn_deterministic\": %s"
                  ", \"speedup_vs_cudnn\": %.3f",
                  row.cudnn_ms, double(p.flops()) / (row.cudnn_ms * 1e9), choice.algo,
                  choice.deterministic ? "true" : "false", row.cudnn_ms / row.mtmap_ms);
              cudnn_fields = buf;
            }
#endif
            row.tflops = double(p.flops()) / (row.mtmap_ms * 1e9);
            row.pct = peak > 0 ? 100.0 * row.tflops / peak : 0.0;
          }
          // The other variant of each point, validated against the shipped result (itself validated
          // above), then timed: for the stem (C = 3) implicit_gemm with element-wise loads on the
          // unpadded reduction; for strided dgrad one GEMM over all taps (what the stride phases
          // replace); for the other points with 16-byte operands the register-staged kernel the
          // cp.async pipeline replaces.
          const bool stem_point = p.C % 8 != 0 && op != ConvOperator::dgrad;
          const bool phase_point = op == ConvOperator::dgrad && mtmap::igemm_dgrad_uses_phases(p);
          const bool async_point = mtmap::conv3d_igemm_vector(op, int(p.C), int(p.K));  // the stem's dgrad too
          if (row.valid && (stem_point || phase_point || async_point)) {
            mtmap::CudaConvConfig alt;
            const char* alt_name = "register_staged";
            if (stem_point) {
              alt.algo = mtmap::CudaConvAlgo::implicit_gemm;
              alt_name = "implicit_gemm";
            } else if (phase_point) {
              alt.dgrad_stride_phases = false;
              alt_name = "dgrad_all_taps";
            } else {
              alt.async_copy = false;
            }
            size_t alt_bytes = mtmap::cuda::conv3d_cl_workspace_bytes(op, mtmap::DType::bf16, p, alt);
            DeviceBuffer alt_ws(alt_bytes);
            BENCH_CUDA(cudaMemset(out_m.p, 0xFF, size_t(e.out) * 2));
            run_mtmap(op, p, alt, in0.p, in1.p, out_m.p, alt_ws.p, alt_bytes, stream);
            BENCH_CUDA(cudaStreamSynchronize(stream));
            Check alt_check = compare(to_host(out_m.p, e.out), mine);
            double alt_ms = 0;
            if (alt_check.ok)
              alt_ms =
                  time_ms([&] { run_mtmap(op, p, alt, in0.p, in1.p, out_m.p, alt_ws.p, alt_bytes, stream); }, stream);
            std::snprintf(buf, sizeof buf,
                          ", \"alt_algo\": \"%s\", \"alt_valid\": %s, \"alt_ms\": %.4f, "
                          "\"alt_tflops\": %.2f",
                          alt_name, alt_check.ok ? "true" : "false", alt_ms,
                          alt_ms > 0 ? double(p.flops()) / (alt_ms * 1e9) : 0.0);
            alt_fields = buf;
            row.valid = row.valid && alt_check.ok;
            row.alt_name = alt_name;
            row.alt_ms = alt_ms;
          }
        } catch (const std::exception& ex) {
          check_fields = std::string(", \"valid\": false, \"error\": \"") + json_safe(ex.what()) + "\"";
          row.valid = false;
        }
        all_valid &= row.valid;
        mtmap::GemmShape g = p.gemm_view(op);
        std::printf(
            "{\"bench\": \"conv3d_cuda\", \"device\": \"%s\", \"layer\": \"%s\", \"batch\": %lld, \"op\": \"%s\", "
            "\"dtype\": \"bf16\", \"layout\": \"NDHWC\", \"gemm_m\": %lld, \"gemm_n\": %lld, \"gemm_k\": %lld, "
            "\"gflop\": %.3f, \"mtmap_ms\": %.4f, \"mtmap_tflops\": %.2f, \"bf16_peak_tflops\": %.1f, "
            "\"mtmap_pct_of_peak\": %.1f%s%s%s}\n",
            device.c_str(), l.name, (long long)batch, op_name(op), (long long)g.m, (long long)g.n, (long long)g.k,
            double(p.flops()) / 1e9, row.mtmap_ms, row.tflops, peak, row.pct, check_fields.c_str(),
            cudnn_fields.c_str(), alt_fields.c_str());
        std::fflush(stdout);
        rows.push_back(row);
      }
    }

  std::printf("\nconv3d bf16 NDHWC on %s (bf16 dense peak %.0f TFLOP/s)%s\n", device.c_str(), peak,
              have_cudnn ? "" : " — no cuDNN in this build");
  std::printf("%-22s %5s %-6s %10s %10s %9s %7s %9s %-26s %s\n", "layer", "batch", "op", "mtmap ms", "cuDNN ms",
              "TFLOP/s", "% peak", "vs cuDNN", "alternative: ms", "valid");
  for (const Row& r : rows) {
    char cud[16] = "-", ratio[16] = "-", alt[48] = "-";
    if (r.cudnn_ms > 0) {
      std::snprintf(cud, sizeof cud, "%.3f", r.cudnn_ms);
      std::snprintf(ratio, sizeof ratio, "%.2fx", r.cudnn_ms / r.mtmap_ms);
    }
    if (r.alt_ms > 0) std::snprintf(alt, sizeof alt, "%s: %.3f", r.alt_name.c_str(), r.alt_ms);
    std::printf("%-22s %5lld %-6s %10.3f %10s %9.1f %7.1f %9s %-26s %s\n", r.layer.c_str(), (long long)r.batch,
                r.op.c_str(), r.mtmap_ms, cud, r.tflops, r.pct, ratio, alt, r.valid ? "yes" : "NO");
  }
#ifdef MTMAP_BENCH_CUDNN
  cudnnDestroy(cudnn);
#endif
  cudaStreamDestroy(stream);
  return all_valid ? 0 : 1;
}
