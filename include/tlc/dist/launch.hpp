#pragma once
// Joining the job a launcher started: mpirun / mpiexec (Open MPI, MPICH) or srun. A process
// started by hand is a single process. A launched process joins over MPI when this build has it
// (TLC_WITH_MPI, from the CMake target tlc::mpi), and otherwise refuses to run as one of several
// copies that would each train alone.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include "tlc/dist/communicator.hpp"
#if defined(TLC_WITH_MPI)
#include "tlc/dist/mpi_communicator.hpp"
#endif

namespace tlc::dist {

inline bool built_with_mpi() {
#if defined(TLC_WITH_MPI)
  return true;
#else
  return false;
#endif
}

// The number of ranks a launcher announced in the environment (1 when none did).
inline int launched_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS"})
    if (const char* v = std::getenv(name)) return std::max(1, std::atoi(v));
  return 1;
}

// This process's rank as the launcher announced it (0 when none did): known before MPI starts.
inline int launched_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"})
    if (const char* v = std::getenv(name)) return std::max(0, std::atoi(v));
  return 0;
}

// The communicator of this process: MPI under a launcher, a single process otherwise.
// TLC_DIST_TIMEOUT (seconds) bounds every collective wait (default 300).
inline std::unique_ptr<Communicator> communicator_from_environment() {
  const int launched = launched_world_size();
  std::unique_ptr<Communicator> comm;
#if defined(TLC_WITH_MPI)
  if (launched > 1) comm = std::make_unique<MpiCommunicator>();
#endif
  TLC_CHECK(launched == 1 || comm, DistError, "started as one of ", launched,
            " ranks, but this tlc was built without MPI (install libopenmpi-dev and rebuild with TLC_MPI=AUTO or ON)");
  if (!comm) comm = std::make_unique<SingleProcess>();
  if (const char* t = std::getenv("TLC_DIST_TIMEOUT")) {
    char* end = nullptr;
    const double s = std::strtod(t, &end);
    TLC_CHECK(end != t && *end == '\0' && s > 0, DistError, "TLC_DIST_TIMEOUT: expected seconds > 0, found '", t, "'");
    comm->set_timeout(std::chrono::milliseconds(static_cast<long long>(s * 1000)));
  }
  return comm;
}

// Runs fn() and returns its status. When fn throws on one of several ranks, the error is printed
// with the rank and the whole job ends (MPI_Abort), so the other ranks, waiting in a collective,
// cannot hang. A single process rethrows.
template <class Fn>
int run_or_abort(Communicator& comm, const char* who, Fn&& fn) {
  if (comm.size() == 1) return fn();
  try {
    return fn();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: rank %d of %d: error: %s\n", who, comm.rank(), comm.size(), e.what());
    std::fflush(stderr);
    comm.abort(1);
    return 1;
  }
}

}  // namespace tlc::dist
