#pragma once
// Sums of many segments that stay on the device (norm statistics, parameter gradients): the fixed
// chunks of chunk_sums_kernel, then one thread per segment adds its chunks in order, so the result
// never depends on the grid size or the run. Internal to cuda/.
#include "reduce.cuh"

namespace tlc::cuda::detail {

inline constexpr index_t kSegmentChunk = 1 << 14;

// out(s, sum) for every segment s in [0, segments), sum = term(i) summed in double over
// i in [s * len, (s + 1) * len). Both are device functors (out writes the result where it belongs).
template <class Term, class Out>
void segment_sums(const char* name, index_t segments, index_t len, const Term& term, const Out& out) {
  if (segments <= 0) return;
  const index_t chunks = (len + kSegmentChunk - 1) / kSegmentChunk;
  DeviceBuffer<double> partial(std::max<index_t>(1, segments * chunks));
  double* p = partial.get();
  if (chunks > 0) {
    const index_t blocks = std::min<index_t>(segments * chunks, resident_blocks(kThreadsPerBlock));
    chunk_sums_kernel<<<static_cast<unsigned>(blocks), kThreadsPerBlock>>>(segments, len, chunks, kSegmentChunk, term,
                                                                           p);
    TLC_CUDA_LAUNCH_CHECK(name);
  }
  for_each(name, segments, [=] __device__(index_t s) {
    double acc = 0.0;
    for (index_t c = 0; c < chunks; ++c) acc += p[s * chunks + c];
    out(s, acc);
  });
}

}  // namespace tlc::cuda::detail
