#pragma once
// How many CPU threads the CPU backend uses: OpenBLAS's GEMMs and the engine's own parallel loops
// (OpenMP). Default: every core. Results do not depend on it (loops split over independent outputs).
namespace mtmap {

void set_num_threads(int n);
int num_threads();

}  // namespace mtmap
