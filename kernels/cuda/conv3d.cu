// conv3d launchers: algorithm choice, workspace layout, the split-K plan, and the moves between
// the engine's NCDHW tensors and the channels-last operands of the tensor-core kernels.
//
// Why channels-last with transforms rather than reading NCDHW in the GEMM: the reduction of fprop
// and dgrad runs over channels, so channels-last makes eight reduction steps one 16-byte load and
// lets every operand tile be read with coalesced vector loads; NCDHW would put the reduction at a
// stride of D·H·W. The transforms cost a read and a write of each activation (memory-bound, a few
// percent of a 3×3×3 layer's time at 64+ channels), and go away when the engine keeps activations
// channels-last; the channels-last entry points below are already that interface.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kernels/common/conv3d_igemm.h"
#include "kernels/cuda/conv3d.h"
#include "kernels/cuda/conv3d_internal.h"
#include "kernels/cuda/launch.cuh"

namespace mtmap::cuda {
namespace {

using conv_detail::igemm_binary_version;

const char* op_name(ConvOperator op) {
  switch (op) {
    case ConvOperator::fprop:
      return "conv3d_fprop";
    case ConvOperator::dgrad:
      return "conv3d_dgrad";
    case ConvOperator::wgrad:
      return "conv3d_wgrad";
  }
  return "conv3d";
}

[[noreturn]] void fail(ConvOperator op, const std::string& why) {
  throw std::invalid_argument(std::string("cuda launcher ") + op_name(op) + ": " + why);
}

// Bump allocation from the caller's workspace, 256-byte aligned. With a null base it only
// measures, so conv3d_*workspace_bytes and the launchers share one layout.
class Carve {
 public:
  Carve(void* base, size_t bytes) : base_(static_cast<char*>(base)), bytes_(bytes) {}
  void* take(size_t n) {
    size_t at = used_;
    used_ += (n + 255) / 256 * 256;
    if (base_ && used_ > bytes_)
      throw std::invalid_argument("cuda launcher conv3d: workspace of " + std::to_string(bytes_) +
                                  " bytes is too small (conv3d_workspace_bytes gives the size)");
    return base_ ? base_ + at : nullptr;
  }
  size_t used() const { return used_; }

