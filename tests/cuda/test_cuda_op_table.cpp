// CUDA against the CPU for every op table entry that has a CUDA kernel (tests/op_table.cpp): one
// Catch2 test per entry, "cuda op table: <entry>", in each dtype the entry lists (f64, f32, and
// bf16 on CUDA only, against the CPU's f32 op on the same bf16-rounded values).
//
// Both sides get identical inputs (made on the CPU in the dtype, then moved), run the op forward
// and backward with the same random projection P (y.backward(P): the gradient of Σ y·P), and
// compare the output, every input gradient, and the inputs that take no gradient afterwards
// (batch norm's running statistics are updated in place). Every new block of both allocators is
// poisoned (NaN) while the op runs, so an output or gradient element a kernel leaves unwritten
// fails. Tolerances: parity_tol() in op_table.cpp, per dtype, overridden by entries that need it;
// `exact` entries (copies and views) must match bit for bit.
#include <memory>

#include "tests/cuda/cuda_test_util.h"
#include "tests/op_table_tests.h"

namespace mtmap::test {
namespace {

#ifdef MTMAP_TEST_GPU_IS_CPU
constexpr bool kBf16 = false;  // the self-check mode's "GPU" is the CPU, which has no bf16 kernels
#else
constexpr bool kBf16 = true;
#endif

// Poisons new CPU blocks for the scope (the reference's outputs and gradients).
class CpuPoisonScope {
 public:
  CpuPoisonScope() { cpu_allocator().set_poison(true); }
  ~CpuPoisonScope() { cpu_allocator().set_poison(false); }
  CpuPoisonScope(const CpuPoisonScope&) = delete;
  CpuPoisonScope& operator=(const CpuPoisonScope&) = delete;
};

bool is_float(DType t) { return t == DType::f32 || t == DType::f64 || t == DType::bf16; }

// The CPU reference's inputs: bf16 values as f32 (exact), requiring grad where they did.
std::vector<Tensor> reference_inputs(const std::vector<Tensor>& in) {
  std::vector<Tensor> out;
  for (const Tensor& t : in) {
    if (t.dtype() != DType::bf16) {
      out.push_back(t);
      continue;
    }
    Tensor r = t.detach().to(DType::f32);
    if (t.requires_grad()) r.set_requires_grad(true);
    out.push_back(r);
  }
  return out;
}

struct Run {
  Tensor y;
  std::vector<Tensor> inputs;  // after the run (in-place updates)
  std::vector<Tensor> grads;
};

// Forward, then backward from y with the projection made by `projection(y)`.
template <class Projection>
Run run(const OpEntry& e, const std::vector<Tensor>& inputs, Projection projection) {
  Run r{e.op(inputs), inputs, {}};
  REQUIRE(r.y.grad_fn() != nullptr);  // some input requires grad: the output has a history
  r.y.backward(projection(r.y));
  for (const Tensor& t : inputs) r.grads.push_back(t.grad());
  return r;
}

void compare(const OpEntry& e, DType t, const Tensor& want, const Tensor& got, const std::string& what) {
  INFO(what);
  REQUIRE(got.defined());
  CHECK(got.device() == gpu());
  CHECK(got.dtype() == t);
  if (e.exact) {
    check_equal(want.dtype() == t ? want : want.to(t), got, what);
    return;
  }
  double largest = 1;
  for (double v : want.to(Device::cpu()).to_vector<double>()) largest = std::max(largest, std::abs(v));
  ParityTol tol = parity_tol(e, t);
  check_close(want, got, tol.rtol, tol.atol * largest, what);
}

void check_entry(const OpEntry& e, DType t) {
  const std::string n = e.name + " " + dtype_name(t);
  // P ~ N(0, 1) of y's shape, in the dtype: the same values on both sides.
  Tensor projection;
  auto make_projection = [&](const Tensor& y) {
    Generator gen(20261126);
    projection = randn(y.shape(), gen, DType::f64).to(t);
    return reference_input(projection);
  };
  Run want, got;
  {
    CpuPoisonScope poison;
    want = run(e, reference_inputs(make_inputs(e, t, Device::cpu())), make_projection);
  }
  {
    PoisonScope poison;
    got = run(e, make_inputs(e, t, gpu()), [&](const Tensor& y) {
      REQUIRE(y.shape() == want.y.shape());
      return projection.to(gpu());
    });
  }
  compare(e, t, want.y, got.y, n + " forward");
  REQUIRE(want.inputs.size() == got.inputs.size());
  for (size_t i = 0; i < want.inputs.size(); ++i) {
    const std::string what = n + " input " + std::to_string(i);
    if (want.inputs[i].requires_grad()) {
      REQUIRE(want.grads[i].defined());
      compare(e, t, want.grads[i], got.grads[i], what + " gradient");
    } else {
      CHECK_FALSE(got.grads[i].defined());
      if (is_float(want.inputs[i].dtype())) compare(e, t, want.inputs[i], got.inputs[i], what + " after the op");
    }
  }
}

struct Register {
  Register() {
    register_op_tests(
        "cuda op table: ", "[cuda][op_table]",
        [](const OpEntry& e) {
          for (DType t : entry_dtypes(e, kBf16)) check_entry(e, t);
        },
        [](const OpEntry& e) { return e.cuda; });
  }
} register_entries;

}  // namespace
}  // namespace mtmap::test
