// The MPI tests' main: run by `mpirun -np 2` (CTest's dist_mpi_2_ranks). Joins the job, runs Catch on
// every rank, and exits with the worst result of any rank, so a failure on rank 1 fails the test.
#include "tests/catch_session.h"

#include <cstdio>
#include <memory>

#include "engine/core/error.h"
#include "engine/dist/world.h"
#include "tests/dist/mpi_world.h"

namespace {
std::unique_ptr<mtmap::dist::Communicator> the_world;
}

mtmap::dist::Communicator& mtmap::test::world() { return *the_world; }

int main(int argc, char** argv) {
  const mtmap::dist::LaunchInfo launch = mtmap::dist::launch_from_environment();
  if (launch.size != 2) {
    std::fprintf(stderr, "test_dist_mpi: run under `mpirun -np 2` (launched as %d rank(s))\n", launch.size);
    return 2;
  }
  the_world = mtmap::dist::world_communicator(launch);
  const int failed = mtmap::test::run_catch_session(argc, argv);
  mtmap::Tensor worst = mtmap::full({1}, double(failed), mtmap::DType::i64);
  the_world->all_reduce_sum(worst);
  const int any = int(worst.data<int64_t>()[0]);
  if (launch.rank == 0) std::fprintf(stderr, "test_dist_mpi: %d failure(s) over both ranks\n", any);
  the_world.reset();  // MPI_Finalize
  return any == 0 ? 0 : 1;
}