 private:
  char* base_;
  size_t bytes_;
  size_t used_ = 0;
};

// Checks that the tensor-core kernels can run on the current device: sm_80+ hardware and a build
// that carries sm_80+ code for it (the kernels trap otherwise).
void require_tensor_cores(ConvOperator op) {
  int dev = 0, major = 0, minor = 0;
  detail::check_call(cudaGetDevice(&dev), op_name(op), "cudaGetDevice");
  detail::check_call(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev), op_name(op),
                     "cudaDeviceGetAttribute");
  detail::check_call(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev), op_name(op),
                     "cudaDeviceGetAttribute");
  if (major < 8)
    fail(op, "the tensor-core kernels need compute capability 8.0 or later; this GPU is " + std::to_string(major) +
                 "." + std::to_string(minor) + " (use algo analytic)");
  int built = igemm_binary_version();
  if (built < 80)
    fail(op, "this build has no sm_80+ code for the tensor-core kernels (binary version " + std::to_string(built) +
                 "): rebuild with CMAKE_CUDA_ARCHITECTURES including 80 or 90");
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Strided dgrad as one GEMM per stride phase (conv3d_igemm.h), dy (N,Z,P,Q,K) and w (C,T,R,S,K)
// → dx (N,D,H,W,C). The phases run one after another on the stream, so they share one partial
// buffer, sized for the largest.
void run_dgrad_phases(DType t, const Conv3dProblem& p, const CudaConvConfig& cfg, const void* dy, const void* w, void* dx,
                      Carve& ws, cudaStream_t stream, bool measure) {
  std::vector<std::pair<IgemmGeom, ::mtmap::igemm::Plan>> phases;
  size_t partial_bytes = 0;
  for (int od = 0; od < p.stride_d; ++od)
    for (int oh = 0; oh < p.stride_h; ++oh)
      for (int ow = 0; ow < p.stride_w; ++ow) {
        IgemmGeom g = make_igemm_dgrad_phase_geom(p, od, oh, ow);
        if (g.M == 0) continue;  // an axis shorter than its stride: no positions in this phase
        ::mtmap::igemm::Plan plan = ::mtmap::igemm::make_plan(ConvOperator::dgrad, g);
        if (plan.splits > 1)
          partial_bytes = std::max(partial_bytes, size_t(plan.splits) * size_t(g.M) * size_t(g.Ngemm) * 4);
        phases.emplace_back(g, plan);
      }
  float* partial = partial_bytes > 0 ? static_cast<float*>(ws.take(partial_bytes)) : nullptr;
  if (measure) return;
  for (auto& [g, plan] : phases) {
    plan.vector = plan.vector && aligned16(dy) && aligned16(w);
    plan.async_copy = cfg.async_copy;
    conv_detail::igemm_dgrad_phase(t, plan, g, dy, w, dx, partial, stream);
    detail::check_launch("conv3d_dgrad (stride phase)");
  }
}

// Runs the tensor-core GEMM of `op` on channels-last operands, given in the launchers' order
// (fprop x, w; dgrad dy, w (C,T,R,S,K); wgrad x, dy), writing the channels-last output. With
// `stem`, fprop's w and wgrad's dw are (K, T, R, SC) (conv3d_igemm.h, the stem kernel).
void run_gemm(ConvOperator op, DType t, const Conv3dProblem& p, bool stem, const CudaConvConfig& cfg, const void* in0,
              const void* in1, void* out, Carve& ws, cudaStream_t stream, bool measure) {
  if (op == ConvOperator::dgrad && cfg.dgrad_stride_phases && igemm_dgrad_uses_phases(p)) {
    run_dgrad_phases(t, p, cfg, in0, in1, out, ws, stream, measure);
    return;
  }
  IgemmGeom g = stem ? make_igemm_stem_geom(p, op) : make_igemm_geom(p, op);
  ::mtmap::igemm::Plan plan = stem ? ::mtmap::igemm::make_stem_plan(op, g) : ::mtmap::igemm::make_plan(op, g);
  float* partial = nullptr;
  if (plan.splits > 1) partial = static_cast<float*>(ws.take(size_t(plan.splits) * size_t(g.M) * size_t(g.Ngemm) * 4));
  if (measure) return;
  plan.vector = plan.vector && aligned16(in0) && aligned16(in1);
  plan.async_copy = cfg.async_copy;
  switch (op) {
    case ConvOperator::fprop:
      if (stem)
        conv_detail::igemm_stem_fprop(t, plan, g, in0, in1, out, partial, stream);
      else
        conv_detail::igemm_fprop(t, plan, g, in0, in1, out, partial, stream);
      break;
    case ConvOperator::dgrad:
      conv_detail::igemm_dgrad(t, plan, g, in0, in1, out, partial, stream);
      break;
    case ConvOperator::wgrad:
      if (stem)
        conv_detail::igemm_stem_wgrad(t, plan, g, in0, in1, out, partial, stream);
      else
        conv_detail::igemm_wgrad(t, plan, g, in0, in1, out, partial, stream);
      break;
  }
  detail::check_launch(op_name(op));
}

size_t elem_size(DType t) { return t == DType::bf16 ? 2 : 4; }

// The stem kernel's filter-row width: S·C rounded up to a multiple of 8.
int64_t stem_row(const Conv3dProblem& p) { return (p.S * p.C + 7) / 8 * 8; }

// The channels-last operator with the stem's weight rows and dgrad's weight layout handled:
// x (N,D,H,W,C), w (K,T,R,S,C), y / dy (N,Z,P,Q,K). `measure` sizes the workspace only.
void run_channels_last(ConvOperator op, DType t, const Conv3dProblem& p, CudaConvAlgo algo, const CudaConvConfig& cfg,
                       const void* in0, const void* in1, void* out, Carve& ws, cudaStream_t stream, bool measure) {
  const size_t es = elem_size(t);
  const int64_t trs = p.filter_volume(), tr = p.T * p.R, sc = p.S * p.C;
  const bool stem = algo == CudaConvAlgo::stem && op != ConvOperator::dgrad;
  switch (op) {
    case ConvOperator::fprop: {  // in0 = x, in1 = w
      const void* w = in1;
      if (stem) {  // (K, T, R, S·C) → (K, T, R, SC), zeros appended to each filter row
        void* wp = ws.take(size_t(p.K * tr * stem_row(p)) * es);
        if (!measure) conv_detail::repack_channels(es, p.K * tr, sc, stem_row(p), in1, wp, stream);
        w = wp;
      }
      run_gemm(op, t, p, stem, cfg, in0, w, out, ws, stream, measure);
      return;
    }
    case ConvOperator::dgrad: {  // in0 = dy, in1 = w
      void* wt = ws.take(size_t(p.K * trs * p.C) * es);
      if (!measure) conv_detail::weights_ktrsc_to_ctrsk(es, p.K, trs, p.C, in1, wt, stream);
      run_gemm(op, t, p, false, cfg, in0, wt, out, ws, stream, measure);
      return;
    }
    case ConvOperator::wgrad: {  // in0 = x, in1 = dy
      void* dw = stem ? ws.take(size_t(p.K * tr * stem_row(p)) * es) : out;
      run_gemm(op, t, p, stem, cfg, in0, in1, dw, ws, stream, measure);
      if (stem && !measure) conv_detail::repack_channels(es, p.K * tr, stem_row(p), sc, dw, out, stream);
      return;
    }
  }
}

// The engine-layout operator on the GEMM path: NCDHW in, channels-last in the workspace, back.
void run_ncdhw_gemm(ConvOperator op, DType t, const Conv3dProblem& p, CudaConvAlgo algo, const CudaConvConfig& cfg,
                    const void* in0, const void* in1, void* out, Carve& ws, cudaStream_t stream, bool measure) {
  const size_t es = elem_size(t);
  const int64_t dhw = p.D * p.H * p.W, zpq = p.Z * p.P * p.Q, trs = p.filter_volume();
  auto to_cl = [&](int64_t B, int64_t C, int64_t X, const void* src) {
    void* dst = ws.take(size_t(B * X * C) * es);
    if (!measure) conv_detail::to_channels_last(es, B, C, X, C, src, dst, stream);
    return dst;
  };
  switch (op) {
    case ConvOperator::fprop: {
      void* x = to_cl(p.N, p.C, dhw, in0);
      void* w = to_cl(p.K, p.C, trs, in1);
      void* y = ws.take(size_t(p.N * zpq * p.K) * es);
      run_channels_last(op, t, p, algo, cfg, x, w, y, ws, stream, measure);
      if (!measure) conv_detail::to_channels_first(es, p.N, p.K, zpq, p.K, y, out, stream);
      return;
    }
    case ConvOperator::dgrad: {
      void* dy = to_cl(p.N, p.K, zpq, in0);
      // KCTRS is [K][C·T·R·S]; its transpose [C·T·R·S][K] is the (C,T,R,S,K) operand dgrad reads.
      void* w = to_cl(1, p.K, p.C * trs, in1);
      void* dx = ws.take(size_t(p.N * dhw * p.C) * es);
      run_gemm(op, t, p, false, cfg, dy, w, dx, ws, stream, measure);
      if (!measure) conv_detail::to_channels_first(es, p.N, p.C, dhw, p.C, dx, out, stream);
      return;
    }
    case ConvOperator::wgrad: {
      void* x = to_cl(p.N, p.C, dhw, in0);
      void* dy = to_cl(p.N, p.K, zpq, in1);
      void* dw = ws.take(size_t(p.K * trs * p.C) * es);
      run_channels_last(op, t, p, algo, cfg, x, dy, dw, ws, stream, measure);
      if (!measure) conv_detail::to_channels_first(es, p.K, p.C, trs, p.C, dw, out, stream);
      return;
    }
  }
}

void check_problem(ConvOperator op, const Conv3dProblem& p) {
  if (p.N < 0 || p.C <= 0 || p.K <= 0 || p.T <= 0 || p.R <= 0 || p.S <= 0 || p.Z <= 0 || p.P <= 0 || p.Q <= 0)
    fail(op, "bad problem: N " + std::to_string(p.N) + ", C " + std::to_string(p.C) + ", K " + std::to_string(p.K) +
                 ", filter " + std::to_string(p.T) + "x" + std::to_string(p.R) + "x" + std::to_string(p.S) +
                 ", output " + std::to_string(p.Z) + "x" + std::to_string(p.P) + "x" + std::to_string(p.Q));
}

// Shared body of the six launchers (NCDHW or channels-last).
void launch(ConvOperator op, bool channels_last, DType t, const Conv3dProblem& p, const CudaConvConfig& cfg,
            const void* in0, const void* in1, void* out, void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  check_problem(op, p);
  CudaConvAlgo algo = conv3d_resolve(op, t, p, cfg);
  if (p.N == 0) {
    // An empty batch: fprop and dgrad outputs are empty, wgrad's is a sum of nothing.
    if (op == ConvOperator::wgrad)
      detail::check_call(cudaMemsetAsync(out, 0, size_t(p.weight_elements()) * dtype_size(t), stream), op_name(op),
                         "cudaMemsetAsync");
    return;
  }
  if (algo == CudaConvAlgo::analytic) {
    if (channels_last) fail(op, "the channels-last entry points run the tensor-core algorithms only");
    switch (op) {
      case ConvOperator::fprop:
        conv_detail::analytic_fprop(t, p, in0, in1, out, stream);
        return;
      case ConvOperator::dgrad:
        conv_detail::analytic_dgrad(t, p, in0, in1, out, stream);
        return;
      case ConvOperator::wgrad:
        conv_detail::analytic_wgrad(t, p, in0, in1, out, stream);
        return;
    }
  }
  require_tensor_cores(op);
  Carve ws(workspace, workspace_bytes);
  if (channels_last)
    run_channels_last(op, t, p, algo, cfg, in0, in1, out, ws, stream, false);
  else
    run_ncdhw_gemm(op, t, p, algo, cfg, in0, in1, out, ws, stream, false);
}

size_t workspace(ConvOperator op, bool channels_last, DType t, const Conv3dProblem& p, const CudaConvConfig& cfg) {
  check_problem(op, p);
  CudaConvAlgo algo = conv3d_resolve(op, t, p, cfg);
  if (algo == CudaConvAlgo::analytic || p.N == 0) return 0;
  Carve ws(nullptr, 0);
  if (channels_last)
    run_channels_last(op, t, p, algo, cfg, nullptr, nullptr, nullptr, ws, nullptr, true);
  else
    run_ncdhw_gemm(op, t, p, algo, cfg, nullptr, nullptr, nullptr, ws, nullptr, true);
  return ws.used();
}

}  // namespace

