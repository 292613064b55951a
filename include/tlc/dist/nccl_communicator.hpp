#pragma once
// Gradients of CUDA tensors over NCCL, one GPU per rank. Declared with plain C++ types; the
// definition is in cuda/nccl.cpp, compiled into tlc::cuda when the CUDA toolkit has NCCL (it then
// defines TLC_WITH_NCCL). The NCCL unique id travels from rank 0 over a bootstrap communicator
// (MPI), which also carries what NCCL does not: host buffers and barriers.
#include <memory>

#include "tlc/dist/communicator.hpp"

namespace tlc::dist {

inline constexpr bool built_with_nccl() {
#if defined(TLC_WITH_NCCL)
  return true;
#else
  return false;
#endif
}

#if defined(TLC_WITH_NCCL)
// A communicator over NCCL on CUDA device `device` for every rank of `bootstrap` (which must
// outlive it). Collective, like every NCCL communicator creation.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& bootstrap, int device);
#else
[[noreturn]] inline std::unique_ptr<Communicator> make_nccl_communicator(Communicator&, int) {
  throw DistError("NCCL: this tlc was built without NCCL (the CUDA backend found no nccl.h)");
}
#endif

}  // namespace tlc::dist
