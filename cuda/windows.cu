// window_partition / window_merge (include/tlc/ops/windows.hpp): the single-source row bodies of
// kernels/windows.hpp, one row per index. The layout's small host arrays (window starts and the
// covering ranges of every map row and column) are copied to the device per call.
#include "reduce.cuh"
#include "tlc/ops/cuda/windows.hpp"
#include "tlc/ops/kernels/windows.hpp"

namespace tlc::cuda {

namespace {

// `host` with its arrays copied into one device buffer.
struct DeviceLayout {
  detail::DeviceBuffer<index_t> buf;
  kernels::WindowLayout g;

  explicit DeviceLayout(const kernels::WindowLayout& host)
      : buf(host.nr + host.nc + 2 * host.H + 2 * host.W), g(host) {
    index_t* p = buf.get();
    const auto put = [&p](const index_t* src, index_t n) {
      copy_h2d(p, src, static_cast<std::size_t>(n) * sizeof(index_t));
      p += n;
      return p - n;
    };
    g.rows = put(host.rows, host.nr);
    g.cols = put(host.cols, host.nc);
    g.row_first = put(host.row_first, host.H);
    g.row_last = put(host.row_last, host.H);
    g.col_first = put(host.col_first, host.W);
    g.col_last = put(host.col_last, host.W);
  }
};

}  // namespace

void window_gather(const float* map, float* win, index_t N, const kernels::WindowLayout& host, bool average) {
  const DeviceLayout d(host);
  detail::for_each("window_gather", N * host.nr * host.nc * host.C * host.k1,
                   kernels::WindowGatherRow<float>{map, win, d.g, average});
}

void window_merge(const float* win, float* map, index_t N, const kernels::WindowLayout& host, bool average) {
  const DeviceLayout d(host);
  detail::for_each("window_merge", N * host.C * host.H, kernels::WindowMergeRow<float>{win, map, d.g, average});
}

}  // namespace tlc::cuda
