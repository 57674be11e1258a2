// The mtmap command-line program. Errors from the engine reach the user as one line naming the
// culprit, with exit status 1.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <thread>

#include "engine/core/error.h"
#include "engine/core/memory_policy.h"
#include "engine/dist/world.h"
#include "tools/cli/commands.h"

namespace mtmap::cli {
Job& job() {
  static Job j;
  return j;
}

int rank_threads() {
  const Job& j = job();
  if (!j.world) return 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  const int cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  // mpirun binds a rank to its own cores when it can: the mask is then this rank's share. Unbound,
  // every rank of the node sees all the cores and takes its part of them.
  const bool unbound = cores >= int(std::thread::hardware_concurrency());
  return std::max(1, unbound ? cores / std::max(1, j.launch.local_size) : cores);
}
}  // namespace mtmap::cli

namespace {

// "" for one process, " (rank 1 of 4)" in a parallel job: which rank an error line comes from.
std::string rank_tag() {
  const mtmap::dist::LaunchInfo& l = mtmap::cli::job().launch;
  return l.distributed() ? fmt::format(" (rank {} of {})", l.rank, l.size) : "";
}

// A failing rank of a parallel job ends the whole job: the others may wait for it in a collective.
int fail(int code) {
  if (mtmap::cli::job().world) {
    std::fflush(stderr);
    mtmap::dist::abort_job(code);
  }
  return code;
}

// Training runs the loader's worker threads beside the OpenMP compute threads. With OpenMP's
// default wait policy its threads spin at every barrier; on a machine with no spare core a
// descheduled thread then stalls each barrier for a scheduler tick: measured 5.7 s instead of
// 0.02 s per step of experiments/smoke.json on 2 cores. libgomp reads the policy once, when it is
// loaded, so `mtmap train` and `mtmap run` restart themselves with OMP_WAIT_POLICY=PASSIVE unless the user chose one.
void prefer_passive_openmp_for_training(int argc, char** argv) {
  if (argc < 2 || (std::strcmp(argv[1], "train") != 0 && std::strcmp(argv[1], "run") != 0) ||
      std::getenv("OMP_WAIT_POLICY"))
    return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then carry on with the default policy
}

}  // namespace

int main(int argc, char** argv) {
  prefer_passive_openmp_for_training(argc, argv);
  // Training and benchmarks free and reallocate the same large blocks every step: keep them in the
  // heap rather than unmapping them (engine/core/memory_policy.h).
  mtmap::retain_freed_cpu_memory();
  // Launched by mpirun or srun with several ranks: join the job (MPI) before anything else.
  try {
    mtmap::cli::Job& job = mtmap::cli::job();
    job.launch = mtmap::dist::launch_from_environment();
    job.world = mtmap::dist::world_communicator(job.launch);
  } catch (const mtmap::Error& e) {
    fmt::print(stderr, "mtmap: error{}: {}\n", rank_tag(), e.what());
    return fail(1);
  }
  CLI::App app{"mtmap: train and analyse topographic models of visual area MT"};
  app.require_subcommand(1);
  mtmap::cli::add_info_command(app);
  mtmap::cli::add_bench_command(app);
  mtmap::cli::add_data_command(app);
  mtmap::cli::add_analyze_map_command(app);
  mtmap::cli::add_analyze_responses_command(app);
  mtmap::cli::add_analyze_report_command(app);
  mtmap::cli::add_analyze_command(app);
  mtmap::cli::add_init_checkpoint_command(app);
  mtmap::cli::add_train_command(app);
  mtmap::cli::add_run_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Exit status (README, "Exit status"): 0 ok (--help too), 1 a failure, 2 bad usage or a bad
    // config. CLI11's own codes for usage errors (105, 106, 109, …) all become 2; a command's
    // RuntimeError carries the status it chose.
    const int code = app.exit(e);
    if (code == 0) return 0;
    return fail(dynamic_cast<const CLI::RuntimeError*>(&e) ? code : 2);
  } catch (const mtmap::Error& e) {
    fmt::print(stderr, "mtmap: error{}: {}\n", rank_tag(), e.what());
    return fail(1);
  } catch (const std::bad_alloc&) {
    // A C++ container that could not grow (tensors raise mtmap::OutOfMemory, above, with sizes).
    fmt::print(stderr, "mtmap: error{}: out of memory (an allocation failed); use a smaller batch, clip or model, or "
               "a machine with more memory\n", rank_tag());
    return fail(1);
  } catch (const std::exception& e) {
    fmt::print(stderr, "mtmap: unexpected error{}: {}\n", rank_tag(), e.what());
    return fail(1);
  }
  return 0;
}
