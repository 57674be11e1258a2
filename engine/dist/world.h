#pragma once
// The process group of a launched job (mpirun, srun): MPI_COMM_WORLD as a Communicator over CPU
// tensors, made once per process by the program (the CLI's main, a test's main, a user's program
// embedding the engine). MPI is initialised only when the launcher says there are several ranks,
// so a plain single-process run never loads it.
#include <memory>

#include "engine/dist/communicator.h"
#include "engine/dist/launch.h"

namespace mtmap::dist {

// Whether this build has MPI (MTMAP_WITH_MPI) and NCCL (MTMAP_WITH_NCCL).
bool mpi_built();
bool nccl_built();

// Null when `launch` is a single process. Otherwise MPI is initialised (threads: funneled; only the
// calling thread makes MPI calls) and MPI_COMM_WORLD is checked against `launch` (its size and this
// rank). Throws an mtmap::Error naming the launcher when this build has no MPI. MPI is finalised
// when the returned communicator is destroyed.
std::unique_ptr<Communicator> world_communicator(const LaunchInfo& launch);

// Ends the whole job after an error on this rank (MPI_Abort): the other ranks may be waiting in a
// collective and would hang. Returns (does nothing) when MPI is not running.
void abort_job(int exit_code);

}  // namespace mtmap::dist
