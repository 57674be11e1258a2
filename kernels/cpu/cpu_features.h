#pragma once
// Which vector instruction set the direct convolution kernels use: AVX-512F (16 floats a vector,
// 32 registers: Zen 4, Zen 5, Intel server parts), AVX2 with FMA (8 floats, 16 registers: Zen 3
// and older Intel), or none (the kernels that need one fall back to vol2col + GEMM).
//
// The default is the best the CPU has. It can be lowered, never raised past the CPU: by the
// environment (MTMAP_CPU_ISA=avx2 or =none, read once) for benchmarking one code path on a bigger
// machine, and by `ScopedSimdIsa` in tests, which run every kernel under every set the CPU has.
// Every kernel sums each output in the same order under either set, so their results agree bit for
// bit (tests/test_conv3d.cpp checks it).
#include <cstdint>

namespace mtmap::cpu {

enum class SimdIsa { none = 0, avx2 = 1, avx512 = 2 };

const char* simd_isa_name(SimdIsa isa);
// The best set this CPU supports (CPUID, read once).
SimdIsa simd_isa_supported();
// The set the kernels use now.
SimdIsa simd_isa();
// Selects `isa` for the kernels; std::invalid_argument naming both sets if the CPU lacks it.
void set_simd_isa(SimdIsa isa);
// MTMAP_CPU_ISA's value to a set; std::invalid_argument naming the value if it is none of
// "avx512", "avx2", "none".
SimdIsa parse_simd_isa(const char* name);

// Floats per vector register under `isa` (0 for none).
inline int64_t simd_lanes(SimdIsa isa) { return isa == SimdIsa::avx512 ? 16 : isa == SimdIsa::avx2 ? 8 : 0; }

// Selects a set for one scope (tests), restoring the previous one after.
class ScopedSimdIsa {
 public:
  explicit ScopedSimdIsa(SimdIsa isa) : previous_(simd_isa()) { set_simd_isa(isa); }
  ~ScopedSimdIsa() { set_simd_isa(previous_); }
  ScopedSimdIsa(const ScopedSimdIsa&) = delete;
  ScopedSimdIsa& operator=(const ScopedSimdIsa&) = delete;

 private:
  SimdIsa previous_;
};

}  // namespace mtmap::cpu
