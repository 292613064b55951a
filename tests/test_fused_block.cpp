// Fused inference against the unfused ops it replaces: NAFNet / Baseline blocks (models/naf_block.hpp,
// ops/cpu/fused_block.hpp) alone, and whole networks of every family (the UNet / HINet blocks' convs
// with their activations and adds, models/unet_blocks.hpp), global and TLC, odd sizes, batches, one
// and several threads.
#include <algorithm>
#include <cmath>
#include <iterator>

#include "tlc/local/convert.hpp"
#include "tlc/models/nafnet.hpp"
#include "tlc/models/model_file.hpp"
#include "tlc/models/registry.hpp"
#include "small_models.hpp"
#include "test_util.hpp"

using namespace tlc;
using namespace tlc::models;

namespace {

// Every parameter drawn from [-s, s] (norm weights around 1), so no term of the block vanishes.
void randomise(nn::Module<float>& m, std::uint64_t seed, float s = 0.5f) {
  std::uint64_t k = seed;
  for (auto& [name, p] : m.named_parameters()) {
    TensorF r = test::random<float>(p.shape(), ++k, -s, s);
    const bool norm_weight = name.find("norm") != std::string::npos && name.find("weight") != std::string::npos;
    if (norm_weight) r = ops::add_scalar(r, 1.0f);
    p.copy_(r);
  }
}

// Fused and unfused outputs of f() agree to float rounding (relative to the output's magnitude).
template <class F>
void check_fused_matches(F&& f) {
  NoGrad ng;
  TensorF fused = f();
  TensorF plain;
  {
    Unfused off;
    plain = f();
  }
  const auto v = plain.to_vector();
  double scale = 1.0;
  for (float x : v) scale = std::max(scale, double(std::abs(x)));
  const double diff = test::max_abs_diff(fused, plain);
  INFO("max |fused - unfused| = " << diff << ", max |unfused| = " << scale);
  CHECK(diff <= 2e-5 * scale);
}

}  // namespace

TEST_CASE("a fused NAFBlock or BaselineBlock equals its unfused ops on odd sizes and batches") {
  struct Case {
    const char* name;
    std::shared_ptr<NafStyleBlock> block;
  };
  std::vector<Case> blocks = {{"NAFBlock(8)", std::make_shared<NAFBlock>(8)},
                              {"NAFBlock(3)", std::make_shared<NAFBlock>(3)},
                              {"BaselineBlock(8, 1, 2)", std::make_shared<BaselineBlock>(8, 1, 2)},
                              {"BaselineBlock(6, 2, 2)", std::make_shared<BaselineBlock>(6, 2, 2)}};
  const std::vector<Shape> sizes = {{1, 0, 13, 29}, {2, 0, 7, 5}, {1, 0, 1, 1}, {1, 0, 2, 40}, {3, 0, 33, 3}};
  std::uint64_t seed = 10;
  for (const Case& one : blocks) {  // not a structured binding: the lambda below captures the block
    const auto& block = one.block;
    const char* name = one.name;
    randomise(*block, ++seed);
    for (Shape s : sizes)
      for (int threads : {1, 3}) {
        test::ThreadCount tc(threads);
        s[1] = block->named_parameters().front().second.size(1);  // beta [1, c, 1, 1]
        INFO(name << " on " << s.str() << ", " << threads << " threads");
        const TensorF x = test::random<float>(s, ++seed, -2, 2);
        check_fused_matches([&] { return block->forward(x); });
      }
  }
}

TEST_CASE("a fused block keeps only its branch output and its result in memory") {
  NAFBlock block(16);
  randomise(block, 3);
  const TensorF x = test::random<float>({1, 16, 96, 80}, 4);
  auto peak_of = [&](bool fused) {
    NoGrad ng;
    auto& a = CpuAllocator::instance();
    a.reset_peak();
    const std::size_t before = a.stats().live_bytes;
    if (fused) {
      TensorF y = block.forward(x);
    } else {
      Unfused off;
      TensorF y = block.forward(x);
    }
    return a.stats().peak_live_bytes - before;
  };
  const std::size_t map = std::size_t(16) * 96 * 80 * sizeof(float);
  const std::size_t fused = peak_of(true), plain = peak_of(false);
  INFO("peak bytes above the input: fused " << fused << ", unfused " << plain << ", one map " << map);
  CHECK(fused <= 2 * map + map / 4);  // g and the output (plus the folded conv3 weights)
  CHECK(plain >= 4 * map);
}

