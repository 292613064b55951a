// models::estimate_memory: two small probe forwards predict the peak of live tensor memory of a
// larger restore, for every model family, in every inference mode.
#include <catch2/catch.hpp>

#include "tlc/models/memory.hpp"
#include "small_models.hpp"

using namespace tlc;

namespace {

// The allocator's peak of live bytes during restore() of a zero image of h×w, the input included.
double measured_peak(models::Restorer& model, const models::InferenceOptions& opt, index_t h, index_t w) {
  CpuAllocator& alloc = CpuAllocator::instance();
  alloc.release_cache();
  alloc.reset_peak();
  const std::size_t before = alloc.stats().live_bytes;
  {
    const TensorF y = models::restore(model, TensorF::zeros({1, model.image_channels(), h, w}), opt);
  }
  return static_cast<double>(alloc.stats().peak_live_bytes - before);
}

}  // namespace

TEST_CASE("the memory estimate is within -10 % / +40 % of the peak of live tensors at other sizes") {
  set_num_threads(2);
  for (const auto& net : test::small_models(7)) {
    for (auto mode : {models::Mode::Global, models::Mode::TLC, models::Mode::Tile}) {
      models::InferenceOptions opt;
      opt.mode = mode;
      opt.train_h = opt.train_w = 32;
      opt.overlap = 8;
      models::prepare(*net, opt);
      const auto before = local::windows(*net);
      const models::MemoryEstimate e = models::estimate_memory(*net, opt);
      for (auto [h, w] : {std::pair<index_t, index_t>{256, 512}, {208, 400}}) {
        const double got = measured_peak(*net, opt, h, w), want = e.at(h, w);
        INFO(net->arch() << " " << models::mode_name(mode) << " at " << w << "x" << h << ": estimated " << want
                         << " bytes, measured " << got);
        // Below: the allocator rounds some sizes more than others (measured: up to 4.5 % under).
        // Above: the scaling for that rounding, and Restormer's 2x2 probe windows (up to 35 % over).
        CHECK(want >= 0.90 * got);
        CHECK(want <= 1.40 * got);
      }
      // The probes leave the model as it was prepared.
      const auto after = local::windows(*net);
      REQUIRE(after.size() == before.size());
      for (size_t i = 0; i < after.size(); ++i) CHECK(after[i].window.kh == before[i].window.kh);
    }
  }
}

TEST_CASE("the one-probe memory bound covers the two-probe estimate and the measured peak, at any size") {
  set_num_threads(2);
  for (const auto& net : test::small_models(7)) {
    for (auto mode : {models::Mode::Global, models::Mode::TLC}) {
      models::InferenceOptions opt;
      opt.mode = mode;
      opt.train_h = opt.train_w = 32;
      models::prepare(*net, opt);
      const models::MemoryEstimate bound = models::memory_bound(*net, opt), e = models::estimate_memory(*net, opt);
      for (auto [h, w] : {std::pair<index_t, index_t>{256, 512}, {208, 400}, {40, 56}, {128, 128}}) {
        const double got = measured_peak(*net, opt, h, w);
        INFO(net->arch() << " " << models::mode_name(mode) << " at " << w << "x" << h << ": bound " << bound.at(h, w)
                         << ", estimate " << e.at(h, w) << ", measured " << got);
        CHECK(bound.at(h, w) >= e.at(h, w));
        CHECK(bound.at(h, w) >= got);
        if (h * w >= models::kMemoryProbeSide * models::kMemoryProbeSide)  // below, the bound is the a x a probe
          CHECK(bound.at(h, w) <= 2.0 * e.at(h, w));                      // a bound, but not a useless one
      }
    }
  }
}
