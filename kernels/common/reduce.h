#pragma once
// Row kernels: every reduction and softmax-like op is run on a contiguous [rows, cols] view
// (the engine moves the reduced axes last first), one output per row or one row per row.
#include <cstdint>

namespace mtmap {

enum class ReduceOp : uint8_t {
  sum,
  mean,
  max,
  min,
  var,  // sum((x - mean)^2) / (cols - correction)
};

struct ReduceParams {
  ReduceOp op = ReduceOp::sum;
  int64_t rows = 0, cols = 0;
  double correction = 1;  // var only
};

enum class RowOp : uint8_t {
  softmax,      // out [rows, cols]
  log_softmax,  // out [rows, cols]
  logsumexp,    // out [rows]
};

struct RowParams {
  RowOp op = RowOp::softmax;
  int64_t rows = 0, cols = 0;
};

}  // namespace mtmap
