#pragma once
// Batched matrix product: the last two axes are the matrices, leading axes (rank 2..4) are a
// batch that must match exactly. CPU: cpu::gemm_batched; CUDA: cuBLAS via cuda::gemm_batched.
#include "tlc/ops/common.hpp"
#include "tlc/ops/mac_counter.hpp"
#include "tlc/ops/cpu/gemm.hpp"
#include "tlc/ops/cuda/gemm.hpp"
#include "tlc/ops/dispatch.hpp"

namespace tlc::ops {

// op(a) @ op(b), where op transposes the last two axes when the flag is set:
// op(a) [..., m, k] and op(b) [..., k, n] give [..., m, n].
template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b, bool trans_a = false, bool trans_b = false) {
  const char* op = "matmul";
  detail::check_same_device(op, a, b);
  const int rank = a.dim();
  TLC_CHECK(rank >= 2 && rank <= 4 && b.dim() == rank, ShapeError, op,
            ": expected two tensors of one rank in 2..4, found shapes ", a.shape().str(), " and ", b.shape().str());
  index_t batch = 1;
  for (int i = 0; i < rank - 2; ++i) {
    TLC_CHECK(a.size(i) == b.size(i), ShapeError, op, ": expected equal batch axes, found shapes ", a.shape().str(),
              " and ", b.shape().str());
    batch *= a.size(i);
  }
  const index_t ar = a.size(-2), ac = a.size(-1), br = b.size(-2), bc = b.size(-1);
  const index_t m = trans_a ? ac : ar, k = trans_a ? ar : ac, kb = trans_b ? bc : br, n = trans_b ? br : bc;
  TLC_CHECK(k == kb, ShapeError, op, ": expected matching inner sizes, found op(a) ", m, "x", k, " and op(b) ", kb, "x",
            n, " (shapes ", a.shape().str(), ", ", b.shape().str(), ", trans_a ", trans_a, ", trans_b ", trans_b, ")");
  MacCounter::add(static_cast<double>(batch * m * n * k));
  Shape out_shape = a.shape();
  out_shape[-2] = m;
  out_shape[-1] = n;
  Tensor<T> c = Tensor<T>::empty(out_shape, a.device());
  TLC_DISPATCH(T, op, a.device(), gemm_batched, trans_a, trans_b, m, n, k, T(1), a.data(), ac, ar * ac, b.data(), bc,
               br * bc, T(0), c.data(), n, m * n, batch);
  // With G = dL/dC: d op(a) = G op(b)^T and d op(b) = op(a)^T G, transposed back where op transposes.
  return autograd::record<T>(c, op, {a, b},
                             [a, b, trans_a, trans_b](const Tensor<T>& g, const std::vector<bool>& need) {
                               Tensor<T> ga, gb;
                               if (need[0]) ga = trans_a ? matmul(b, g, trans_b, true) : matmul(g, b, false, !trans_b);
                               if (need[1]) gb = trans_b ? matmul(g, a, true, trans_a) : matmul(a, g, !trans_a, false);
                               return std::vector<Tensor<T>>{ga, gb};
                             });
}

}  // namespace tlc::ops
