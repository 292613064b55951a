// GFLOP/s of the CPU conv2d (float): forward, input gradient and filter gradient, for 3x3
// convs with 32..64 channels and depthwise 3x3 on 256x256, and 1x1 convs; the forward of the 3x3
// convs of a width-16 UNet / HINet on a 1280x720 image (few channels, large maps: the GEMM's columns
// are gathered from the image, conv_cpu.hpp's ConvColumns); then the ratio to a naive 7-loop conv on
// a 64x64 image. Usage: bench_conv [threads]  (default: all).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench_util.hpp"
#include "tlc/core/rng.hpp"
#include "tlc/ops/cpu/conv_cpu.hpp"

using namespace tlc;
using bench::best_time;
using bench::now;

namespace {

ConvGeom geom(index_t c_in, index_t c_out, index_t size, index_t k, index_t groups) {
  return {1, c_in, size, size, c_out, k, k, 1, 1, k / 2, k / 2, groups, size, size};
}

std::vector<float> random_vec(index_t n, Rng& rng) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<float>(rng.uniform(-1, 1));
  return v;
}

// The direct loop nest one would write first.
void naive_conv(const ConvGeom& g, const float* x, const float* w, float* y) {
  for (index_t o = 0; o < g.cout; ++o)
    for (index_t oh = 0; oh < g.out_h; ++oh)
      for (index_t ow = 0; ow < g.out_w; ++ow) {
        float s = 0;
        const index_t grp = o / g.cout_g();
        for (index_t c = 0; c < g.cin_g(); ++c)
          for (index_t i = 0; i < g.kh; ++i)
            for (index_t j = 0; j < g.kw; ++j) {
              const index_t ih = oh - g.pad_h + i, iw = ow - g.pad_w + j;
              if (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w)
                s += x[((grp * g.cin_g() + c) * g.h + ih) * g.w + iw] * w[((o * g.cin_g() + c) * g.kh + i) * g.kw + j];
            }
        y[(o * g.out_h + oh) * g.out_w + ow] = s;
      }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) set_num_threads(std::atoi(argv[1]));
  struct Case {
    const char* name;
    index_t cin, cout, k, groups;
  };
  const Case cases[] = {{"3x3 32->32", 32, 32, 3, 1},        {"3x3 64->64", 64, 64, 3, 1},
                        {"3x3 depthwise 64", 64, 64, 3, 64}, {"3x3 depthwise 128", 128, 128, 3, 128},
                        {"1x1 32->64", 32, 64, 1, 1},        {"1x1 64->64", 64, 64, 1, 1}};
  Rng rng(1);
  std::printf("threads %d, batch 1, 256x256, stride 1, same padding; GFLOP/s\n", num_threads());
  std::printf("%-20s %9s %9s %9s\n", "conv", "forward", "bwd data", "bwd filt");
  for (const Case& cs : cases) {
    const ConvGeom g = geom(cs.cin, cs.cout, 256, cs.k, cs.groups);
    const auto x = random_vec(g.cin * g.in_plane(), rng), w = random_vec(g.cout * g.k_g(), rng),
               gy = random_vec(g.cout * g.out_plane(), rng);
    std::vector<float> y(gy.size()), gx(x.size()), gw(w.size());
    const double flop = 2.0 * double(g.cout) * double(g.k_g()) * double(g.out_plane());
    const double tf = best_time(5, [&] { cpu::conv2d_forward<float>(g, x.data(), w.data(), nullptr, y.data()); });
    const double td = best_time(5, [&] { cpu::conv2d_backward_data<float>(g, w.data(), gy.data(), gx.data()); });
    const double tw = best_time(5, [&] { cpu::conv2d_backward_filter<float>(g, x.data(), gy.data(), gw.data()); });
    std::printf("%-20s %9.1f %9.1f %9.1f\n", cs.name, flop / tf * 1e-9, flop / td * 1e-9, flop / tw * 1e-9);
  }
  std::printf("\nforward at the maps of a width-16 UNet on 1280x720; GFLOP/s\n");
  const struct {
    const char* name;
    index_t cin, cout, h, w;
  } unet[] = {{"3x3 3->16 720p", 3, 16, 720, 1280},
              {"3x3 16->16 720p", 16, 16, 720, 1280},
              {"3x3 32->32 360p", 32, 32, 360, 640},
              {"3x3 64->64 180p", 64, 64, 180, 320}};
  for (const auto& cs : unet) {
    const ConvGeom g{1, cs.cin, cs.h, cs.w, cs.cout, 3, 3, 1, 1, 1, 1, 1, cs.h, cs.w};
    const auto x = random_vec(g.cin * g.in_plane(), rng), w = random_vec(g.cout * g.k_g(), rng);
    std::vector<float> y(static_cast<std::size_t>(g.cout * g.out_plane()));
    const double flop = 2.0 * double(g.cout) * double(g.k_g()) * double(g.out_plane());
    const double t = best_time(5, [&] { cpu::conv2d_forward<float>(g, x.data(), w.data(), nullptr, y.data()); });
    std::printf("%-20s %9.1f\n", cs.name, flop / t * 1e-9);
  }
  std::printf("\nforward vs naive 7-loop conv, 64x64\n%-20s %9s %9s %8s\n", "conv", "ours", "naive", "ratio");
  for (const Case& cs : cases) {
    const ConvGeom g = geom(cs.cin, cs.cout, 64, cs.k, cs.groups);
    const auto x = random_vec(g.cin * g.in_plane(), rng), w = random_vec(g.cout * g.k_g(), rng);
    std::vector<float> y(static_cast<std::size_t>(g.cout * g.out_plane()));
    const double flop = 2.0 * double(g.cout) * double(g.k_g()) * double(g.out_plane());
    const double t = best_time(10, [&] { cpu::conv2d_forward<float>(g, x.data(), w.data(), nullptr, y.data()); });
    const double tn = best_time(2, [&] { naive_conv(g, x.data(), w.data(), y.data()); });
    std::printf("%-20s %9.1f %9.1f %7.1fx\n", cs.name, flop / t * 1e-9, flop / tn * 1e-9, tn / t);
  }
  return 0;
}
