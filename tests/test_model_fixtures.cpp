// Parity with an independent PyTorch statement of every model family (weights_tools/torch_models.py,
// fixtures made by weights_tools/make_fixtures.py, see docs/FIXTURES.md): the C++ model is built
// from the manifest's config, loads the PyTorch .pth, and must reproduce the reference outputs,
// global and after local::convert (TLC), including the window every aggregating layer gets.
#include <map>
#include <set>
#include <string>

#include "tlc/models/registry.hpp"
#include "test_util.hpp"
#include "tlc/io/json.hpp"
#include "tlc/io/safetensors.hpp"
#include "tlc/io/torch_checkpoint.hpp"
#include "tlc/local/convert.hpp"
#include "tlc/nn/state_dict.hpp"

using namespace tlc;

namespace {

const std::string kDir = std::string(TLC_SOURCE_DIR) + "/tests/data/models/";

struct Fixture {
  std::string name, arch, weights, data;
  models::Config config;
  local::ConvertOptions convert;
  index_t outputs = 0;
  std::string windows;  // one "layer KHxKW" line per aggregating layer, sorted by name
};

std::string window_listing(const std::map<std::string, local::WindowSize>& windows) {
  std::string out;
  for (const auto& [layer, w] : windows) out += layer + " " + std::to_string(w.kh) + "x" + std::to_string(w.kw) + "\n";
  return out;
}

const io::json::Value& field(const io::json::Value& object, const std::string& key) {
  const io::json::Value* v = object.find(key);
  if (!v) throw Error("manifest.json: expected a field '" + key + "', found none");
  return *v;
}

struct Manifest {
  std::string input;
  double tolerance = 0;
  std::map<std::string, Fixture> fixtures;
};

const Manifest& manifest() {
  static const Manifest m = [] {
    const io::json::Value root = io::json::parse(io::read_file(kDir + "manifest.json", 1 << 20));
    Manifest out;
    out.input = field(root, "input").as_string();
    out.tolerance = field(root, "tolerance").as_double();
    for (const auto& v : field(root, "fixtures").as_array()) {
      Fixture f;
      f.name = field(v, "name").as_string();
      f.arch = field(v, "arch").as_string();
      f.weights = field(v, "weights").as_string();
      f.data = field(v, "data").as_string();
      for (const auto& [k, s] : field(v, "config").as_object()) f.config.set(k, s.as_string());
      f.convert.train_h = field(v, "train_h").as_int();
      f.convert.train_w = field(v, "train_w").as_int();
      f.convert.scale = field(v, "scale").as_double();
      f.outputs = field(v, "outputs").as_int();
      std::map<std::string, local::WindowSize> windows;
      for (const auto& [layer, k] : field(v, "windows").as_object())
        windows[layer] = {k.as_array().at(0).as_int(), k.as_array().at(1).as_int()};
      f.windows = window_listing(windows);
      out.fixtures[f.name] = f;
    }
    return out;
  }();
  return m;
}

// Compares every output of the model on the fixture input with the reference tensors
// "<prefix>.<i>"; returns the outputs.
std::vector<TensorF> check_outputs(models::Restorer& model, const TensorF& input, const io::SafetensorsData& ref,
                                   const std::string& prefix, index_t count) {
  NoGrad no_grad;
  std::vector<TensorF> outs = model.forward_all(input);
  REQUIRE(static_cast<index_t>(outs.size()) == count);
  for (size_t i = 0; i < outs.size(); ++i) {
    const TensorF expected = ref.find(prefix + "." + std::to_string(i));
    REQUIRE(expected.defined());
    INFO(prefix << " output " << i);
    CHECK(test::max_abs_diff(outs[i], expected) < manifest().tolerance);
  }
  return outs;
}

void check_fixture(const std::string& name) {
  INFO("fixture " << name);
  const Manifest& m = manifest();
  REQUIRE(m.fixtures.count(name) == 1);
  const Fixture& f = m.fixtures.at(name);
  const TensorF input = io::load_safetensors(kDir + m.input).find("input");
  REQUIRE(input.defined());
  const io::SafetensorsData ref = io::load_safetensors(kDir + f.data);

  auto model = models::make_model(f.arch, f.config);
  nn::load_state_dict(*model, io::load_torch_checkpoint(kDir + f.weights), f.weights);
  const std::vector<TensorF> global = check_outputs(*model, input, ref, "global", f.outputs);

  // Same layers, same windows as the PyTorch calibration.
  std::map<std::string, local::WindowSize> windows;
  for (const auto& lw : local::convert(*model, f.convert)) windows[lw.name] = lw.window;
  CHECK(window_listing(windows) == f.windows);
  const std::vector<TensorF> tlc = check_outputs(*model, input, ref, "tlc", f.outputs);

  // The TLC comparison means something only if TLC changes the result; a model without
  // aggregating layers must be left exactly as it was.
  const double change = test::max_abs_diff(global.back(), tlc.back());
  if (f.windows.empty()) CHECK(change == 0.0);
  else CHECK(change > 100 * m.tolerance);
}

}  // namespace

TEST_CASE("fixture manifest lists exactly the tested fixtures") {
  std::set<std::string> names;
  for (const auto& [name, f] : manifest().fixtures) names.insert(name);
  CHECK(names == std::set<std::string>{"nafnet", "baseline", "unet_none", "unet_in", "unet_hin", "unet_gn", "unet_se",
                                       "unet_cbam", "unet_ge", "hinet", "restormer"});
  CHECK(manifest().tolerance <= 1e-4);
}

TEST_CASE("nafnet matches the PyTorch reference, global and TLC") { check_fixture("nafnet"); }
TEST_CASE("baseline matches the PyTorch reference, global and TLC") { check_fixture("baseline"); }
TEST_CASE("unet (no module) matches the PyTorch reference, TLC is a no-op") { check_fixture("unet_none"); }
TEST_CASE("unet+IN matches the PyTorch reference, global and TLC") { check_fixture("unet_in"); }
TEST_CASE("unet+HIN matches the PyTorch reference, global and TLC") { check_fixture("unet_hin"); }
TEST_CASE("unet+GN matches the PyTorch reference, global and TLC") { check_fixture("unet_gn"); }
TEST_CASE("unet+SE matches the PyTorch reference, global and TLC") { check_fixture("unet_se"); }
TEST_CASE("unet+CBAM matches the PyTorch reference, global and TLC") { check_fixture("unet_cbam"); }
TEST_CASE("unet+GE matches the PyTorch reference, global and TLC") { check_fixture("unet_ge"); }
TEST_CASE("hinet matches the PyTorch reference (both stages), global and TLC") { check_fixture("hinet"); }
TEST_CASE("restormer matches the PyTorch reference, global and TLC") { check_fixture("restormer"); }
