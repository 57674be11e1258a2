#pragma once
// The driver shared by the channels-last forward and input-gradient kernels: every class of
// positions (tap_classes.h) in blocks of PB positions, per block of output channels (BlockShape),
// through the register kernel of channels_last_block.h with the class's own tap list.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cpu/channels_last_block.h"
#include "kernels/cpu/tap_classes.h"

namespace mtmap::cpu::cl {

// lists[c · out_blocks + ob]: class c's taps, weights offset to output-channel block ob of
// block_shape(isa), the set the lists were built for.
// place(n, idx, ob0, &base, &out): where the class member at sample n and axis indices idx
// reads (its offset in src) and writes (its row of outputs, from output channel ob0).
template <class Place>
void run_classes(SimdIsa isa, const PositionClasses& classes, const std::vector<std::vector<Tap>>& lists,
                 int64_t out_channels, const float* src, int64_t in_channels, int64_t ldw, Place place) {
  const BlockShape shape = block_shape(isa);
  const int64_t out_blocks = (out_channels + shape.channels() - 1) / shape.channels();
  // A job: up to kJobBlocks blocks of one class and one output-channel block.
  constexpr int64_t kJobBlocks = 4;
  struct Job {
    int64_t cls, first, ob;
  };
  std::vector<Job> jobs;
  for (int64_t c = 0; c < classes.count(); ++c)
    for (int64_t first = 0; first < classes.size(c); first += kJobBlocks * kPositions)
      for (int64_t ob = 0; ob < out_blocks; ++ob) jobs.push_back({c, first, ob});
  // Dynamic: classes differ in their number of taps. Each output is still summed by one thread in
  // its list's order, whichever thread takes the job: the same result for any thread count.
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    const auto a = classes.axes_of(job.cls);
    const std::vector<Tap>& list = lists[size_t(job.cls * out_blocks + job.ob)];
    const int64_t o0 = job.ob * shape.channels();
    const int kv = int(std::min<int64_t>(shape.vectors, (out_channels - o0) / shape.lanes));
    const int64_t end = std::min(classes.size(job.cls), job.first + kJobBlocks * kPositions);
    for (int64_t b = job.first; b < end; b += kPositions) {
      const int pb = int(std::min<int64_t>(kPositions, end - b));
      int64_t base[kPositions];
      float* out[kPositions];
      for (int j = 0; j < pb; ++j) {
        int64_t n, idx[3];
        classes.member(a, b + j, &n, idx);
        place(n, idx, o0, &base[j], &out[j]);
      }
      run_block(isa, pb, kv, src, base, list.data(), int(list.size()), in_channels, ldw, out);
    }
  }
}

}  // namespace mtmap::cpu::cl
