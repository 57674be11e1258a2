// The CPU's identification, which every CPU benchmark figure is labelled with and the kernels key
// their tuning on: the family/model table, CPUID on this machine agreeing with /proc/cpuinfo, and
// the vector instruction set the kernels use.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/cpu_model.h"

using namespace mtmap::cpu;

TEST_CASE("cpu model: AMD's and Intel's family and model numbers name the micro-architecture", "[cpu]") {
  CHECK(micro_arch("AuthenticAMD", 25, 17, true) == MicroArch::zen4);   // EPYC 9004 (Genoa)
  CHECK(micro_arch("AuthenticAMD", 25, 97, true) == MicroArch::zen4);   // Ryzen 7000 (Raphael)
  CHECK(micro_arch("AuthenticAMD", 25, 160, true) == MicroArch::zen4);  // EPYC 9754 (Bergamo)
  CHECK(micro_arch("AuthenticAMD", 25, 1, false) == MicroArch::zen3);   // EPYC 7003 (Milan)
  CHECK(micro_arch("AuthenticAMD", 25, 33, false) == MicroArch::zen3);  // Ryzen 5000 (Vermeer)
  CHECK(micro_arch("AuthenticAMD", 26, 2, true) == MicroArch::zen5);    // EPYC 9005 (Turin)
  CHECK(micro_arch("AuthenticAMD", 23, 49, false) == MicroArch::unknown);  // Zen 2: no AVX-512
  CHECK(micro_arch("GenuineIntel", 6, 143, true) == MicroArch::intel_avx512);
  CHECK(micro_arch("GenuineIntel", 6, 151, false) == MicroArch::intel_avx2);
  CpuModel m;
  m.brand = "AMD EPYC", m.family = 25, m.model = 17, m.arch = MicroArch::zen4;
  CHECK(m.describe() == "AMD EPYC (family 25 model 17, Zen 4)");
}

TEST_CASE("cpu model: CPUID agrees with the kernel's /proc/cpuinfo", "[cpu]") {
  std::ifstream in("/proc/cpuinfo");
  if (!in) return;  // not Linux: nothing to compare with
  int family = -1, model = -1;
  bool avx512 = false;
  std::string line;
  while (std::getline(in, line) && !line.empty()) {
    auto value = [&] { return line.substr(line.find(':') + 1); };
    if (line.rfind("cpu family", 0) == 0) family = std::stoi(value());
    if (line.rfind("model\t", 0) == 0) model = std::stoi(value());
    if (line.rfind("flags", 0) == 0) avx512 = value().find(" avx512f") != std::string::npos;
  }
  const CpuModel& m = cpu_model();
  INFO(m.describe());
  CHECK(m.family == family);
  CHECK(m.model == model);
  CHECK(m.avx512 == avx512);
  CHECK(!m.brand.empty());
}

TEST_CASE("cpu features: the kernels' instruction set is the CPU's best, lowered on request", "[cpu]") {
  std::ifstream in("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(in, line) && !line.empty())
    if (line.rfind("flags", 0) == 0) flags = line + " ";
  if (!flags.empty()) {
    const bool avx512 = flags.find(" avx512f ") != std::string::npos;
    const bool avx2 = flags.find(" avx2 ") != std::string::npos && flags.find(" fma ") != std::string::npos;
    CHECK(simd_isa_supported() == (avx512 ? SimdIsa::avx512 : avx2 ? SimdIsa::avx2 : SimdIsa::none));
  }
  const SimdIsa before = simd_isa();
  {
    ScopedSimdIsa none(SimdIsa::none);
    CHECK(simd_isa() == SimdIsa::none);
    CHECK(simd_lanes(simd_isa()) == 0);
  }
  CHECK(simd_isa() == before);
  if (simd_isa_supported() != SimdIsa::avx512)
    CHECK_THROWS_WITH(set_simd_isa(SimdIsa::avx512),
                      Catch::Contains("avx512") && Catch::Contains(std::string("at most ") + simd_isa_name(simd_isa_supported())));
  CHECK(simd_isa() == before);
  CHECK(parse_simd_isa("avx2") == SimdIsa::avx2);
  CHECK(parse_simd_isa("none") == SimdIsa::none);
  CHECK_THROWS_WITH(parse_simd_isa("sse"), Catch::Contains("MTMAP_CPU_ISA=sse") && Catch::Contains("avx512, avx2 or none"));
}
