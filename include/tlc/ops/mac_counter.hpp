#pragma once
// Counting multiply-accumulates: while a MacCounter is alive on this thread, conv2d,
// conv_transpose2d and matmul add the MACs of every call (what `tlc info` reports; the other
// ops are element-wise and are not counted, as in the papers' MAC figures).
#include "tlc/core/config.hpp"

namespace tlc::ops {

class MacCounter {
 public:
  MacCounter() : previous_(active()) { active() = this; }
  ~MacCounter() { active() = previous_; }
  MacCounter(const MacCounter&) = delete;
  MacCounter& operator=(const MacCounter&) = delete;

  double macs() const { return macs_; }
  static void add(double macs) {
    if (MacCounter* c = active()) c->macs_ += macs;
  }

 private:
  static MacCounter*& active() {
    thread_local MacCounter* current = nullptr;
    return current;
  }
  MacCounter* previous_;
  double macs_ = 0;
};

}  // namespace tlc::ops
