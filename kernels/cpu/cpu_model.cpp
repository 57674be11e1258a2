#include "kernels/cpu/cpu_model.h"

#include <cpuid.h>

#include <cstring>

namespace mtmap::cpu {

const char* arch_name(MicroArch a) {
  switch (a) {
    case MicroArch::zen3: return "Zen 3";
    case MicroArch::zen4: return "Zen 4";
    case MicroArch::zen5: return "Zen 5";
    case MicroArch::intel_avx512: return "Intel with AVX-512";
    case MicroArch::intel_avx2: return "Intel with AVX2";
    case MicroArch::unknown: break;
  }
  return "unknown micro-architecture";
}

MicroArch micro_arch(const std::string& vendor, int family, int model, bool avx512) {
  if (vendor == "AuthenticAMD") {
    if (family == 0x1A) return MicroArch::zen5;  // Zen 5 (Turin, Granite Ridge, Strix)
    if (family == 0x19) {
      // Family 19h is Zen 3 and Zen 4: Zen 4 is models 10h-1Fh (Genoa), 60h-7Fh (Raphael, Phoenix)
      // and A0h-AFh (Bergamo, Siena); the rest are Zen 3 (Milan, Vermeer, Cezanne...).
      if ((model >= 0x10 && model <= 0x1F) || (model >= 0x60 && model <= 0x7F) || (model >= 0xA0 && model <= 0xAF))
        return MicroArch::zen4;
      return MicroArch::zen3;
    }
    return MicroArch::unknown;
  }
  if (vendor == "GenuineIntel") return avx512 ? MicroArch::intel_avx512 : MicroArch::intel_avx2;
  return MicroArch::unknown;
}

std::string CpuModel::describe() const {
  std::string out = brand.empty() ? vendor : brand;
  out += " (family " + std::to_string(family) + " model " + std::to_string(model);
  if (arch != MicroArch::unknown) out += std::string(", ") + arch_name(arch);
  return out + ")";
}

namespace {

CpuModel detect() {
  CpuModel m;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return m;
  char vendor[13] = {0};
  std::memcpy(vendor, &b, 4), std::memcpy(vendor + 4, &d, 4), std::memcpy(vendor + 8, &c, 4);
  m.vendor = vendor;
  const unsigned max_leaf = a;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    // Display family and model: the extended fields count only where the base family says so.
    const int base_family = int((a >> 8) & 0xF), base_model = int((a >> 4) & 0xF);
    m.family = base_family == 0xF ? base_family + int((a >> 20) & 0xFF) : base_family;
    m.model = base_family == 0x6 || base_family == 0xF ? base_model + (int((a >> 16) & 0xF) << 4) : base_model;
  }
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    m.avx512 = (b >> 16) & 1;  // AVX512F
    __cpuid_count(7, 1, a, b, c, d);
    m.avx512_bf16 = (a >> 5) & 1;
  }
  __get_cpuid(0x80000000, &a, &b, &c, &d);
  if (a >= 0x80000004) {
    char brand[49] = {0};
    for (unsigned leaf = 0; leaf < 3; ++leaf) {
      __get_cpuid(0x80000002 + leaf, &a, &b, &c, &d);
      std::memcpy(brand + 16 * leaf, &a, 4), std::memcpy(brand + 16 * leaf + 4, &b, 4);
      std::memcpy(brand + 16 * leaf + 8, &c, 4), std::memcpy(brand + 16 * leaf + 12, &d, 4);
    }
    std::string s = brand;
    s.erase(0, s.find_first_not_of(' '));
    s.erase(s.find_last_not_of(' ') + 1);
    m.brand = s;
  }
  m.arch = micro_arch(m.vendor, m.family, m.model, m.avx512);
  return m;
}

}  // namespace

const CpuModel& cpu_model() {
  static const CpuModel m = detect();
  return m;
}

}  // namespace mtmap::cpu
