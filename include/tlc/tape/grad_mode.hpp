#pragma once
// Whether ops record a graph. NoGrad disables recording for the current thread (inference:
// activations are freed as soon as the next op no longer needs them).
namespace tlc::autograd {

inline bool& grad_enabled_flag() {
  thread_local bool enabled = true;
  return enabled;
}
inline bool grad_enabled() { return grad_enabled_flag(); }

class NoGrad {
 public:
  NoGrad() : previous_(grad_enabled_flag()) { grad_enabled_flag() = false; }
  ~NoGrad() { grad_enabled_flag() = previous_; }
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};

}  // namespace tlc::autograd

namespace tlc {
using autograd::NoGrad;
}
