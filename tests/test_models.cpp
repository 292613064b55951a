// Model definitions: official parameter counts and names, shapes on odd sizes, gradients flow.
#include <map>

#include "tlc/models/hinet.hpp"
#include "tlc/models/nafnet.hpp"
#include "tlc/models/restormer.hpp"
#include "tlc/models/unet.hpp"
#include "small_models.hpp"
#include "test_util.hpp"

using namespace tlc;
using namespace tlc::models;

namespace {
NAFNetConfig gopro(index_t w, index_t dw = 2) {
  NAFNetConfig c;
  c.width = w;
  c.enc_blocks = {1, 1, 1, 28};
  c.middle_blocks = 1;
  c.dec_blocks = {1, 1, 1, 1};
  c.dw_expand = dw;
  return c;
}
NAFNetConfig sidd(index_t w, index_t dw = 2) {
  NAFNetConfig c;
  c.width = w;
  c.enc_blocks = {2, 2, 4, 8};
  c.middle_blocks = 12;
  c.dec_blocks = {2, 2, 2, 2};
  c.dw_expand = dw;
  return c;
}
}  // namespace

TEST_CASE("official configurations have the exact official parameter counts") {
  CHECK(NAFNetUNet(gopro(32), false).parameter_count() == 17111907);
  CHECK(NAFNetUNet(sidd(32), false).parameter_count() == 29159715);
  CHECK(NAFNetUNet(sidd(64), false).parameter_count() == 115982915);
  CHECK(NAFNetUNet(gopro(32, 1), true).parameter_count() == 17023875);
  CHECK(NAFNetUNet(sidd(32, 1), true).parameter_count() == 29056227);
  CHECK(HINet(HINetConfig{}).parameter_count() == 88668806);
  CHECK(Restormer(RestormerConfig{}).parameter_count() == 26126644);
}

TEST_CASE("NAFNet parameter names are the official state_dict keys") {
  NAFNetUNet net(gopro(32), false);
  auto named = net.named_parameters();
  CHECK(named.size() == 664);
  std::map<std::string, Shape> shapes;
  for (auto& [n, t] : named) shapes[n] = t.shape();
  CHECK(shapes.at("intro.weight") == Shape({32, 3, 3, 3}));
  CHECK(shapes.at("ending.weight") == Shape({3, 32, 3, 3}));
  CHECK(shapes.at("downs.3.weight") == Shape({512, 256, 2, 2}));
  CHECK(shapes.at("ups.0.0.weight") == Shape({1024, 512, 1, 1}));
  CHECK(shapes.at("encoders.3.27.sca.1.weight") == Shape({256, 256, 1, 1}));
  CHECK(shapes.at("middle_blks.0.beta") == Shape({1, 512, 1, 1}));
  CHECK(shapes.at("decoders.3.0.conv2.weight") == Shape({64, 1, 3, 3}));
  CHECK(shapes.count("ups.0.0.bias") == 0);
}

TEST_CASE("HINet and Restormer names follow the originals") {
  HINet h(HINetConfig{});
  std::map<std::string, Shape> s;
  for (auto& [n, t] : h.named_parameters()) s[n] = t.shape();
  CHECK(h.named_parameters().size() == 186);
  CHECK(s.at("down_path_1.3.norm.weight") == Shape({256}));
  CHECK(s.at("down_path_2.0.csff_enc.weight") == Shape({64, 64, 3, 3}));
  CHECK(s.at("up_path_1.0.up.weight") == Shape({1024, 512, 2, 2}));
  CHECK(s.at("cat12.weight") == Shape({64, 128, 1, 1}));
  CHECK(s.count("down_path_1.2.norm.weight") == 0);
  CHECK(s.count("down_path_2.4.csff_enc.weight") == 0);
  Restormer r(RestormerConfig{});
  std::map<std::string, Shape> rs;
  for (auto& [n, t] : r.named_parameters()) rs[n] = t.shape();
  CHECK(r.named_parameters().size() == 494);
  CHECK(rs.at("patch_embed.proj.weight") == Shape({48, 3, 3, 3}));
  CHECK(rs.at("encoder_level1.0.attn.temperature") == Shape({1, 1, 1}));
  CHECK(rs.at("latent.7.ffn.project_in.weight") == Shape({2042, 384, 1, 1}));
  CHECK(rs.at("down1_2.body.0.weight") == Shape({24, 48, 3, 3}));
  CHECK(rs.at("decoder_level1.0.norm1.body.bias") == Shape({96}));
}

TEST_CASE("small models of every family keep odd input sizes and pass gradients to every parameter") {
  const auto nets = test::small_models(1);
  for (auto& net : nets) {
    INFO(net->type_name());
    TensorF x = test::random<float>({1, 3, 21, 27}, 5, 0, 1);
    auto outs = net->forward_all(x);
    TensorF loss = ops::mean(ops::square(ops::sub(outs.back(), x)));
    autograd::backward(loss);
    CHECK(outs.back().shape() == x.shape());
    for (auto& [name, p] : net->named_parameters()) {
      INFO(name);
      CHECK(p.grad().defined());
    }
  }
}

TEST_CASE("MAC counts match the papers' figures") {
  // NAFNet paper: width32 ~16 G at 256x256 (GoPro config).
  NAFNetUNet n32(gopro(32), false);
  NoGrad ng;
  ops::MacCounter c;
  n32.forward(TensorF::zeros({1, 3, 64, 64}));
  // Conv MACs scale with the pixel count: 16x the 64x64 count is the 256x256 count.
  const double g256 = c.macs() * 16 / 1e9;
  CHECK(g256 > 15.0);
  CHECK(g256 < 17.0);
}
