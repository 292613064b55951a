#pragma once
// Cache-resident inference of the NAFNet / Baseline block (models/naf_block.hpp) on the CPU. The
// unfused block writes and re-reads about a dozen full-size maps (118 MB each for width 32 at 720p);
// here every intermediate lives in per-thread buffers of a band of rows, and only two maps reach
// memory: the branch output G (the channel attention needs all of it before anything may be
// multiplied by it) and the block's output. Two sweeps:
//   branch: LayerNorm -> 1x1 (c -> mid) -> depthwise 3x3 -> gate, over bands of rows; the band
//           buffer keeps its last two rows as the halo of the next band, so nothing is computed twice
//           except the two halo rows at the start of each thread's strip;
//   tail:   1x1 (with the attention folded into its weights, or G already scaled under TLC) ->
//           x + beta * . -> LayerNorm -> 1x1 (c -> ffn) -> gate -> 1x1 -> y + gamma * ., per pixel
//           chunk.
// Same kernels as the unfused ops (LayerNorm2dForward, gemm, depthwise_3x3_row, gate_forward,
// unary_forward, scaled_add_row), so the results agree to float rounding; the plain loops run
// through with_cpu_isa like theirs.
#include <algorithm>
#include <cstring>

#include "tlc/ops/cpu/conv_cpu.hpp"
#include "tlc/ops/cpu/gemm.hpp"
#include "tlc/ops/elementwise.hpp"
#include "tlc/ops/gate.hpp"
#include "tlc/ops/kernels/layer_norm.hpp"

