#pragma once
// A thread-local switch set for a scope: the guard stores the flag's value, sets the new one and puts
// the old one back when the scope ends, so guards nest. NoGrad (tape/grad_mode.hpp) and
// models::Unfused (models/fusion.hpp) are such guards.
namespace tlc {

class ScopedFlag {
 public:
  ScopedFlag(bool& flag, bool value) : flag_(flag), previous_(flag) { flag_ = value; }
  ~ScopedFlag() { flag_ = previous_; }
  ScopedFlag(const ScopedFlag&) = delete;
  ScopedFlag& operator=(const ScopedFlag&) = delete;

 private:
  bool& flag_;
  bool previous_;
};

}  // namespace tlc
