#pragma once
// What a device's index kernel reports when it meets an out-of-range index. Kernels cannot throw,
// so the first launch to meet a bad index claims a small record in device memory (atomicCAS of
// its launch number into `claimed`: later launches' bad indices are dropped) and keeps there the
// lowest-positioned bad index its threads meet, whatever order they run in, so the error is the
// one the CPU check would have raised, on every run; the engine reads the record back at its next
// synchronisation point (engine/cuda/index_errors.h). The CPU kernels never see a bad index: the
// engine checks a CPU index before running them.
#include <cstdint>

namespace mtmap {

enum class IndexOp : int32_t { index_select = 1, index_add = 2, gather = 3, scatter_add = 4 };

inline const char* index_op_name(int32_t op) {
  switch (IndexOp(op)) {
    case IndexOp::index_select: return "index_select";
    case IndexOp::index_add: return "index_add";
    case IndexOp::gather: return "gather";
    case IndexOp::scatter_add: return "scatter_add";
  }
  return "an index op";
}

// All zero: nothing recorded. `position` is the flat position in the (contiguous) index tensor,
// `value` the index found there, `bound` the size of the indexed axis (valid: [0, bound)).
struct IndexErrorRecord {
  int32_t claimed = 0;  // 0, or the launch number of the kernel that records; the host resets it
  int32_t lock = 0;     // held while a thread of that launch compares and writes the fields below
  int32_t op = 0;       // an IndexOp; 0 until the first bad index is written
  int32_t unused = 0;
  int64_t position = 0, value = 0, bound = 0;
};

// What an index kernel is launched with: the record, and its launch's number (never 0), which
// tells the threads of the launch that owns the record from those of a later one.
struct IndexErrorSlot {
  IndexErrorRecord* record = nullptr;
  int32_t launch = 0;
};

}  // namespace mtmap
