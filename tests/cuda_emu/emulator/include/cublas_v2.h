#pragma once
// The emulated CUDA build (-DMTMAP_CUDA=EMU): cuBLAS resolves to its reference model.
#include "tests/cuda_emu/emulator/cublas.h"
