#include "kernels/cpu/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace mtmap::cpu {

const char* simd_isa_name(SimdIsa isa) {
  switch (isa) {
    case SimdIsa::avx512: return "avx512";
    case SimdIsa::avx2: return "avx2";
    case SimdIsa::none: break;
  }
  return "none";
}

SimdIsa simd_isa_supported() {
  static const SimdIsa best = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return SimdIsa::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdIsa::avx2;
    return SimdIsa::none;
  }();
  return best;
}

SimdIsa parse_simd_isa(const char* name) {
  for (SimdIsa isa : {SimdIsa::avx512, SimdIsa::avx2, SimdIsa::none})
    if (std::strcmp(name, simd_isa_name(isa)) == 0) return isa;
  throw std::invalid_argument(std::string("MTMAP_CPU_ISA=") + name + ": expected avx512, avx2 or none");
}

namespace {

void require_supported(SimdIsa isa, const char* who) {
  if (static_cast<int>(isa) > static_cast<int>(simd_isa_supported()))
    throw std::invalid_argument(std::string(who) + simd_isa_name(isa) + ", but this CPU supports at most " +
                                simd_isa_name(simd_isa_supported()));
}

// The selected set; -1 until first asked, then the environment's choice or the CPU's best.
std::atomic<int> selected{-1};

}  // namespace

SimdIsa simd_isa() {
  int s = selected.load(std::memory_order_relaxed);
  if (s >= 0) return static_cast<SimdIsa>(s);
  SimdIsa isa = simd_isa_supported();
  if (const char* env = std::getenv("MTMAP_CPU_ISA"); env != nullptr && *env != '\0') {
    isa = parse_simd_isa(env);
    require_supported(isa, "MTMAP_CPU_ISA asks for ");
  }
  int expected = -1;
  selected.compare_exchange_strong(expected, static_cast<int>(isa));
  return static_cast<SimdIsa>(selected.load());
}

void set_simd_isa(SimdIsa isa) {
  require_supported(isa, "set_simd_isa asks for ");
  selected.store(static_cast<int>(isa));
}

}  // namespace mtmap::cpu
