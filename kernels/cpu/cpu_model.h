#pragma once
// Which CPU this is, from CPUID: the name, the vendor's family and model numbers, and the
// micro-architecture they mean where the kernels care (the FMA width differs 2x between Zen 4's
// double-pumped AVX-512 and Zen 5's full 512-bit units). Benchmarks name it with every figure;
// kernels that tune per micro-architecture key on `arch`.
#include <string>

namespace mtmap::cpu {

enum class MicroArch { unknown, zen3, zen4, zen5, intel_avx512, intel_avx2 };

struct CpuModel {
  std::string vendor;  // "AuthenticAMD", "GenuineIntel"
  std::string brand;   // the brand string, e.g. "AMD EPYC 9R14 96-Core Processor" (a VM may shorten it)
  int family = 0;      // display family and model, as /proc/cpuinfo prints them
  int model = 0;
  MicroArch arch = MicroArch::unknown;
  bool avx512 = false, avx512_bf16 = false;

  // "AMD EPYC (family 25 model 17, Zen 4)": what every CPU figure is labelled with.
  std::string describe() const;
};

const char* arch_name(MicroArch a);

// The micro-architecture of a vendor's family and model numbers (AMD's by the models AMD lists
// for each Zen generation; Intel's by AVX-512 support, which is what the kernels need to know).
MicroArch micro_arch(const std::string& vendor, int family, int model, bool avx512);

// This machine's (CPUID, read once).
const CpuModel& cpu_model();

}  // namespace mtmap::cpu
