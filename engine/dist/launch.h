#pragma once
// Where this process sits in a parallel job, read from what the launcher put in its environment:
// OpenMPI's mpirun (OMPI_COMM_WORLD_*), Slurm's srun (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID),
// or an MPICH-style PMI (PMI_RANK, PMI_SIZE, MPI_LOCALRANKID). Nothing is initialised here: this
// is what decides whether MPI is needed at all (a plain `mtmap train` never touches it).
#include <map>
#include <string>

namespace mtmap::dist {

struct LaunchInfo {
  std::string launcher = "none";  // "mpirun", "srun", "pmi" or "none"
  int rank = 0, size = 1;         // in the whole job
  int local_rank = 0, local_size = 1;  // on this node
  bool distributed() const { return size > 1; }
};

// From the process environment. Throws an mtmap::Error naming the variable when one is set but
// not a number, or a rank is outside its size.
LaunchInfo launch_from_environment();
// The same from a given environment (tests).
LaunchInfo launch_from(const std::map<std::string, std::string>& env);

}  // namespace mtmap::dist
