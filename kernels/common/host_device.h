#pragma once
// Marks functions that compile for both the host and a CUDA device.
#if defined(__CUDACC__)
#define MTMAP_HD __host__ __device__
#else
#define MTMAP_HD
#endif
