// local::convert on whole networks: calibrated windows, identity below 1.5x the training size,
// a real change above it, windows independent of the test input.
#include <map>

#include "models/hinet.hpp"
#include "models/inference.hpp"
#include "models/nafnet.hpp"
#include "models/restormer.hpp"
#include "models/unet.hpp"
#include "tlc/local/convert.hpp"
#include "small_models.hpp"
#include "test_util.hpp"

using namespace tlc;
using namespace tlc::models;

namespace {
std::shared_ptr<Restorer> small_nafnet() { return test::small_models(3).front(); }
}  // namespace

TEST_CASE("NAFNet windows follow the official rule (spec 6.2)") {
  NAFNetConfig c;
  c.width = 8;
  NAFNetUNet net(c, false);
  auto list = local::convert(net, {256, 256, 1.5});
  std::map<std::string, index_t> k;
  for (auto& l : list) k[l.name] = l.window.kh;
  CHECK(k.at("encoders.0.0.sca.0") == 384);
  CHECK(k.at("encoders.1.0.sca.0") == 192);
  CHECK(k.at("encoders.2.0.sca.0") == 96);
  CHECK(k.at("encoders.3.0.sca.0") == 48);
  CHECK(k.at("middle_blks.0.sca.0") == 24);
  CHECK(k.at("decoders.3.0.sca.0") == 384);
  for (auto& l : list) CHECK(l.window.kh == l.window.kw);
  // Non-square training size and scale: K = map * int(scale * train) // train per axis.
  auto list2 = local::convert(net, {64, 96, 2.0});
  CHECK(list2.front().window.kh == 128);
  CHECK(list2.front().window.kw == 192);
  local::to_global(net);
  for (auto& l : local::windows(net)) CHECK(l.window.is_global());
}

TEST_CASE("converted networks equal global ones up to 1.5x the training size and differ beyond") {
  for (auto& net : test::small_models(3)) {
    INFO(net->type_name());
    NoGrad ng;
    TensorF small = test::random<float>({1, 3, 44, 48}, 7, 0, 1);   // padded <= 48 = 1.5 x 32
    TensorF large = test::random<float>({1, 3, 100, 120}, 8, 0, 1);
    // Make the large input non-stationary so local statistics really differ.
    for (index_t c = 0; c < 3; ++c)
      for (index_t h = 0; h < 100; ++h)
        for (index_t w = 0; w < 120; ++w) large.at(0, c, h, w) *= float(w) / 120.0f;
    TensorF g_small = net->forward(small), g_large = net->forward(large);
    auto list = local::convert(*net, {32, 32, 1.5});
    TensorF l_small = net->forward(small), l_large = net->forward(large);
    // Windows covering the map take the global path itself: bit-identical results.
    CHECK(test::max_abs_diff(g_small, l_small) == 0.0);
    if (list.empty()) {
      // A network without global aggregation (the plain UNet): TLC changes nothing.
      CHECK(test::max_abs_diff(g_large, l_large) == 0.0);
      continue;
    }
    // Far above float rounding (~1e-7 here): the aggregations really became local.
    CHECK(test::max_abs_diff(g_large, l_large) > 1e-6);
    // Windows are fixed by calibration, never by the test input.
    auto after = local::windows(*net);
    REQUIRE(after.size() == list.size());
    for (size_t i = 0; i < list.size(); ++i) CHECK(after[i].window == list[i].window);
  }
}

TEST_CASE("apply_windows restores a listing by name and rejects unknown layers") {
  auto a = small_nafnet();
  auto b = small_nafnet();
  auto list = local::convert(*a, {32, 32, 1.5});
  local::apply_windows(*b, list);
  NoGrad ng;
  TensorF x = test::random<float>({1, 3, 80, 96}, 9, 0, 1);
  CHECK(test::max_abs_diff(a->forward(x), b->forward(x)) == 0.0);
  list.front().name = "no.such.layer";
  CHECK_THROWS_AS(local::apply_windows(*b, list), Error);
}

TEST_CASE("tiled inference covers the image, blends without seams, and equals global on one tile") {
  auto net = small_nafnet();
  NoGrad ng;
  models::InferenceOptions opt;
  opt.mode = models::Mode::Tile;
  opt.train_h = opt.train_w = 32;
  opt.overlap = 8;
  models::prepare(*net, opt);
  // Tile starts cover [0, size) with at least the requested overlap.
  for (index_t size : {32, 33, 57, 100}) {
    auto starts = models::tile_starts(size, 32, 8);
    CHECK(starts.front() == 0);
    CHECK(starts.back() + 32 == std::max<index_t>(size, 32));
    for (size_t i = 1; i < starts.size(); ++i) CHECK(starts[i - 1] + 32 - starts[i] >= 8);
  }
  // An image no larger than one tile: exactly the global result.
  TensorF one = test::random<float>({1, 3, 32, 30}, 11, 0, 1);
  CHECK(test::max_abs_diff(models::restore(*net, one, opt), net->forward(one)) == 0.0);
  // A constant image through an identity-like network is blended back to a constant: weights sum to 1.
  models::NAFNetConfig c;
  c.width = 8;
  models::NAFNetUNet zero_blocks(c, false);  // beta = gamma = 0: blocks are identities
  for (auto& [name, p] : zero_blocks.named_parameters())
    if (name.rfind("ending.", 0) == 0) p.fill_(0.0f);  // output = input exactly
  TensorF img = test::random<float>({1, 3, 70, 90}, 12, 0, 1);
  CHECK(test::max_abs_diff(models::restore(zero_blocks, img, opt), img) < 1e-6);
}
