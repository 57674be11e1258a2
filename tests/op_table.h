#pragma once
// The op table: every differentiable op of the engine (and the losses), listed once with its
// inputs, from which the tests are generated (cf. ggml's tests/test-backend-ops.cpp):
//  - tests/test_op_table_gradcheck.cpp: the float64 gradient check of every input, on the CPU;
//  - tests/cuda/test_cuda_op_table.cpp: forward and backward on CUDA against the CPU, from
//    identical inputs, in every dtype the entry lists (f32, f64, bf16 where the kernels have it).
// Adding an op: add an entry to op_table() in tests/op_table.cpp; it is then checked in both ways
// with no test of its own. Keep shapes tiny: the gradient check runs the op twice per input element.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd/gradcheck.h"
#include "engine/random/generator.h"
#include "engine/tensor/tensor.h"

namespace mtmap::test {

// Builds an entry's inputs for one dtype and device. Every value is drawn in float64 on the CPU
// from the entry's seed, then rounded to the dtype (bf16: once, on the CPU) and moved to the
// device, so two calls with one dtype give identical values on any device. Floating inputs made
// by the `grad` methods require grad; index, mask and constant inputs do not.
class OpInputs {
 public:
  OpInputs(uint64_t seed, DType dtype, Device device) : gen_(seed), dtype_(dtype), device_(device) {}

  DType dtype() const { return dtype_; }
  Device device() const { return device_; }

  // N(shift, scale²) entries, requiring grad.
  Tensor normal(const Shape& shape, double scale = 1.0, double shift = 0.0);
  // Uniform in [lo, hi), requiring grad (a positive range keeps log, sqrt, pow, div defined).
  Tensor uniform(const Shape& shape, double lo, double hi);
  // Magnitudes uniform in [lo, hi) with random signs, requiring grad: no value within lo of 0
  // (relu, abs: the kink).
  Tensor signed_uniform(const Shape& shape, double lo, double hi);
  // N(0, scale²) entries kept at least `margin` from each point in `kinks` (clamp's bounds),
  // requiring grad.
  Tensor away_from(const Shape& shape, double scale, const std::vector<double>& kinks, double margin);
  // Values given in float64, in the dtype, requiring grad or not.
  Tensor values(const std::vector<double>& v, const Shape& shape, bool requires_grad);
  // A float64 tensor made on the CPU (a derived constant, e.g. a target matrix), converted to the
  // dtype and moved to the device; no grad.
  Tensor constant(const Tensor& f64);
  // Random draws that never require grad, in the dtype.
  Tensor normal_constant(const Shape& shape, double scale = 1.0, double shift = 0.0);
  Tensor uniform_constant(const Shape& shape, double lo, double hi);
  // i64 indices (on the device).
  Tensor index(const std::vector<int64_t>& v, const Shape& shape);
  // A u8 mask of 0/1, each 1 with probability one half (on the device).
  Tensor mask(const Shape& shape);

  // Draws in float64 on the CPU (for building derived constants).
  Tensor draw_normal(const Shape& shape);
  Tensor draw_uniform(const Shape& shape);

 private:
  Tensor finish(const Tensor& f64, bool requires_grad) const;

  Generator gen_;
  DType dtype_;
  Device device_;
};

// Per-element tolerance of the CUDA-against-CPU check: |got − want| ≤ atol·M + rtol·|want|, with M
// the largest |want| of that tensor (at least 1), so the absolute part follows the tensor's scale.
struct ParityTol {
  double rtol, atol;
};

struct OpEntry {
  std::string name;  // unique; no ';' (CTest splits test names on it), no '[' or ','
  // The inputs (their shapes are written here). Inputs that require grad are the ones checked.
  std::function<std::vector<Tensor>(OpInputs&)> inputs;
  // The op on those inputs (tensors of one device and dtype); returns its output.
  std::function<Tensor(const std::vector<Tensor>&)> op;
  bool f32 = true;    // also checked in float32 (float64 always is)
  bool bf16 = false;  // also in bf16 on CUDA (the CPU has no bf16 kernels)
  bool cuda = true;   // a CUDA kernel exists: checked against the CPU in test_cuda
  autograd::GradcheckOptions gradcheck{};  // the float64 gradient check's eps / rtol / atol / floor
  // CUDA against CPU: 0 keeps the defaults (parity_tol()); set per dtype where an entry needs more
  // (or less: exact = true demands identical values in every dtype, for copies).
  ParityTol f64_tol{0, 0}, f32_tol{0, 0}, bf16_tol{0, 0};
  bool exact = false;
};

// Every entry (built once).
const std::vector<OpEntry>& op_table();

// The entry's inputs in `dtype` on `device` (the seed is the entry's name).
std::vector<Tensor> make_inputs(const OpEntry& e, DType dtype, Device device);

// The dtypes an entry is checked in on a backend (bf16 only where `cuda_backend`).
std::vector<DType> entry_dtypes(const OpEntry& e, bool cuda_backend);

// The CUDA-against-CPU tolerance of an entry's outputs and gradients in `dtype`.
ParityTol parity_tol(const OpEntry& e, DType dtype);

}  // namespace mtmap::test
