#pragma once
// The aggregation spec every spatially aggregating module holds (TLC, Chu et al., ECCV 2022):
// global, or local with a fixed window per axis. The window is set once by local::convert from a
// calibration forward at the training size and never depends on the test input.
#include <string>

#include "tlc/core/config.hpp"
#include "tlc/ops/window_size.hpp"

namespace tlc::local {

// Mixed into every module that aggregates over space (SE, SCA, GE, CBAM, IN, HIN, GN, MDTA).
class Aggregating {
 public:
  virtual ~Aggregating() = default;

  const WindowSize& window() const { return window_; }
  void set_window(WindowSize w) { window_ = w; }

  // Map size seen during the last calibration forward (0 before any).
  index_t calibration_h() const { return calib_h_; }
  index_t calibration_w() const { return calib_w_; }
  void begin_calibration() {
    calibrating_ = true;
    calib_h_ = calib_w_ = 0;
  }
  void end_calibration() { calibrating_ = false; }
  // A map size known without a forward (recorded in a model file at the same training size).
  void set_calibration(index_t h, index_t w) { calib_h_ = h, calib_w_ = w; }

  // What is aggregated, for listings ("avg-pool", "instance-norm", "attention", ...).
  virtual std::string aggregation_kind() const = 0;

 protected:
  // Called by the module's forward with the size of the map it aggregates over.
  void observe(index_t h, index_t w) {
    if (!calibrating_) return;
    calib_h_ = h;
    calib_w_ = w;
  }

 private:
  WindowSize window_;
  bool calibrating_ = false;
  index_t calib_h_ = 0, calib_w_ = 0;
};

}  // namespace tlc::local
