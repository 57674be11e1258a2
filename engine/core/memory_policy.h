#pragma once
// How the process returns freed CPU memory to the system. By default glibc serves blocks of a few
// MB and more with fresh mmap calls and unmaps them on free, so every training step page-faults
// (and the kernel zeroes) its activations and the kernels' padded copies again: measured 7 % of a
// quickstart-scale CPU training step. The mtmap program keeps such blocks in the heap instead;
// a program that embeds the engine may call this too (it changes malloc for the whole process).
#include <cstddef>

namespace mtmap {

// Blocks up to `max_block_bytes` (glibc caps it at 32 MiB on 64-bit) come from the heap and stay
// there when freed, up to `keep_bytes` of free memory at the top of the heap. Returns false where
// the C library has no such settings (not glibc) or malloc is not the C library's (sanitizers).
bool retain_freed_cpu_memory(size_t max_block_bytes = size_t(32) << 20, size_t keep_bytes = size_t(1) << 30);

// The same as a setting an execution context applies when it is made (engine/context/
// execution_context.h): still process-wide, and never undone.
struct CpuMemoryPolicy {
  bool retain_freed = false;  // false: leave malloc as it is
  size_t max_block_bytes = size_t(32) << 20;
  size_t keep_bytes = size_t(1) << 30;
};

}  // namespace mtmap
