#pragma once
// Index ops on [outer, D, inner] views, the indexed axis in the middle. All indices are i64.
// Out-of-range indices: the engine range-checks a CPU index before the CPU kernels run; CUDA
// kernels check on the device, read nothing at a bad index and record it for the engine to report
// (kernels/common/index_error.h).
#include <cstdint>

namespace mtmap {

// out[o, i, n] = in[o, idx[i], n];   in (outer, D, inner), idx (I), out (outer, I, inner)
struct IndexSelectParams {
  int64_t outer = 0, D = 0, inner = 0, I = 0;
};

// out[o, d, n] += sum over i with idx[i] == d of src[o, i, n], in increasing i (deterministic).
// out (outer, D, inner) already initialised; src (outer, I, inner).
using IndexAddParams = IndexSelectParams;

// gather:      out[o, j, n] = in[o, idx[o, j, n], n]      in (outer, D, inner), idx/out (outer, J, inner)
// scatter_add: out[o, d, n] += sum over j with idx[o, j, n] == d of src[o, j, n], j increasing.
struct GatherParams {
  int64_t outer = 0, D = 0, inner = 0, J = 0;
};

}  // namespace mtmap
