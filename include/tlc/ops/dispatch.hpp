#pragma once
// The one device dispatch of the ops (dlib's tt:: -> cpu:: / cuda:: is the model). Every kernel
// has a CPU function cpu::NAME (templated on the element type, next to its op or in ops/cpu/) and
// a CUDA entry point cuda::NAME (float, declared in ops/cuda/<family>.hpp) taking the same
// arguments: data pointers, sizes and plain descriptors, never tensors. TLC_DISPATCH(T, op,
// device, NAME, args...) checks the dtype for CUDA (float32 only: double exists for gradient
// checks on the CPU), picks the function of `device` and calls it; the forward and the backward
// of every op go through it.
#include <cstddef>
#include <type_traits>
#include <utility>

#include "tlc/core/cuda_runtime.hpp"
#include "tlc/ops/common.hpp"

namespace tlc::ops::detail {

// cuda_fn is nullptr in a build without the CUDA backend.
template <class T, class Cpu, class Cuda, class... Args>
decltype(auto) dispatch(const char* op, Device device, Cpu&& cpu_fn, Cuda&& cuda_fn, Args&&... args) {
  if (device.is_cpu()) return cpu_fn(std::forward<Args>(args)...);
  if constexpr (std::is_same_v<T, float> && !std::is_same_v<std::decay_t<Cuda>, std::nullptr_t>) {
    return cuda_fn(std::forward<Args>(args)...);
  } else {
    check_cuda_dtype<T>(op);  // throws unless T is float
    throw_no_cuda(op);
  }
}

}  // namespace tlc::ops::detail

// Generic lambdas: the overload set is named without being instantiated for a T it does not take.
#define TLC_KERNEL_FN(ns, name) \
  [](auto&&... a) -> decltype(auto) { return ::tlc::ns::name(std::forward<decltype(a)>(a)...); }
#if defined(TLC_WITH_CUDA)
#define TLC_CUDA_KERNEL_FN(name) TLC_KERNEL_FN(cuda, name)
#else
#define TLC_CUDA_KERNEL_FN(name) nullptr
#endif

#define TLC_DISPATCH(T, op, device, name, ...)                                                          \
  ::tlc::ops::detail::dispatch<T>(op, device, TLC_KERNEL_FN(cpu, name), TLC_CUDA_KERNEL_FN(name), \
                                  __VA_ARGS__)
