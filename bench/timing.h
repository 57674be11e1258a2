#pragma once
// Wall-clock timing for benchmarks: median of `reps` runs after `warmup` runs.
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace mtmap::bench {

inline double median_seconds(const std::function<void()>& f, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace mtmap::bench
