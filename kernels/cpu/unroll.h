#pragma once
// MTMAP_UNROLL before a loop over a register block's accumulators (a compile-time count) makes GCC
// unroll it completely before its scalar replacement of aggregates runs. Without it, GCC 12 at
// -O3 keeps a block's `__m256 acc[PB][KV]` array in memory: the unaligned vector loads of the inner
// loop (`_mm256_loadu_ps`, a may_alias access) might read it, so every FMA's result was stored back
// to the stack, and AVX2 kernels ran store-bound at about 40 % of the FMA peak on Zen 3
// (docs/perf/cpu.md). With the loops unrolled, the accumulators live in registers.
#define MTMAP_UNROLL _Pragma("GCC unroll 32")
