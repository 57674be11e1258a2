#include "engine/dist/launch.h"

#include <cstdlib>
#include <optional>

#include "engine/core/error.h"

extern char** environ;

namespace mtmap::dist {
namespace {

std::optional<int> number(const std::map<std::string, std::string>& env, const char* name) {
  auto it = env.find(name);
  if (it == env.end() || it->second.empty()) return std::nullopt;
  try {
    size_t used = 0;
    const int v = std::stoi(it->second, &used);
    if (used == it->second.size() && v >= 0) return v;
  } catch (const std::exception&) {
  }
  MTMAP_FAIL("the launcher's environment variable {}='{}' is not a non-negative number", name, it->second);
}

}  // namespace

LaunchInfo launch_from(const std::map<std::string, std::string>& env) {
  struct Scheme {
    const char *launcher, *rank, *size, *local_rank, *local_size;
  };
  // mpirun first: under `srun --mpi=pmix mpirun`-style nesting the innermost launcher wins.
  static const Scheme schemes[] = {
      {"mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
       "OMPI_COMM_WORLD_LOCAL_SIZE"},
      {"srun", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"},
      {"pmi", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"},
  };
  for (const Scheme& s : schemes) {
    const std::optional<int> rank = number(env, s.rank), size = number(env, s.size);
    if (!rank || !size) continue;
    LaunchInfo info;
    info.launcher = s.launcher;
    info.rank = *rank;
    info.size = *size;
    MTMAP_CHECK(info.size >= 1 && info.rank < info.size, "the launcher ({}) says rank {} of {} ({}, {})", s.launcher,
                info.rank, info.size, s.rank, s.size);
    // SLURM_NTASKS_PER_NODE can be "2(x3)" on uneven allocations: then the local size stays unknown.
    std::optional<int> local_size;
    try {
      local_size = number(env, s.local_size);
    } catch (const Error&) {
    }
    info.local_rank = number(env, s.local_rank).value_or(0);
    info.local_size = local_size.value_or(std::max(1, info.local_rank + 1));
    return info;
  }
  return LaunchInfo{};
}

LaunchInfo launch_from_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv(*e);
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return launch_from(env);
}

}  // namespace mtmap::dist
