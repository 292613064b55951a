// `tlc convert` without --arch: the architecture and its options are read back from the tensor
// names and shapes of every fixture checkpoint (PyTorch .pth files written by our re-statement).
#include <string>

#include "tlc/models/registry.hpp"
#include "test_util.hpp"
#include "tlc/io/json.hpp"
#include "tlc/io/torch_checkpoint.hpp"
#include "tlc/nn/state_dict.hpp"
#include "tlc/models/detect_arch.hpp"

using namespace tlc;

namespace {
const std::string kDir = std::string(TLC_SOURCE_DIR) + "/tests/data/models/";
}

TEST_CASE("detect_arch recovers architecture and options from every fixture checkpoint") {
  const io::json::Value root = io::json::parse(io::read_file(kDir + "manifest.json", 1 << 20));
  int checked = 0;
  for (const auto& f : root.find("fixtures")->as_array()) {
    const std::string name = f.find("name")->as_string();
    INFO(name);
    const auto tensors = io::load_torch_checkpoint(kDir + f.find("weights")->as_string());
    const models::Config detected = models::detect_arch(tensors);
    CHECK(detected.str("arch", "") == f.find("arch")->as_string());
    for (const auto& [key, value] : f.find("config")->as_object()) {
      // Shapes cannot tell GN from IN, nor see the parameter-free GE: those need --set module=...
      if (key == "module" && (value.as_string() == "gn" || value.as_string() == "ge")) continue;
      if (key == "gn_groups" || key == "reduction") continue;
      INFO(key);
      CHECK(detected.str(key, "<missing>") == value.as_string());
    }
    // Whatever was detected (plus the options shapes cannot tell) builds a model the weights load into.
    models::Config build = detected;
    for (const auto& [key, value] : f.find("config")->as_object()) build.set(key, value.as_string());
    auto model = models::make_model(detected.str("arch", ""), build);
    CHECK_NOTHROW(nn::load_state_dict(*model, tensors));
    ++checked;
  }
  CHECK(checked >= 10);
}

TEST_CASE("detect_arch refuses unknown layouts with a clear error") {
  models::Named t{{"backbone.conv.weight", TensorF::zeros({4, 3, 3, 3})}};
  CHECK_THROWS_WITH(models::detect_arch(t), Catch::Contains("no known architecture"));
}

TEST_CASE("unet module_from: the module only from that level down, detected and round-tripped") {
  for (const std::string module : {"hin", "in", "se", "cbam"}) {
    INFO(module);
    models::Config c;
    c.set("width", "8");
    c.set("depth", "3");
    c.set("module", module);
    c.set("module_from", "1");
    auto model = models::make_model("unet", c);
    const models::Named t = nn::state_dict(*model);
    bool level0 = false, level1 = false;
    for (const auto& [name, v] : t) {
      const bool has_module = name.find(".norm.") != std::string::npos || name.find(".se.") != std::string::npos ||
                              name.find(".cbam.") != std::string::npos;
      level0 = level0 || (has_module && name.rfind("down_path.0.", 0) == 0);
      level1 = level1 || (has_module && name.rfind("down_path.1.", 0) == 0);
    }
    CHECK_FALSE(level0);
    CHECK(level1);
    const models::Config detected = models::detect_arch(t);
    CHECK(detected.str("module", "") == module);
    CHECK(detected.str("module_from", "") == "1");
    CHECK(models::model_config(*model).str("module_from", "") == "1");
    CHECK_NOTHROW(nn::load_state_dict(*models::make_model("unet", detected), t));
  }
  models::Config bad;
  bad.set("depth", "3");
  bad.set("module_from", "3");
  CHECK_THROWS_WITH(models::make_model("unet", bad), Catch::Matchers::Contains("module_from"));
}
