#pragma once
// Whether ops record a graph. NoGrad disables recording for the current thread (inference:
// activations are freed as soon as the next op no longer needs them).
#include "tlc/core/scoped_flag.hpp"

namespace tlc::autograd {

inline bool& grad_enabled_flag() {
  thread_local bool enabled = true;
  return enabled;
}
inline bool grad_enabled() { return grad_enabled_flag(); }

class NoGrad : ScopedFlag {
 public:
  NoGrad() : ScopedFlag(grad_enabled_flag(), false) {}
};

}  // namespace tlc::autograd

namespace tlc {
using autograd::NoGrad;
}
