#include "engine/core/threads.h"

#include <cblas.h>
#include <omp.h>

#include "engine/core/error.h"

namespace mtmap {

void set_num_threads(int n) {
  MTMAP_CHECK(n >= 1, "set_num_threads: {} threads requested", n);
  openblas_set_num_threads(n);
  omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace mtmap
