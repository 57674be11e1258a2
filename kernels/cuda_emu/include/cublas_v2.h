#pragma once
// The emulated CUDA build (-DMTMAP_CUDA=EMU): cuBLAS resolves to its reference model.
#include "kernels/cuda_emu/cublas.h"