TEST_CASE("fused networks equal unfused ones: every family and UNet module, the shipped models; global and TLC") {
  std::vector<std::pair<std::string, std::shared_ptr<Restorer>>> nets;
  const char* small_names[] = {"small nafnet", "small baseline", "unet none", "unet in", "unet hin", "unet gn",
                               "unet se",      "unet cbam",      "unet ge",   "small hinet", "small restormer"};
  auto small = test::small_models(9);
  REQUIRE(small.size() == std::size(small_names));
  for (size_t i = 0; i < small.size(); ++i) nets.emplace_back(small_names[i], small[i]);
  for (const std::string& arch : architectures()) nets.emplace_back(arch + " defaults", make_model(arch, {}));
  Config gopro;  // NAFNet-GoPro-width32, the 720p benchmark network
  gopro.set("width", "32");
  gopro.set("enc_blocks", "1,1,1,28");
  gopro.set("dec_blocks", "1,1,1,1");
  nets.emplace_back("nafnet gopro width 32", make_model("nafnet", gopro));
  std::vector<std::string> shipped;  // trained weights: their own values, not randomised
  for (const char* file : {"unet_gn_denoise", "unet_gn_deblur_denoise"}) {
    shipped.push_back(std::string("shipped ") + file);
    nets.emplace_back(shipped.back(),
                      load_model(std::string(TLC_SOURCE_DIR) + "/data/models/" + file + ".safetensors").model);
  }
  std::uint64_t seed = 40;
  for (const auto& entry : nets) {
    const std::string& name = entry.first;
    const std::shared_ptr<Restorer>& net = entry.second;
    if (std::find(shipped.begin(), shipped.end(), name) == shipped.end()) randomise(*net, ++seed, 0.2f);
    const TensorF x = test::random<float>({1, 3, 37, 53}, ++seed, 0, 1);
    for (bool tlc : {false, true}) {
      if (tlc) local::convert(*net, {16, 16, 1.5});
      else local::to_global(*net);
      for (int threads : {1, 2}) {
        test::ThreadCount tc(threads);
        INFO(name << (tlc ? " TLC" : " global") << ", " << threads << " threads");
        check_fused_matches([&] { return net->forward(x); });
      }
    }
  }
}

TEST_CASE("with bf16 products a network stays within bf16 rounding of its fp32 output, fused or not") {
  if (!cpu_has_bf16() || cpu_isa() != CpuIsa::Avx512) {
    WARN("bf16 products not run: this CPU lacks AVX512-BF16 (or TLC_ISA is below avx512)");
    return;
  }
  const std::shared_ptr<Restorer> net = test::small_models(9)[0];  // a small NAFNet
  randomise(*net, 77, 0.2f);
  const TensorF x = test::random<float>({1, 3, 37, 53}, 78, 0, 1);
  NoGrad ng;
  for (bool tlc : {false, true}) {
    if (tlc) local::convert(*net, {16, 16, 1.5});
    else local::to_global(*net);
    const TensorF fp32 = net->forward(x);
    TensorF fused, plain;
    {
      test::RestorePrecision restore;
      set_matmul_precision(MatmulPrecision::Bf16);
      fused = net->forward(x);
      Unfused off;
      plain = net->forward(x);
    }
    double scale = 1.0;
    for (float v : fp32.to_vector()) scale = std::max(scale, double(std::abs(v)));
    const double fused_diff = test::max_abs_diff(fused, fp32), plain_diff = test::max_abs_diff(plain, fp32);
    INFO((tlc ? "TLC" : "global") << ": max |bf16 - fp32| fused " << fused_diff << ", unfused " << plain_diff
                                  << ", max |fp32| " << scale);
    CHECK(fused_diff > 0);  // the bf16 kernel ran
    CHECK(fused_diff <= 1e-2 * scale);
    CHECK(plain_diff <= 1e-2 * scale);
  }
}
