#pragma once
// Tensor<T>: an NCHW-contiguous array of float or double on one device, sharing its Storage
// with its views (reshape, detach). Copying a Tensor copies a handle, never the data.
#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "tlc/core/device.hpp"
#include "tlc/core/error.hpp"
#include "tlc/core/rng.hpp"
#include "tlc/core/shape.hpp"
#include "tlc/core/storage.hpp"

namespace tlc {

template <class T>
class Tensor;
namespace autograd {
template <class T>
struct Node;
}

template <class T>
constexpr const char* dtype_name() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  else if constexpr (std::is_same_v<T, double>) return "float64";
  else return "unknown";
}

namespace detail {
template <class T>
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl<T>> grad;            // accumulated gradient (leaves)
  std::shared_ptr<autograd::Node<T>> grad_fn;     // set on results of recorded ops
};
}  // namespace detail

template <class T>
class Tensor {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "Tensor<T>: T must be float or double");

 public:
  using value_type = T;
  using Impl = detail::TensorImpl<T>;

  Tensor() = default;
  explicit Tensor(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

  // ---- construction -------------------------------------------------------------------
  static Tensor empty(const Shape& shape, Device device = Device::cpu()) {
    auto impl = std::make_shared<Impl>();
    impl->storage = std::make_shared<Storage>(static_cast<std::size_t>(shape.numel()) * sizeof(T), device);
    impl->shape = shape;
    return Tensor(std::move(impl));
  }
  static Tensor full(const Shape& shape, T value, Device device = Device::cpu()) {
    Tensor t = empty(shape, device);
    t.fill_(value);
    return t;
  }
  static Tensor zeros(const Shape& shape, Device device = Device::cpu()) { return full(shape, T(0), device); }
  static Tensor ones(const Shape& shape, Device device = Device::cpu()) { return full(shape, T(1), device); }
  static Tensor scalar(T value, Device device = Device::cpu()) { return full(Shape{}, value, device); }
  static Tensor from_vector(const Shape& shape, const std::vector<T>& values, Device device = Device::cpu()) {
    TLC_CHECK(static_cast<index_t>(values.size()) == shape.numel(), ShapeError, "Tensor::from_vector: expected ",
              shape.numel(), " values for shape ", shape.str(), ", found ", values.size());
    Tensor t = empty(shape, Device::cpu());
    std::copy(values.begin(), values.end(), t.data());
    return device.is_cpu() ? t : t.to(device);
  }
  static Tensor uniform(const Shape& shape, Rng& rng, double lo = 0.0, double hi = 1.0) {
    Tensor t = empty(shape);
    for (index_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(rng.uniform(lo, hi));
    return t;
  }
  static Tensor normal(const Shape& shape, Rng& rng, double mean = 0.0, double stddev = 1.0) {
    Tensor t = empty(shape);
    for (index_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(rng.normal(mean, stddev));
    return t;
  }

  // ---- properties ---------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return checked().shape; }
  int dim() const { return shape().rank(); }
  index_t size(int axis) const { return shape()[axis]; }
  index_t numel() const { return shape().numel(); }
  Device device() const { return checked().storage->device(); }
  bool is_cuda() const { return device().is_cuda(); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * sizeof(T); }

  T* data() const { return static_cast<T*>(checked().storage->data()); }

  // Element access for CPU tensors (tests, small tools). Indices are NCHW-style, right-aligned.
  T& at(index_t i) const { return host_data("Tensor::at")[i]; }
  T& at(index_t n, index_t c, index_t h, index_t w) const {
    const Shape s = shape().as4d();
    return host_data("Tensor::at")[((n * s[1] + c) * s[2] + h) * s[3] + w];
  }
  T item() const {
    TLC_CHECK(numel() == 1, ShapeError, "Tensor::item: expected one element, found shape ", shape().str());
    return to(Device::cpu()).data()[0];
  }
  std::vector<T> to_vector() const {
    Tensor c = to(Device::cpu());
    return std::vector<T>(c.data(), c.data() + c.numel());
  }

  // ---- copies and views ---------------------------------------------------------------
  Tensor to(Device device) const {
    if (device == this->device()) return *this;
    Tensor t = empty(shape(), device);
    copy_bytes(t.data(), device, data(), this->device(), nbytes());
    return t;
  }
  Tensor cpu() const { return to(Device::cpu()); }
  // A fresh copy of the data, outside the autograd graph.
  Tensor clone() const {
    Tensor t = empty(shape(), device());
    copy_bytes(t.data(), device(), data(), device(), nbytes());
    return t;
  }
  // The same data without autograd history.
  Tensor detach() const {
    auto impl = std::make_shared<Impl>();
    impl->storage = checked().storage;
    impl->shape = shape();
    return Tensor(std::move(impl));
  }
  // Copies another tensor's values into this one (same shape), outside the autograd graph.
  void copy_(const Tensor& src) const {
    TLC_CHECK(src.shape() == shape(), ShapeError, "Tensor::copy_: expected shape ", shape().str(), ", found ",
              src.shape().str());
    copy_bytes(data(), device(), src.data(), src.device(), nbytes());
  }
  void fill_(T value) const {
    if (device().is_cpu()) {
      std::fill(data(), data() + numel(), value);
    } else {
      if constexpr (std::is_same_v<T, float>) {
        TLC_CUDA_CALL("Tensor::fill_", cuda::fill(data(), value, numel()));
      } else {
        throw DTypeError("Tensor::fill_: expected float32 on CUDA, found float64");
      }
    }
  }
  template <class U>
  Tensor<U> cast() const {
    Tensor c = to(Device::cpu());
    Tensor<U> r = Tensor<U>::empty(shape());
    for (index_t i = 0; i < numel(); ++i) r.data()[i] = static_cast<U>(c.data()[i]);
    return device().is_cpu() ? r : r.to(device());
  }

  // ---- autograd -----------------------------------------------------------------------
  bool requires_grad() const { return checked().requires_grad; }
  const Tensor& requires_grad_(bool on = true) const {
    TLC_CHECK(!checked().grad_fn, Error, "Tensor::requires_grad_: expected a leaf tensor, found the result of an op");
    impl_->requires_grad = on;
    return *this;
  }
  bool is_leaf() const { return !checked().grad_fn; }
  Tensor grad() const { return Tensor(checked().grad); }
  void set_grad(const Tensor& g) const { checked().grad = g.impl_; }
  void zero_grad() const { checked().grad.reset(); }
  const std::shared_ptr<autograd::Node<T>>& grad_fn() const { return checked().grad_fn; }

  Impl* impl() const { return impl_.get(); }
  const std::shared_ptr<Impl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }
  bool shares_storage(const Tensor& o) const { return checked().storage == o.checked().storage; }
  // Whether this handle is the tensor's only one and no other tensor shares its memory: an op handed
  // the tensor may then take that memory over (nn::load_state_dict, ops::conv2d_add).
  bool holds_memory_alone() const { return impl_.use_count() == 1 && checked().storage.use_count() == 1; }
  // Same-storage view with another shape of equal size (no autograd; see ops::reshape).
  Tensor view_as_shape(const Shape& s) const {
    TLC_CHECK(s.numel() == numel(), ShapeError, "reshape: expected a shape with ", numel(), " elements, found ",
              s.str());
    auto impl = std::make_shared<Impl>();
    impl->storage = checked().storage;
    impl->shape = s;
    return Tensor(std::move(impl));
  }

 private:
  Impl& checked() const {
    TLC_CHECK(impl_ != nullptr, Error, "Tensor: expected a defined tensor, found an empty handle");
    return *impl_;
  }
  T* host_data(const char* op) const {
    TLC_CHECK(device().is_cpu(), DeviceError, op, ": expected a cpu tensor, found ", device().str());
    return data();
  }

  std::shared_ptr<Impl> impl_;
};

using TensorF = Tensor<float>;
using TensorD = Tensor<double>;

}  // namespace tlc
