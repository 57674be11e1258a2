#pragma once
// The CPU backend's kernels: raw pointers, a params struct, nothing from the engine.
// Math kernels take f32 and f64; copy and fill take every dtype. An unsupported dtype throws
// std::invalid_argument naming the kernel (the engine checks first and names the op).
#include <cstdint>

#include "kernels/common/dtype.h"
#include "kernels/common/elementwise.h"
#include "kernels/common/gemm.h"
#include "kernels/common/index.h"
#include "kernels/common/reduce.h"

namespace mtmap::cpu {

void unary(DType t, const UnaryParams& p, const void* in, void* out);
void binary(DType t, BinaryOp op, const BinaryParams& p, const void* a, const void* b, void* out);
void compare(DType t, CompareOp op, const BinaryParams& p, const void* a, const void* b, uint8_t* out);
void where(DType t, const WhereParams& p, const uint8_t* cond, const void* a, const void* b, void* out);
void copy(DType src_t, DType dst_t, const CopyParams& p, const void* src, void* dst);
void fill(DType t, int64_t n, double value, void* out);

void reduce(DType t, const ReduceParams& p, const void* in, void* out);  // in (rows, cols) → (rows)
void row_op(DType t, const RowParams& p, const void* in, void* out);

void gemm(DType t, const GemmParams& p, const void* a, const void* b, void* c);

void index_select(DType t, const IndexSelectParams& p, const void* in, const int64_t* idx, void* out);
void index_add(DType t, const IndexAddParams& p, const void* src, const int64_t* idx, void* out);
void gather(DType t, const GatherParams& p, const void* in, const int64_t* idx, void* out);
void scatter_add(DType t, const GatherParams& p, const void* src, const int64_t* idx, void* out);

void uniform(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out);
void normal(DType t, int64_t n, uint64_t seed, uint64_t offset, void* out);
void randperm(int64_t n, uint64_t seed, uint64_t offset, int64_t* out);

}  // namespace mtmap::cpu
