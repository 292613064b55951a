#pragma once
// One small instance of every model family (and every UNet module variant), for tests that must
// cover them all. NAFNet/Baseline skip-init scales (beta, gamma) are set non-zero so every block
// contributes.
#include <memory>
#include <vector>

#include "tlc/models/hinet.hpp"
#include "tlc/models/nafnet.hpp"
#include "tlc/models/restormer.hpp"
#include "tlc/models/unet.hpp"

namespace tlc::test {

// The smallest NAFNet worth training (width 4, two levels): the training-loop tests' model.
inline std::shared_ptr<models::NAFNetUNet> tiny_nafnet() {
  nn::manual_seed(5);
  models::NAFNetConfig c;
  c.width = 4;
  c.enc_blocks = {1, 1};
  c.dec_blocks = {1, 1};
  return std::make_shared<models::NAFNetUNet>(c, false);
}

inline std::vector<std::shared_ptr<models::Restorer>> small_models(std::uint64_t seed) {
  using namespace tlc::models;
  nn::manual_seed(seed);
  std::vector<std::shared_ptr<Restorer>> nets;
  NAFNetConfig n;
  n.width = 8;
  nets.push_back(std::make_shared<NAFNetUNet>(n, false));
  nets.push_back(std::make_shared<NAFNetUNet>(n, true));
  for (auto& net : nets)
    for (auto& [name, p] : net->named_parameters())
      if (name.find("beta") != std::string::npos || name.find("gamma") != std::string::npos) p.fill_(0.5f);
  for (auto m : {"none", "in", "hin", "gn", "se", "cbam", "ge"}) {
    UNetConfig u;
    u.width = 8;
    u.depth = 3;
    u.gn_groups = 2;
    u.module = parse_block_module(m);
    nets.push_back(std::make_shared<UNet>(u));
  }
  HINetConfig hc;
  hc.width = 8;
  hc.depth = 3;
  hc.hin_left = 0;
  hc.hin_right = 2;
  nets.push_back(std::make_shared<HINet>(hc));
  RestormerConfig rc;
  rc.dim = 8;
  rc.blocks = {1, 1, 1, 1};
  rc.refinement_blocks = 1;
  rc.heads = {1, 2, 2, 4};
  nets.push_back(std::make_shared<Restormer>(rc));
  return nets;
}

}  // namespace tlc::test
