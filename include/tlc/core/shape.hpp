#pragma once
// Shape: rank 0..4, NCHW order for rank 4. Value type, cheap to copy.
#include <array>
#include <initializer_list>
#include <string>

#include "tlc/core/config.hpp"
#include "tlc/core/error.hpp"

namespace tlc {

class Shape {
 public:
  static constexpr int kMaxRank = 4;

  Shape() = default;
  Shape(std::initializer_list<index_t> dims) {
    TLC_CHECK(dims.size() <= kMaxRank, ShapeError, "Shape: expected rank <= 4, found rank ", dims.size());
    for (index_t d : dims) push(d);
  }
  template <class It>
  Shape(It first, It last) {
    for (; first != last; ++first) {
      TLC_CHECK(rank_ < kMaxRank, ShapeError, "Shape: expected rank <= 4, found more dimensions");
      push(static_cast<index_t>(*first));
    }
  }

  int rank() const { return rank_; }
  index_t operator[](int i) const { return d_[static_cast<size_t>(norm_axis(i))]; }
  index_t& operator[](int i) { return d_[static_cast<size_t>(norm_axis(i))]; }

  index_t numel() const {
    index_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= d_[static_cast<size_t>(i)];
    return n;
  }

  // Axis in [-rank, rank) mapped to [0, rank).
  int norm_axis(int axis) const {
    int a = axis < 0 ? axis + rank_ : axis;
    TLC_CHECK(a >= 0 && a < rank_, ShapeError, "Shape: axis ", axis, " out of range for rank ", rank_);
    return a;
  }

  // The same shape padded on the left with ones to rank 4 (N, C, H, W view).
  Shape as4d() const {
    Shape s;
    for (int i = 0; i < kMaxRank - rank_; ++i) s.push(1);
    for (int i = 0; i < rank_; ++i) s.push(d_[static_cast<size_t>(i)]);
    return s;
  }

  bool operator==(const Shape& o) const {
    if (rank_ != o.rank_) return false;
    for (int i = 0; i < rank_; ++i)
      if (d_[static_cast<size_t>(i)] != o.d_[static_cast<size_t>(i)]) return false;
    return true;
  }
  bool operator!=(const Shape& o) const { return !(*this == o); }

  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) {
      if (i) s += ",";
      s += std::to_string(d_[static_cast<size_t>(i)]);
    }
    return s + "]";
  }

 private:
  void push(index_t d) {
    TLC_CHECK(d >= 0, ShapeError, "Shape: expected non-negative dimensions, found ", d);
    d_[static_cast<size_t>(rank_++)] = d;
  }
  std::array<index_t, kMaxRank> d_{};
  int rank_ = 0;
};

inline std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

}  // namespace tlc