const char* conv_algo_name(CudaConvAlgo a) {
  switch (a) {
    case CudaConvAlgo::automatic:
      return "auto";
    case CudaConvAlgo::analytic:
      return "analytic";
    case CudaConvAlgo::implicit_gemm:
      return "implicit_gemm";
    case CudaConvAlgo::stem:
      return "stem";
  }
  return "?";
}

CudaConvAlgo conv3d_resolve(ConvOperator op, DType t, const Conv3dProblem& p, const CudaConvConfig& cfg) {
  if (t != DType::f32 && t != DType::f64 && t != DType::bf16)
    fail(op, std::string("dtype ") + dtype_name(t) + " not supported (f32, f64, bf16)");
  bool tensor_cores = t == DType::bf16 || (t == DType::f32 && cfg.allow_tf32);
  CudaConvAlgo algo = cfg.algo;
  if (algo == CudaConvAlgo::automatic) {
    if (!tensor_cores) return CudaConvAlgo::analytic;
    algo = p.C % 8 != 0 && op != ConvOperator::dgrad ? CudaConvAlgo::stem : CudaConvAlgo::implicit_gemm;
  }
  if (algo == CudaConvAlgo::analytic) return algo;
  if (t == DType::f64) fail(op, std::string("algorithm ") + conv_algo_name(algo) + " has no f64 form (use analytic)");
  if (t == DType::f32 && !cfg.allow_tf32)
    fail(op, std::string("algorithm ") + conv_algo_name(algo) + " computes f32 in TF32: set allow_tf32");
  Conv3dProblem padded = p;  // the stem's weights hold T·R·SC ≤ T·R·S·(C + 7) per filter
  padded.C = p.C + 7;
  if (!igemm_fits(p) || !igemm_fits(padded))
    fail(op, "tensors of 2^31 or more elements (N " + std::to_string(p.N) + ", C " + std::to_string(p.C) + ", K " +
                 std::to_string(p.K) +
                 "): the implicit-GEMM kernels index in 32 bits; use analytic or a smaller batch");
  return algo;
}

