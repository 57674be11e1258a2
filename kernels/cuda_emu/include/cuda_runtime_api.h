#pragma once
// The emulated CUDA build (-DMTMAP_CUDA=EMU): the runtime API resolves to the CPU emulator.
#include "kernels/cuda_emu/emu.h"