namespace tlc::cpu {

// One block's parameters (all contiguous, float layouts of the PyTorch modules). Channels: c in and
// out, mid after conv1 (the depthwise branch), ffn after conv4; SimpleGate halves mid and ffn, GELU
// keeps them.
template <class T>
struct NafBlockWeights {
  index_t c, mid, ffn;
  bool simple_gate;
  double eps;
  const T *norm1_w, *norm1_b, *norm2_w, *norm2_b;
  const T *w1, *b1, *w2, *b2, *w3, *b3, *w4, *b4, *w5, *b5;
  const T *beta, *gamma;
  index_t gated(index_t channels) const { return simple_gate ? channels / 2 : channels; }
};

namespace fused_detail {

// Floats of a band buffer: sized to stay within a large L2 / the L3 share of a core.
inline constexpr index_t kBandBudget = index_t(1) << 18;
// Pixels per GEMM call at least, however many channels: each call packs the 1x1 weights (M x K) for
// M x K x pixels multiply-adds, and at 256 pixels packing took 8 % of a 256x256 forward.
inline constexpr index_t kMinPixels = 512;

// LayerNorm over channels of `len` pixels: x with channel stride x_ld, y with y_ld; no statistics.
template <class T>
void layer_norm(const NafBlockWeights<T>& f, const T* w, const T* b, const T* x, index_t x_ld, T* y, index_t y_ld,
                index_t len) {
  constexpr int kSpan = 32;
  const kernels::LayerNorm2dForward<T, kSpan> ln{x, w, b, y, nullptr, nullptr, f.c, len, x_ld, y_ld, f.eps, true};
  with_cpu_isa([&] {
    for (index_t p0 = 0; p0 < len; p0 += kSpan) ln(0, p0, std::min<index_t>(kSpan, len - p0));
  });
}

// The activation of `rows` contiguous rows of `len` in place, by the unfused ops' own CPU functions:
// SimpleGate (rows k and k + rows/2 multiplied into row k) or GELU (every row).
template <class T>
void activate(bool simple_gate, index_t rows, T* a, index_t len) {
  if (simple_gate) gate_forward(static_cast<int>(kernels::Gate::Product), a, a, 1, rows / 2 * len);
  else unary_forward(static_cast<int>(kernels::Unary::Gelu), T(0), a, a, rows * len);
}

// Branch rows [s0, s1) of one image: x [c, H, W] -> g [gated(mid), H, W].
template <class T>
void branch_strip(const NafBlockWeights<T>& f, const PackedA<T>& w1, const T* x, index_t H, index_t W, index_t s0,
                  index_t s1, T* g) {
  const index_t HW = H * W, mid = f.mid;
  // Output rows per band: within the budget, yet at least kMinPixels per GEMM call.
  const index_t band = std::max({index_t(1), kBandBudget / (mid * W) - 2, (kMinPixels + W - 1) / W});
  const index_t cap = (band + 2) * W;                        // channel stride of the band buffers
  T* a = thread_scratch<T>(Scratch::BlockWide, mid * cap);   // conv1 output of image rows [lo, hi)
  T* ln = thread_scratch<T>(Scratch::BlockNorm, f.c * cap);  // norm1 output of the rows computed
  T* second = thread_scratch<T>(Scratch::BlockRows, W);      // SimpleGate: the second half's row
  index_t have_lo = 0, have_hi = 0;  // image rows held in `a`
  for (index_t r0 = s0; r0 < s1; r0 += band) {
    const index_t r1 = std::min(s1, r0 + band), lo = std::max<index_t>(r0 - 1, 0), hi = std::min(r1 + 1, H);
    // Rows kept from the previous band move to the front; the rest are computed.
    const index_t keep_lo = std::max(lo, have_lo), keep_hi = std::max(keep_lo, have_hi);
    if (keep_hi > keep_lo)
      for (index_t k = 0; k < mid; ++k)
        std::memmove(a + k * cap + (keep_lo - lo) * W, a + k * cap + (keep_lo - have_lo) * W,
                     static_cast<size_t>((keep_hi - keep_lo) * W) * sizeof(T));
    const index_t new_lo = std::max(keep_hi, lo), n_new = (hi - new_lo) * W;
    if (n_new > 0) {
      layer_norm(f, f.norm1_w, f.norm1_b, x + new_lo * W, HW, ln, n_new, n_new);
      gemm_packed(w1, n_new, ln, n_new, T(0), a + (new_lo - lo) * W, cap, f.b1);
    }
    have_lo = lo, have_hi = hi;
    for (index_t r = r0; r < r1; ++r)
      for (index_t k = 0; k < f.gated(mid); ++k) {
        auto conv = [&](index_t ch, T* out) {
          const T* row = a + ch * cap + (r - lo) * W;  // image row r of channel ch
          const T* const taps[3] = {r > 0 ? row - W : nullptr, row, r + 1 < H ? row + W : nullptr};
          conv_detail::depthwise_3x3_row(W, taps, f.w2 + ch * 9, f.b2 ? f.b2[ch] : T(0), out);
        };
        T* out = g + k * HW + r * W;
        with_cpu_isa([&] {
          conv(k, out);
          if (f.simple_gate) {
            conv(k + mid / 2, second);
            for (index_t j = 0; j < W; ++j) out[j] *= second[j];
          }
        });
        if (!f.simple_gate) activate(false, 1, out, W);
      }
  }
}

}  // namespace fused_detail

// Sweep 1: x [N, c, H, W] -> g [N, gated(mid), H, W] = gate(dwconv(conv1(norm1(x)))).
template <class T>
void naf_block_branch(const NafBlockWeights<T>& f, const T* x, index_t N, index_t H, index_t W, T* g) {
  // Strips of rows, up to two per thread: each recomputes its two halo rows, so strips stay at least 16
  // rows tall (small maps take fewer strips; the GEMM inside a lone strip uses the threads itself).
  const index_t strips = std::clamp<index_t>(std::min(H / 16, 2 * num_threads() / N), 1, H);
  const index_t strip = (H + strips - 1) / strips;
  const PackedA<T> w1 = pack_gemm_a(f.mid, f.c, f.w1, f.c);  // once for every band
  parallel_for(0, N * strips, 1, [&](index_t lo, index_t hi) {
    for (index_t t = lo; t < hi; ++t) {
      const index_t n = t / strips, s0 = (t % strips) * strip;
      if (s0 < H)
        fused_detail::branch_strip(f, w1, x + n * f.c * H * W, H, W, s0, std::min(H, s0 + strip),
                                   g + n * f.gated(f.mid) * H * W);
    }
  });
}

// Sweep 2: y = x + beta * conv3(g) (w3_per_image, w3_stride apart: the attention folded in), then
// out = y + gamma * conv5(gate(conv4(norm2(y)))). x, out [N, c, HW]; g [N, gated(mid), HW].
template <class T>
void naf_block_tail(const NafBlockWeights<T>& f, const T* x, const T* g, const T* w3_per_image, index_t w3_stride,
                    index_t N, index_t HW, T* out) {
  using namespace fused_detail;
  const index_t c = f.c, gm = f.gated(f.mid), chunk = std::max(kMinPixels, kBandBudget / (2 * f.ffn)) / 16 * 16;
  const index_t chunks = (HW + chunk - 1) / chunk, fo = f.gated(f.ffn);
  // The 1x1 weights packed once for every chunk (conv3's per image: the attention may be folded in).
  std::vector<PackedA<T>> w3;
  for (index_t n = 0; n < N; ++n) w3.push_back(pack_gemm_a(c, gm, w3_per_image + n * w3_stride, gm));
  const PackedA<T> w4 = pack_gemm_a(f.ffn, c, f.w4, c), w5 = pack_gemm_a(c, fo, f.w5, fo);
  parallel_for(0, N * chunks, 1, [&](index_t lo, index_t hi) {
    T* y = thread_scratch<T>(Scratch::BlockRows, c * chunk);
    T* ln = thread_scratch<T>(Scratch::BlockNorm, c * chunk);
    T* wide = thread_scratch<T>(Scratch::BlockWide, f.ffn * chunk);
    for (index_t t = lo; t < hi; ++t) {
      const index_t n = t / chunks, p0 = (t % chunks) * chunk, len = std::min(chunk, HW - p0);
      const T* xs = x + n * c * HW + p0;
      T* os = out + n * c * HW + p0;
      gemm_packed(w3[static_cast<size_t>(n)], len, g + n * gm * HW + p0, HW, T(0), y, len, f.b3);
      with_cpu_isa([&] {
        for (index_t k = 0; k < c; ++k) scaled_add_row(xs + k * HW, y + k * len, f.beta[k], y + k * len, len);
      });
      layer_norm(f, f.norm2_w, f.norm2_b, y, len, ln, len, len);
      gemm_packed(w4, len, ln, len, T(0), wide, len, f.b4);
      activate(f.simple_gate, f.ffn, wide, len);
      gemm_packed(w5, len, wide, len, T(0), ln, len, f.b5);
      with_cpu_isa([&] {
        for (index_t k = 0; k < c; ++k) scaled_add_row(y + k * len, ln + k * len, f.gamma[k], os + k * HW, len);
      });
    }
  });
}

}  // namespace tlc::cpu
