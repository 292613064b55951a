// local::convert on whole networks: calibrated windows, identity below 1.5x the training size,
// a real change above it, windows independent of the test input.
#include <map>

#include "tlc/models/hinet.hpp"
#include "tlc/models/inference.hpp"
#include "tlc/models/macs.hpp"
#include "tlc/models/model_file.hpp"
#include "tlc/models/nafnet.hpp"
#include "tlc/models/restormer.hpp"
#include "tlc/models/unet.hpp"
#include "tlc/local/convert.hpp"
#include "small_models.hpp"
#include "test_util.hpp"

using namespace tlc;
using namespace tlc::models;

namespace {
std::shared_ptr<Restorer> small_nafnet() { return test::small_models(3).front(); }
}  // namespace

TEST_CASE("NAFNet windows follow the official rule (the official calibration rule)") {
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

namespace {
bool same_windows(const std::vector<local::LayerWindow>& a, const std::vector<local::LayerWindow>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].kind != b[i].kind || a[i].map_h != b[i].map_h || a[i].map_w != b[i].map_w ||
        !(a[i].window == b[i].window))
      return false;
  return true;
}
}  // namespace

TEST_CASE("windows from recorded maps equal a calibration forward, for every model family and scale") {
  const auto calibrated = test::small_models(5), recorded = test::small_models(5);
  for (size_t i = 0; i < calibrated.size(); ++i) {
    INFO(calibrated[i]->arch() << " #" << i);
    const auto at_15 = local::convert(*calibrated[i], {32, 32, 1.5});
    for (double scale : {1.5, 2.0, 3.0}) {
      const auto expected = local::convert(*calibrated[i], {32, 32, scale});
      const auto got = local::convert_recorded(*recorded[i], {32, 32, scale}, at_15);
      REQUIRE(got.has_value());
      CHECK(same_windows(*got, expected));
      CHECK(same_windows(local::windows(*recorded[i]), expected));
    }
  }
}

TEST_CASE("recorded maps are refused, changing nothing, unless they name every layer once inside the training size") {
  auto net = small_nafnet();
  const auto good = local::convert(*net, {32, 32, 1.5});
  local::to_global(*net);
  REQUIRE(good.size() > 2);
  auto missing = good, duplicate = good, too_big = good, empty_map = good, renamed = good;
  missing.pop_back();
  duplicate.back() = duplicate.front();
  too_big[1].map_w = 33;
  empty_map[1].map_h = 0;
  renamed[0].name = "no.such.layer";
  for (const auto* bad : {&missing, &duplicate, &too_big, &empty_map, &renamed}) {
    CHECK_FALSE(local::convert_recorded(*net, {32, 32, 1.5}, *bad).has_value());
    for (const auto& l : local::windows(*net)) CHECK(l.window.is_global());
  }
  CHECK(local::convert_recorded(*net, {32, 32, 1.5}, good).has_value());
}

TEST_CASE("a model file's recorded maps set TLC's windows without a calibration forward") {
  const std::string path = std::string(TLC_BINARY_DIR) + "/test_tlc_convert_model.safetensors";
  auto net = small_nafnet();
  models::ModelInfo info;
  info.config = models::model_config(*net);
  info.train_h = info.train_w = 32;
  models::save_model(path, *net, info);
  const auto calibrated = local::convert(*net, {32, 32, 1.5});

  models::LoadedModel lm = models::load_model(path);
  REQUIRE(lm.info.recorded_maps.size() == calibrated.size());
  CHECK(same_windows(models::prepare(*lm.model, models::inference_options(lm.info)), calibrated));
  NoGrad ng;
  const TensorF x = test::random<float>({1, 3, 80, 96}, 4, 0, 1);
  CHECK(test::max_abs_diff(lm.model->forward(x), net->forward(x)) == 0.0);

  // The windows really come from the file: halved maps (still inside 32x32) give halved windows.
  io::SafetensorsData data = io::load_safetensors(path);
  io::json::Value arr = io::json::Value::array();
  for (const auto& l : calibrated) {
    io::json::Value o = io::json::Value::object();
    o.set("name", io::json::Value(l.name));
    o.set("map", io::json::Value::array({io::json::Value(l.map_h / 2), io::json::Value(l.map_w / 2)}));
    arr.push_back(std::move(o));
  }
  data.metadata["tlc.windows"] = arr.dump();
  io::save_safetensors(path, data.tensors, data.metadata);
  models::LoadedModel halved = models::load_model(path);
  const auto from_file = models::prepare(*halved.model, models::inference_options(halved.info));
  REQUIRE(from_file.size() == calibrated.size());
  for (size_t i = 0; i < from_file.size(); ++i) CHECK(from_file[i].map_h == calibrated[i].map_h / 2);

  // Malformed or absent maps: ignored, the model calibrates as before.
  for (const std::string bad : {"[{\"name\": 3}]", "not json", "[{\"name\":\"x\",\"map\":[1]}]"}) {
    data.metadata["tlc.windows"] = bad;
    io::save_safetensors(path, data.tensors, data.metadata);
    models::LoadedModel m = models::load_model(path);
    CHECK(m.info.recorded_maps.empty());
    CHECK(same_windows(models::prepare(*m.model, models::inference_options(m.info)), calibrated));
  }
  // A training size other than the recorded one calibrates too.
  models::InferenceOptions other = models::inference_options(lm.info);
  other.train_h = other.train_w = 16;
  CHECK(same_windows(models::prepare(*lm.model, other), local::convert(*net, {16, 16, 1.5})));
  std::remove(path.c_str());
}

TEST_CASE("TLC calibrates gray (one-channel) models with one-channel noise") {
  NAFNetConfig c;
  c.width = 8;
  c.img_channels = 1;
  NAFNetUNet net(c, false);
  InferenceOptions opt;
  opt.train_h = opt.train_w = 32;
  const auto listing = prepare(net, opt);
  CHECK_FALSE(listing.empty());
  NoGrad ng;
  CHECK(net.forward(test::random<float>({1, 1, 40, 48}, 2, 0, 1)).shape() == Shape({1, 1, 40, 48}));
  CHECK(count_macs(net, 40, 48) > 0);  // counted on one-channel zeros too
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
