#pragma once
// Layout ops: pixel (un)shuffle, padding and cropping of the two last axes, and concat / slice /
// split along any axis. Each is a primitive with its own backward; the row bodies live in
// kernels/layout.hpp so that a CUDA runner can reuse them.
#include <cstring>
#include <vector>

#include "tlc/ops/common.hpp"
#include "tlc/ops/cuda/layout.hpp"
#include "tlc/ops/dispatch.hpp"
#include "tlc/ops/kernels/layout.hpp"

namespace tlc::ops {

enum class PadMode { Zero, Replicate, Reflect };

namespace detail {

// Grain (in rows) so that one parallel chunk copies about kElementwiseGrain elements.
inline index_t row_grain(index_t row_len) { return std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(row_len, 1)); }

}  // namespace detail
}  // namespace tlc::ops

// The CPU functions of cuda/layout.cu's entry points (same arguments): the row bodies of
// kernels/layout.hpp in a parallel_for, and block copies.
namespace tlc::cpu {

// C, H, W: the high-resolution side's sizes; `rows` output rows.
template <class T>
void pixel_shuffle(const T* in, T* out, index_t C, index_t H, index_t W, index_t r, bool shuffle, index_t rows) {
  const kernels::PixelShuffleRow<T> k{in, out, C, H, W, r, shuffle};
  parallel_for(0, rows, ops::detail::row_grain(shuffle ? W : W / r), [&](index_t lo, index_t hi) {
    for (index_t row = lo; row < hi; ++row) k(row);
  });
}

template <class T>
void window_rows(const T* in, T* out, index_t H, index_t W, index_t OH, index_t OW, index_t top, index_t left,
                 int border, index_t rows) {
  const kernels::WindowRow<T> k{in, out, H, W, OH, OW, top, left, static_cast<kernels::Border>(border)};
  parallel_for(0, rows, ops::detail::row_grain(OW), [&](index_t lo, index_t hi) {
    for (index_t row = lo; row < hi; ++row) k(row);
  });
}

template <class T>
void window_scatter(const T* gout, T* gin, index_t H, index_t W, index_t OH, index_t OW, index_t top, index_t left,
                    int border, index_t planes) {
  const kernels::WindowScatterPlane<T> k{gout, gin, H, W, OH, OW, top, left, static_cast<kernels::Border>(border)};
  parallel_for(0, planes, ops::detail::row_grain(OH * OW), [&](index_t lo, index_t hi) {
    for (index_t p = lo; p < hi; ++p) k(p);
  });
}

template <class T>
void copy_blocks(const T* src, index_t src_stride, T* dst, index_t dst_stride, index_t outer, index_t count) {
  parallel_for(0, outer, ops::detail::row_grain(count), [&](index_t lo, index_t hi) {
    for (index_t o = lo; o < hi; ++o)
      std::memcpy(dst + o * dst_stride, src + o * src_stride, static_cast<size_t>(count) * sizeof(T));
  });
}

}  // namespace tlc::cpu

