#include "engine/core/fault_injection.h"

#include <atomic>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/error.h"

namespace mtmap::fault {
namespace {

std::atomic<int64_t> current_step{0};

// (site, step) pairs of MTMAP_FAULT_NONFINITE, parsed on first use; a malformed value is an error
// naming the variable (a test that silently injects nothing would pass for the wrong reason).
const std::vector<std::pair<std::string, int64_t>>& nonfinite_sites() {
  static const std::vector<std::pair<std::string, int64_t>> sites = [] {
    std::vector<std::pair<std::string, int64_t>> out;
    const char* env = std::getenv("MTMAP_FAULT_NONFINITE");
    if (!env || !*env) return out;
    std::string_view rest(env);
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const size_t at = item.rfind('@');
      MTMAP_CHECK(at != std::string_view::npos && at > 0 && at + 1 < item.size(),
                  "MTMAP_FAULT_NONFINITE = '{}': each item must be <site>@<step>, e.g. layer3.0@15", env);
      char* end = nullptr;
      const std::string step(item.substr(at + 1));
      const long long s = std::strtoll(step.c_str(), &end, 10);
      MTMAP_CHECK(end && *end == '\0' && s > 0, "MTMAP_FAULT_NONFINITE = '{}': step '{}' is not a positive integer",
                  env, step);
      out.emplace_back(std::string(item.substr(0, at)), int64_t(s));
    }
    return out;
  }();
  return sites;
}

}  // namespace

void set_step(int64_t step) { current_step.store(step, std::memory_order_relaxed); }

bool nonfinite_requested(const std::string& site) {
  const auto& sites = nonfinite_sites();
  if (sites.empty()) return false;
  const int64_t step = current_step.load(std::memory_order_relaxed);
  for (const auto& [name, at] : sites)
    if (name == site && at == step) return true;
  return false;
}

}  // namespace mtmap::fault
