#pragma once
// Random numbers from Philox (kernels/common/philox.h). A Generator is a seed and an offset that
// advances by the blocks each call consumes: the same seed gives the same sequence of tensors on
// the CPU and on CUDA (bit for bit for uniform and randperm; normal to libm rounding).
#include <cstdint>

#include "engine/tensor/tensor.h"

namespace mtmap {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0, uint64_t offset = 0) : seed_(seed), offset_(offset) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  // Returns the current offset and moves past `blocks` 128-bit blocks.
  uint64_t advance(uint64_t blocks) {
    uint64_t at = offset_;
    offset_ += blocks;
    return at;
  }

 private:
  uint64_t seed_;
  uint64_t offset_;
};

// Uniform in [0, 1), f32 or f64.
Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::f32, Device device = Device::cpu());
// Standard normal, f32 or f64.
Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::f32, Device device = Device::cpu());
// A random permutation of 0..n-1 (i64).
Tensor randperm(int64_t n, Generator& gen, Device device = Device::cpu());

}  // namespace mtmap
