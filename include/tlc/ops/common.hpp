#pragma once
// Argument checks shared by all ops. Every failure names the op, what was expected and what
// was found.
#include <initializer_list>
#include <string>
#include <type_traits>

#include "tlc/core/thread_pool.hpp"
#include "tlc/ops/cpu/isa_target.hpp"
#include "tlc/tape/node.hpp"
#include "tlc/tensor/tensor.hpp"

namespace tlc::ops::detail {

template <class T>
void check_defined(const char* op, const Tensor<T>& t, const char* what = "input") {
  TLC_CHECK(t.defined(), Error, op, ": expected a defined ", what, ", found an empty tensor");
}

template <class T>
void check_rank(const char* op, const Tensor<T>& t, int rank, const char* what = "input") {
  check_defined(op, t, what);
  TLC_CHECK(t.dim() == rank, ShapeError, op, ": expected a rank-", rank, " ", what, ", found shape ", t.shape().str());
}

template <class T>
void check_same_device(const char* op, const Tensor<T>& a, const Tensor<T>& b) {
  check_defined(op, a);
  check_defined(op, b);
  TLC_CHECK(a.device() == b.device(), DeviceError, op, ": expected tensors on one device, found ", a.device().str(),
            " and ", b.device().str());
}

template <class T>
void check_same_shape(const char* op, const Tensor<T>& a, const Tensor<T>& b) {
  check_same_device(op, a, b);
  TLC_CHECK(a.shape() == b.shape(), ShapeError, op, ": expected equal shapes, found ", a.shape().str(), " and ",
            b.shape().str());
}

// For optional outputs and inputs of the kernels.
template <class T>
T* data_or_null(const Tensor<T>& t) {
  return t.defined() ? t.data() : nullptr;
}

// Float32 is the only CUDA dtype: double exists for gradient checks on the CPU.
template <class T>
void check_cuda_dtype(const char* op) {
  TLC_CHECK((std::is_same_v<T, float>), DTypeError, op, ": expected float32 on CUDA, found ", dtype_name<T>());
}

// Elements per parallel chunk for cheap element-wise loops.
inline constexpr index_t kElementwiseGrain = 1 << 14;

}  // namespace tlc::ops::detail
