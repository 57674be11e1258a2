#pragma once
// Wall-clock timing for benchmarks: median of `reps` runs after `warmup` runs.
#include <algorithm>
#include <chrono>
#include <functional>
#include <utility>
#include <vector>

namespace mtmap::bench {

// The middle value (the upper one of an even count); 0 for none.
inline double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

inline double median_seconds(const std::function<void()>& f, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  return median(std::move(t));
}

}  // namespace mtmap::bench
