#pragma once
// The emulated CUDA build (-DMTMAP_CUDA=EMU): the runtime API resolves to the CPU emulator.
#include "tests/cuda_emu/emulator/emu.h"
