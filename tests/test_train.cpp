// The training loop: loss falls, resume is bit-identical, checkpoints rotate, a non-finite loss
// stops cleanly with the last good checkpoint intact.
#include <filesystem>

#include "small_models.hpp"
#include "test_util.hpp"
#include "tlc/train/trainer.hpp"

using namespace tlc;

namespace {

std::string scratch(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("tlc_test_train_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  return p.string();
}

// A denoising batch that depends only on the iteration.
train::Batch batch_for(long long t) {
  Rng rng(1000 + static_cast<std::uint64_t>(t));
  TensorF clean = TensorF::uniform({2, 3, 16, 16}, rng, 0, 1);
  TensorF noisy = ops::add(clean, TensorF::normal({2, 3, 16, 16}, rng, 0, 0.1));
  return {noisy, clean};
}

train::TrainOptions options(long long iters) {
  train::TrainOptions o;
  o.iters = iters;
  o.lr = 2e-3;
  o.checkpoint_every = 3;
  o.keep_checkpoints = 2;
  o.progress = false;
  return o;
}

std::vector<float> flat(const nn::Module<float>& m) {
  std::vector<float> v;
  for (auto& p : m.parameters())
    for (float x : p.to_vector()) v.push_back(x);
  return v;
}

}  // namespace

TEST_CASE("training on a fixed task lowers the loss") {
  auto net = test::tiny_nafnet();
  const std::string dir = scratch("falls");
  train::Trainer t(*net, [&](const TensorF& x) { return net->forward_all(x); }, batch_for, options(40), dir);
  REQUIRE(t.run());
  const auto& log = t.log();
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) first += log[i].loss / 5, last += log[log.size() - 1 - i].loss / 5;
  CHECK(last < first - 1.0);  // PSNR loss (negative dB): at least 1 dB better
  std::filesystem::remove_all(dir);
}

TEST_CASE("K iterations, resume, K more equals 2K iterations exactly") {
  auto straight = test::tiny_nafnet();
  const std::string d1 = scratch("straight"), d2 = scratch("resumed");
  train::Trainer a(*straight, [&](const TensorF& x) { return straight->forward_all(x); }, batch_for, options(12), d1);
  REQUIRE(a.run());

  auto first = test::tiny_nafnet();
  {
    // Interrupted (as by Ctrl-C) during iteration 6: it finishes it, checkpoints, and returns.
    bool stop = false;
    auto interrupting = [&](long long t) {
      if (t == 6) stop = true;
      return batch_for(t);
    };
    train::Trainer b(*first, [&](const TensorF& x) { return first->forward_all(x); }, interrupting, options(12), d2);
    b.set_stop_request([&] { return stop; });
    CHECK_FALSE(b.run());
    CHECK(b.iteration() == 6);
  }
  auto resumed = test::tiny_nafnet();  // fresh weights: everything must come from the checkpoint
  train::Trainer c(*resumed, [&](const TensorF& x) { return resumed->forward_all(x); }, batch_for, options(12), d2);
  c.resume(d2 + "/checkpoints/iter_00000006.safetensors");
  CHECK(c.iteration() == 6);
  REQUIRE(c.run());
  CHECK(flat(*resumed) == flat(*straight));
  // Only the last two checkpoints are kept.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(d2 + "/checkpoints")) files += e.is_regular_file();
  CHECK(files == 2);
  std::filesystem::remove_all(d1);
  std::filesystem::remove_all(d2);
}

TEST_CASE("a non-finite loss stops training with a clear error and keeps the last checkpoint") {
  auto net = test::tiny_nafnet();
  const std::string dir = scratch("nan");
  auto poisoned = [](long long t) {
    train::Batch b = batch_for(t);
    if (t == 5) b.target.at(0) = std::numeric_limits<float>::quiet_NaN();
    return b;
  };
  train::Trainer t(*net, [&](const TensorF& x) { return net->forward_all(x); }, poisoned, options(10), dir);
  try {
    t.run();
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("iteration 5") != std::string::npos);
  }
  CHECK(t.iteration() == 4);
  CHECK(std::filesystem::exists(dir + "/checkpoints/iter_00000003.safetensors"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("resume rejects a checkpoint of another model") {
  auto net = test::tiny_nafnet();
  const std::string dir = scratch("other");
  train::Trainer t(*net, [&](const TensorF& x) { return net->forward_all(x); }, batch_for, options(3), dir);
  REQUIRE(t.run());
  nn::manual_seed(1);
  models::NAFNetConfig c;
  c.width = 6;
  c.enc_blocks = {1, 1};
  c.dec_blocks = {1, 1};
  models::NAFNetUNet other(c, false);
  train::Trainer u(other, [&](const TensorF& x) { return other.forward_all(x); }, batch_for, options(3), dir + "_2");
  CHECK_THROWS_AS(u.resume(dir + "/checkpoints/iter_00000003.safetensors"), FormatError);
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(dir + "_2");
}
