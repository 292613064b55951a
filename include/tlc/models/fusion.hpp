#pragma once
// Whether inference may run the fused paths (the cache-resident NAFNet block, models/naf_block.hpp;
// the UNet/HINet block's activations and adds in its convs' GEMMs, models/unet_blocks.hpp). On by
// default; TLC_FUSED=0 in the environment turns it off for a whole process (before/after runs of
// the same binary), an Unfused guard for the current thread's scope (the equality tests, benchmarks).
#include <cstdlib>
#include <cstring>

#include "tlc/core/device.hpp"
#include "tlc/core/scoped_flag.hpp"
#include "tlc/tape/grad_mode.hpp"

namespace tlc::models {

inline bool& fused_inference_flag() {
  thread_local bool enabled = [] {
    const char* v = std::getenv("TLC_FUSED");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  return enabled;
}
inline bool fused_inference_enabled() { return fused_inference_flag(); }
// Whether a forward on `device` takes the fused forms now: enabled, no gradient recorded, the CPU.
inline bool fused_inference_on(const Device& device) {
  return fused_inference_enabled() && !autograd::grad_enabled() && device.is_cpu();
}

class Unfused : ScopedFlag {
 public:
  Unfused() : ScopedFlag(fused_inference_flag(), false) {}
};

}  // namespace tlc::models
