#include "engine/dist/world.h"

#include "engine/core/error.h"
#ifdef MTMAP_WITH_MPI
#include "engine/dist/mpi_communicator.h"
#endif

namespace mtmap::dist {

bool mpi_built() {
#ifdef MTMAP_WITH_MPI
  return true;
#else
  return false;
#endif
}

bool nccl_built() {
#ifdef MTMAP_WITH_NCCL
  return true;
#else
  return false;
#endif
}

std::unique_ptr<Communicator> world_communicator(const LaunchInfo& launch) {
  if (!launch.distributed()) return nullptr;
#ifdef MTMAP_WITH_MPI
  int initialized = 0;
  mpi_check(MPI_Initialized(&initialized), "MPI_Initialized");
  if (!initialized) {
    int provided = 0;
    mpi_check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MTMAP_CHECK(provided >= MPI_THREAD_FUNNELED, "MPI gives thread support level {}, below MPI_THREAD_FUNNELED",
                provided);
  }
  auto comm = std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, !initialized);
  MTMAP_CHECK(comm->size() == launch.size && comm->rank() == launch.rank,
              "{} started rank {} of {}, but MPI sees rank {} of {}: was this mtmap built against another MPI than "
              "the one that launched it?",
              launch.launcher, launch.rank, launch.size, comm->rank(), comm->size());
  return comm;
#else
  MTMAP_FAIL("{} started {} ranks, but this build of mtmap has no MPI (install libopenmpi-dev, tools/setup.sh does, "
             "and rebuild)",
             launch.launcher, launch.size);
#endif
}

void abort_job(int exit_code) {
#ifdef MTMAP_WITH_MPI
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, exit_code);
#else
  (void)exit_code;
#endif
}

}  // namespace mtmap::dist
