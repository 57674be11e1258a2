#pragma once
// Reductions over a set of axes (negative axes count from the end), with keepdim.
#include <vector>

#include "engine/tensor/tensor.h"

namespace mtmap {

Tensor sum(const Tensor& t);  // over every axis, shape []
Tensor sum(const Tensor& t, const std::vector<int>& dims, bool keepdim = false);
Tensor mean(const Tensor& t);
Tensor mean(const Tensor& t, const std::vector<int>& dims, bool keepdim = false);
// max/min: gradient shared equally among tied maxima.
Tensor max(const Tensor& t, const std::vector<int>& dims, bool keepdim = false);
Tensor min(const Tensor& t, const std::vector<int>& dims, bool keepdim = false);
// Variance with divisor (count - correction): correction 1 is the unbiased estimate.
Tensor var(const Tensor& t, const std::vector<int>& dims, double correction = 1, bool keepdim = false);
Tensor stddev(const Tensor& t, const std::vector<int>& dims, double correction = 1, bool keepdim = false);

}  // namespace mtmap
