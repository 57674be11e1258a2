// Where a process sits in a job, read from the launcher's environment (engine/dist/launch.h).
#include <catch2/catch.hpp>

#include "engine/core/error.h"
#include "engine/dist/launch.h"
#include "engine/dist/world.h"

using namespace mtmap;

TEST_CASE("launch: mpirun, srun and PMI environments give rank, size and local rank", "[dist]") {
  const dist::LaunchInfo none = dist::launch_from({{"HOME", "/root"}});
  CHECK(none.launcher == "none");
  CHECK(none.size == 1);
  CHECK_FALSE(none.distributed());

  const dist::LaunchInfo ompi = dist::launch_from({{"OMPI_COMM_WORLD_RANK", "3"},
                                                   {"OMPI_COMM_WORLD_SIZE", "8"},
                                                   {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                                                   {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}});
  CHECK(ompi.launcher == "mpirun");
  CHECK(ompi.rank == 3);
  CHECK(ompi.size == 8);
  CHECK(ompi.local_rank == 1);
  CHECK(ompi.local_size == 2);
  CHECK(ompi.distributed());

  // srun on an uneven allocation writes "2(x3)": the local size is then unknown, not an error.
  const dist::LaunchInfo slurm = dist::launch_from(
      {{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "6"}, {"SLURM_LOCALID", "1"}, {"SLURM_NTASKS_PER_NODE", "2(x3)"}});
  CHECK(slurm.launcher == "srun");
  CHECK(slurm.rank == 5);
  CHECK(slurm.size == 6);
  CHECK(slurm.local_rank == 1);
  CHECK(slurm.local_size == 2);

  const dist::LaunchInfo pmi = dist::launch_from({{"PMI_RANK", "0"}, {"PMI_SIZE", "2"}});
  CHECK(pmi.launcher == "pmi");
  CHECK(pmi.size == 2);
  CHECK(pmi.local_rank == 0);

  // mpirun inside a Slurm allocation: mpirun's variables win.
  const dist::LaunchInfo both = dist::launch_from({{"SLURM_PROCID", "0"},
                                                   {"SLURM_NTASKS", "1"},
                                                   {"OMPI_COMM_WORLD_RANK", "1"},
                                                   {"OMPI_COMM_WORLD_SIZE", "2"}});
  CHECK(both.launcher == "mpirun");
  CHECK(both.rank == 1);
}

TEST_CASE("launch: a malformed launcher variable is an error naming it", "[dist]") {
  try {
    dist::launch_from({{"OMPI_COMM_WORLD_RANK", "two"}, {"OMPI_COMM_WORLD_SIZE", "4"}});
    FAIL("no error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("OMPI_COMM_WORLD_RANK") && Catch::Contains("two"));
  }
  try {
    dist::launch_from({{"SLURM_PROCID", "4"}, {"SLURM_NTASKS", "4"}});
    FAIL("no error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("rank 4 of 4"));
  }
}

TEST_CASE("launch: one process needs no MPI; several in a build without MPI are refused by name", "[dist]") {
  CHECK(dist::world_communicator(dist::LaunchInfo{}) == nullptr);
  if (dist::mpi_built()) return;  // the refusal only exists without MPI
  dist::LaunchInfo two;
  two.launcher = "mpirun";
  two.size = 2;
  CHECK_THROWS_WITH(dist::world_communicator(two), Catch::Contains("no MPI"));
}
