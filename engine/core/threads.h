#pragma once
// How many CPU threads the CPU backend uses: OpenBLAS's GEMMs and the engine's own parallel loops
// (OpenMP). Default: every core. Results do not depend on it (loops split over independent outputs).
namespace mtmap {

void set_num_threads(int n);
int num_threads();

// OpenBLAS takes a work buffer (about 128 MiB of address space) the first time each thread calls
// it, and when that allocation fails it retries for ever: the process hangs instead of failing.
// This makes every thread of the current team take its buffer now, after checking that the
// address space has room for them: a shortage (a low `ulimit -v`, a full machine) becomes an
// OutOfMemory error at the start of a run instead of a hang in its middle. Cheap once done.
void reserve_blas_buffers();

}  // namespace mtmap