size_t conv3d_workspace_bytes(ConvOperator op, DType t, const Conv3dProblem& p, const CudaConvConfig& cfg) {
  return workspace(op, false, t, p, cfg);
}
size_t conv3d_cl_workspace_bytes(ConvOperator op, DType t, const Conv3dProblem& p, const CudaConvConfig& cfg) {
  return workspace(op, true, t, p, cfg);
}

void conv3d_fprop(DType t, const Conv3dProblem& p, const CudaConvConfig& cfg, const void* x, const void* w, void* y,
                  void* ws, size_t ws_bytes, cudaStream_t stream) {
  launch(ConvOperator::fprop, false, t, p, cfg, x, w, y, ws, ws_bytes, stream);
}
void conv3d_dgrad(DType t, const Conv3dProblem& p, const CudaConvConfig& cfg, const void* dy, const void* w, void* dx,
                  void* ws, size_t ws_bytes, cudaStream_t stream) {
  launch(ConvOperator::dgrad, false, t, p, cfg, dy, w, dx, ws, ws_bytes, stream);
}
void conv3d_wgrad(DType t, const Conv3dProblem& p, const CudaConvConfig& cfg, const void* x, const void* dy, void* dw,
                  void* ws, size_t ws_bytes, cudaStream_t stream) {
  launch(ConvOperator::wgrad, false, t, p, cfg, x, dy, dw, ws, ws_bytes, stream);
}
void conv3d_cl_fprop(DType t, const Conv3dProblem& p, const CudaConvConfig& cfg, const void* x, const void* w, void* y,
                     void* ws, size_t ws_bytes, cudaStream_t stream) {
  launch(ConvOperator::fprop, true, t, p, cfg, x, w, y, ws, ws_bytes, stream);
}
void conv3d_cl_dgrad(DType t, const Conv3dProblem& p, const CudaConvConfig& cfg, const void* dy, const void* w, void* dx,
                     void* ws, size_t ws_bytes, cudaStream_t stream) {
  launch(ConvOperator::dgrad, true, t, p, cfg, dy, w, dx, ws, ws_bytes, stream);
}
void conv3d_cl_wgrad(DType t, const Conv3dProblem& p, const CudaConvConfig& cfg, const void* x, const void* dy, void* dw,
                     void* ws, size_t ws_bytes, cudaStream_t stream) {
  launch(ConvOperator::wgrad, true, t, p, cfg, x, dy, dw, ws, ws_bytes, stream);
}

}  // namespace mtmap::cuda
