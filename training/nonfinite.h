#pragma once
// Where a non-finite value came from, once a step's check has found one (training/moco.h): the
// first of the input, the stem's output and each block's output (in the order the forward pass
// made them) that holds a NaN or an infinity; or, for a non-finite gradient, the first parameter
// whose gradient is not finite. Only called on the way to stopping a run: it copies each tensor
// to the CPU one sample at a time.
#include <string>
#include <utility>
#include <vector>

#include "engine/nn/module.h"
#include "engine/tensor/tensor.h"

namespace mtmap::training {

// True when every element of `t` (any device, any floating dtype) is finite.
bool all_finite(const Tensor& t);

// "the first non-finite value is in the output of block layer3.0 (the input clips, the stem's and
// the earlier blocks' outputs are finite)", or what else is true: the input clips themselves, or
// every traced output finite (the value arose after the last block: the head, the key encoder or
// the loss). `trace` is models::ResNet3dOutput::trace.
std::string locate_nonfinite(const Tensor& input, const std::vector<std::pair<std::string, Tensor>>& trace);

// "the first parameter with a non-finite gradient is layer2.0.conv1.weight", or "" when all are finite.
std::string locate_nonfinite_gradient(const nn::Module& module);

}  // namespace mtmap::training
