// Planted faults for tests/dist/dist_cli.sh, under mpirun -np 2: rank 1 throws ("throw") or stops
// answering ("hang") while rank 0 waits in an all-reduce. Either way the whole job must end with
// a non-zero status and a message naming the rank and the cause, never hang.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "tlc/dist/launch.hpp"

int main(int argc, char** argv) {
  if (argc != 2 || (std::strcmp(argv[1], "throw") && std::strcmp(argv[1], "hang"))) {
    std::fprintf(stderr, "usage: fault throw|hang (under mpirun -np 2)\n");
    return 2;
  }
  const bool hang = !std::strcmp(argv[1], "hang");
  auto comm = tlc::dist::communicator_from_environment();
  return tlc::dist::run_or_abort(*comm, "fault", [&] {
    float x = 1;
    comm->all_reduce(&x, 1, tlc::dist::ReduceOp::Sum);  // both ranks are up
    if (comm->rank() == 1) {
      if (!hang) throw std::runtime_error("planted fault");
      std::this_thread::sleep_for(std::chrono::hours(1));
    }
    comm->all_reduce(&x, 1, tlc::dist::ReduceOp::Sum);
    return 0;
  });
}
