#include "engine/core/memory_policy.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <climits>

namespace mtmap {

bool retain_freed_cpu_memory(size_t max_block_bytes, size_t keep_bytes) {
#if defined(__GLIBC__)
  const int block = max_block_bytes > size_t(INT_MAX) ? INT_MAX : int(max_block_bytes);
  const int keep = keep_bytes > size_t(INT_MAX) ? INT_MAX : int(keep_bytes);
  return mallopt(M_MMAP_THRESHOLD, block) == 1 && mallopt(M_TRIM_THRESHOLD, keep) == 1;
#else
  (void)max_block_bytes;
  (void)keep_bytes;
  return false;
#endif
}

}  // namespace mtmap