namespace tlc::ops {
namespace detail {

template <class T>
Tensor<T> pixel_shuffle_impl(const Tensor<T>& x, index_t r, bool shuffle) {
  const Shape s = x.shape();
  // The high-resolution side's sizes (C, H, W) index the kernel.
  const index_t C = shuffle ? s[1] / (r * r) : s[1], H = shuffle ? s[2] * r : s[2], W = shuffle ? s[3] * r : s[3];
  const Shape out_shape = shuffle ? Shape{s[0], C, H, W} : Shape{s[0], C * r * r, H / r, W / r};
  Tensor<T> y = Tensor<T>::empty(out_shape, x.device());
  const index_t rows = out_shape[0] * out_shape[1] * out_shape[2];
  TLC_DISPATCH(T, shuffle ? "pixel_shuffle" : "pixel_unshuffle", x.device(), pixel_shuffle, x.data(), y.data(), C, H,
               W, r, shuffle, rows);
  return y;
}

// Reads an oh x ow window at offset (top, left) from every plane of the two last axes.
template <class T>
Tensor<T> window(const Tensor<T>& x, index_t top, index_t left, index_t oh, index_t ow, kernels::Border border) {
  Shape out_shape = x.shape();
  const index_t H = out_shape[-2], W = out_shape[-1];
  out_shape[-2] = oh;
  out_shape[-1] = ow;
  Tensor<T> y = Tensor<T>::empty(out_shape, x.device());
  const index_t rows = out_shape.numel() / std::max<index_t>(ow, 1);
  TLC_DISPATCH(T, "pad/crop", x.device(), window_rows, x.data(), y.data(), H, W, oh, ow, top, left,
               static_cast<int>(border), rows);
  return y;
}

// Gradient of a Replicate/Reflect window with respect to its input of shape `in_shape`.
template <class T>
Tensor<T> window_scatter(const Tensor<T>& g, const Shape& in_shape, index_t top, index_t left, kernels::Border border) {
  Tensor<T> gx = Tensor<T>::zeros(in_shape, g.device());
  const index_t H = in_shape[-2], W = in_shape[-1], OH = g.size(-2), OW = g.size(-1);
  const index_t planes = in_shape.numel() / (H * W);
  TLC_DISPATCH(T, "pad", g.device(), window_scatter, g.data(), gx.data(), H, W, OH, OW, top, left,
               static_cast<int>(border), planes);
  return gx;
}

// Copies `outer` blocks of `count` contiguous elements, block o from src + o*src_stride to
// dst + o*dst_stride, both in memory of `device`.
template <class T>
void copy_blocks(const char* op, Device device, const T* src, index_t src_stride, T* dst, index_t dst_stride,
                 index_t outer, index_t count) {
  TLC_DISPATCH(T, op, device, copy_blocks, src, src_stride, dst, dst_stride, outer, count);
}

// Sizes before and after `axis`: a tensor is [outer, size(axis), inner].
inline void outer_inner(const Shape& s, int axis, index_t& outer, index_t& inner) {
  outer = inner = 1;
  for (int a = 0; a < axis; ++a) outer *= s[a];
  for (int a = axis + 1; a < s.rank(); ++a) inner *= s[a];
}

inline int checked_axis(const char* op, const Shape& s, int axis) {
  TLC_CHECK(axis >= -s.rank() && axis < s.rank(), ShapeError, op, ": expected an axis in [", -s.rank(), ",", s.rank(),
            ") for shape ", s.str(), ", found ", axis);
  return axis < 0 ? axis + s.rank() : axis;
}

// x[..., start:start+len, ...] along `axis` (already normalised), without autograd.
template <class T>
Tensor<T> slice_raw(const Tensor<T>& x, int axis, index_t start, index_t len) {
  Shape out_shape = x.shape();
  out_shape[axis] = len;
  Tensor<T> y = Tensor<T>::empty(out_shape, x.device());
  index_t outer, inner;
  outer_inner(x.shape(), axis, outer, inner);
  copy_blocks("slice", x.device(), x.data() + start * inner, x.size(axis) * inner, y.data(), len * inner, outer,
              len * inner);
  return y;
}

template <class T>
void check_spatial(const char* op, const Tensor<T>& x) {
  check_defined(op, x);
  TLC_CHECK(x.dim() >= 2, ShapeError, op, ": expected a tensor of rank >= 2 (..., H, W), found shape ", x.shape().str());
}

}  // namespace detail

// [N, C*r*r, H, W] -> [N, C, H*r, W*r]: out[n, c, r*h+i, r*w+j] = in[n, c*r*r + i*r + j, h, w].
template <class T>
Tensor<T> pixel_shuffle(const Tensor<T>& x, index_t r) {
  detail::check_rank("pixel_shuffle", x, 4);
  TLC_CHECK(r >= 1, ShapeError, "pixel_shuffle: expected a factor >= 1, found ", r);
  TLC_CHECK(x.size(1) % (r * r) == 0, ShapeError, "pixel_shuffle: expected channels divisible by ", r * r,
            ", found shape ", x.shape().str());
  Tensor<T> y = detail::pixel_shuffle_impl(x, r, true);
  return autograd::record<T>(y, "pixel_shuffle", {x}, [r](const Tensor<T>& g, const std::vector<bool>&) {
    return std::vector<Tensor<T>>{detail::pixel_shuffle_impl(g, r, false)};  // a permutation: undone by its inverse
  });
}

// [N, C, H, W] -> [N, C*r*r, H/r, W/r], the inverse of pixel_shuffle.
template <class T>
Tensor<T> pixel_unshuffle(const Tensor<T>& x, index_t r) {
  detail::check_rank("pixel_unshuffle", x, 4);
  TLC_CHECK(r >= 1, ShapeError, "pixel_unshuffle: expected a factor >= 1, found ", r);
  TLC_CHECK(x.size(2) % r == 0 && x.size(3) % r == 0, ShapeError, "pixel_unshuffle: expected H and W divisible by ", r,
            ", found shape ", x.shape().str());
  Tensor<T> y = detail::pixel_shuffle_impl(x, r, false);
  return autograd::record<T>(y, "pixel_unshuffle", {x}, [r](const Tensor<T>& g, const std::vector<bool>&) {
    return std::vector<Tensor<T>>{detail::pixel_shuffle_impl(g, r, true)};
  });
}

// Pads the two last axes. Zero fills with 0, Replicate repeats the edge, Reflect mirrors without
// repeating it (each pad must then be smaller than the axis).
template <class T>
Tensor<T> pad(const Tensor<T>& x, index_t top, index_t bottom, index_t left, index_t right, PadMode mode = PadMode::Zero) {
  detail::check_spatial("pad", x);
  TLC_CHECK(top >= 0 && bottom >= 0 && left >= 0 && right >= 0, ShapeError,
            "pad: expected non-negative pads, found top ", top, ", bottom ", bottom, ", left ", left, ", right ", right);
  const index_t H = x.size(-2), W = x.size(-1);
  if (mode == PadMode::Replicate)
    TLC_CHECK(H > 0 && W > 0, ShapeError, "pad: expected a non-empty plane to replicate, found shape ", x.shape().str());
  if (mode == PadMode::Reflect)
    TLC_CHECK(std::max(top, bottom) < H && std::max(left, right) < W, ShapeError,
              "pad: expected reflect pads smaller than the plane ", H, "x", W, ", found top ", top, ", bottom ", bottom,
              ", left ", left, ", right ", right);
  const kernels::Border border = mode == PadMode::Zero        ? kernels::Border::Zero
                                 : mode == PadMode::Replicate ? kernels::Border::Replicate
                                                              : kernels::Border::Reflect;
  Tensor<T> y = detail::window(x, -top, -left, H + top + bottom, W + left + right, border);
  const Shape in_shape = x.shape();
  return autograd::record<T>(y, "pad", {x}, [in_shape, top, left, border](const Tensor<T>& g, const std::vector<bool>&) {
    if (border == kernels::Border::Zero)
      return std::vector<Tensor<T>>{detail::window(g, top, left, in_shape[-2], in_shape[-1], border)};
    return std::vector<Tensor<T>>{detail::window_scatter(g, in_shape, -top, -left, border)};
  });
}

// x[..., top:top+height, left:left+width]; the window must lie inside the plane.
template <class T>
Tensor<T> crop(const Tensor<T>& x, index_t top, index_t left, index_t height, index_t width) {
  detail::check_spatial("crop", x);
  const index_t H = x.size(-2), W = x.size(-1);
  TLC_CHECK(top >= 0 && left >= 0 && height >= 0 && width >= 0 && top + height <= H && left + width <= W, ShapeError,
            "crop: expected a window inside the ", H, "x", W, " plane, found top ", top, ", left ", left, ", size ",
            height, "x", width);
  Tensor<T> y = detail::window(x, top, left, height, width, kernels::Border::Zero);
  const Shape in_shape = x.shape();
  return autograd::record<T>(y, "crop", {x}, [in_shape, top, left](const Tensor<T>& g, const std::vector<bool>&) {
    return std::vector<Tensor<T>>{detail::window(g, -top, -left, in_shape[-2], in_shape[-1], kernels::Border::Zero)};
  });
}

// x[..., start:end, ...] along `axis` (negative axes count from the end).
template <class T>
Tensor<T> slice(const Tensor<T>& x, int axis, index_t start, index_t end) {
  detail::check_defined("slice", x);
  const int a = detail::checked_axis("slice", x.shape(), axis);
  TLC_CHECK(start >= 0 && start < end && end <= x.size(a), ShapeError, "slice: expected 0 <= start < end <= ", x.size(a),
            " on axis ", axis, " of shape ", x.shape().str(), ", found [", start, ",", end, ")");
  Tensor<T> y = detail::slice_raw(x, a, start, end - start);
  const Shape in_shape = x.shape();
  return autograd::record<T>(y, "slice", {x}, [in_shape, a, start](const Tensor<T>& g, const std::vector<bool>&) {
    Tensor<T> gx = Tensor<T>::zeros(in_shape, g.device());
    index_t outer, inner;
    detail::outer_inner(in_shape, a, outer, inner);
    const index_t len = g.size(a);
    detail::copy_blocks("slice", g.device(), g.data(), len * inner, gx.data() + start * inner, in_shape[a] * inner,
                        outer, len * inner);
    return std::vector<Tensor<T>>{gx};
  });
}

// Consecutive pieces of the given sizes along `axis`; the sizes must add up to the axis.
template <class T>
std::vector<Tensor<T>> split(const Tensor<T>& x, int axis, const std::vector<index_t>& sizes) {
  detail::check_defined("split", x);
  const int a = detail::checked_axis("split", x.shape(), axis);
  index_t total = 0;
  for (index_t s : sizes) {
    TLC_CHECK(s > 0, ShapeError, "split: expected positive sizes, found ", s);
    total += s;
  }
  TLC_CHECK(total == x.size(a), ShapeError, "split: expected sizes adding up to ", x.size(a), " (axis ", axis,
            " of shape ", x.shape().str(), "), found ", total);
  std::vector<Tensor<T>> pieces;
  index_t start = 0;
  for (index_t s : sizes) {
    pieces.push_back(slice(x, a, start, start + s));
    start += s;
  }
  return pieces;
}

// Joins tensors along `axis`; all other sizes must agree.
template <class T>
Tensor<T> concat(const std::vector<Tensor<T>>& xs, int axis = 1) {
  TLC_CHECK(!xs.empty(), ShapeError, "concat: expected at least one tensor, found none");
  detail::check_defined("concat", xs[0]);
  const Shape first = xs[0].shape();
  const int a = detail::checked_axis("concat", first, axis);
  Shape out_shape = first;
  out_shape[a] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    detail::check_same_device("concat", xs[0], xs[i]);
    const Shape s = xs[i].shape();
    bool ok = s.rank() == first.rank();
    for (int d = 0; ok && d < s.rank(); ++d) ok = d == a || s[d] == first[d];
    TLC_CHECK(ok, ShapeError, "concat: expected shapes equal to ", first.str(), " except on axis ", axis,
              ", found ", s.str(), " for input ", i);
    out_shape[a] += s[a];
  }
  Tensor<T> y = Tensor<T>::empty(out_shape, xs[0].device());
  index_t outer, inner;
  detail::outer_inner(out_shape, a, outer, inner);
  std::vector<index_t> starts, lens;
  index_t start = 0;
  for (const auto& x : xs) {
    const index_t len = x.size(a);
    detail::copy_blocks("concat", x.device(), x.data(), len * inner, y.data() + start * inner, out_shape[a] * inner,
                        outer, len * inner);
    starts.push_back(start);
    lens.push_back(len);
    start += len;
  }
  return autograd::record<T>(y, "concat", xs, [a, starts, lens](const Tensor<T>& g, const std::vector<bool>& needs) {
    std::vector<Tensor<T>> grads(starts.size());
    for (size_t i = 0; i < starts.size(); ++i)
      if (needs[i]) grads[i] = detail::slice_raw(g, a, starts[i], lens[i]);
    return grads;
  });
}

}  // namespace tlc::ops
