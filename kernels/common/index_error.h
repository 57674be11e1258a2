#pragma once
// What a device's index kernel reports when it meets an out-of-range index. Kernels cannot throw,
// so the first one to meet a bad index claims a small record in device memory (atomicCAS on
// `claimed`: the first writer wins, later bad indices are dropped) and writes what the host needs
// for the error the CPU check would have raised; the engine reads the record back at its next
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
  int32_t claimed = 0;  // 0 → 1 by the kernel that records; the host resets it after reporting
  int32_t op = 0;       // an IndexOp
  int64_t position = 0, value = 0, bound = 0;
};

}  // namespace mtmap
