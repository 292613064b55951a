#pragma once
// Image sizes as text. People and image tools write width first ("1280x720"), so every size a
// user types or reads is W×H; only the model-file field tlc.train_size keeps its historical
// "HxW" order (docs/FORMATS.md), through parse_hw / hw_text.
#include <string>
#include <utility>

#include "tlc/core/config.hpp"
#include "tlc/core/error.hpp"

namespace tlc::models {

struct ImageSize {
  index_t h = 0, w = 0;
};

namespace detail {
// "N" → {N, N}; "AxB" → {A, B}; positive integers of at most 6 digits.
inline std::pair<index_t, index_t> parse_pair(const std::string& s, const std::string& what, const char* form) {
  auto num = [&](const std::string& t) -> index_t {
    TLC_CHECK(!t.empty() && t.find_first_not_of("0123456789") == std::string::npos && t.size() < 7, Error, what,
              ": expected N or ", form, " with positive integers, found '", s, "'");
    const index_t v = std::stoll(t);
    TLC_CHECK(v > 0, Error, what, ": expected positive sizes, found '", s, "'");
    return v;
  };
  const size_t x = s.find('x');
  if (x == std::string::npos) return {num(s), num(s)};
  return {num(s.substr(0, x)), num(s.substr(x + 1))};
}
}  // namespace detail

// "N" or "WxH", as typed on a command line.
inline ImageSize parse_size(const std::string& s, const std::string& what = "size") {
  const auto [w, h] = detail::parse_pair(s, what, "WxH");
  return {h, w};
}
// "W×H" for messages and tables.
inline std::string size_text(index_t h, index_t w) { return std::to_string(w) + "x" + std::to_string(h); }

// The model-file order (tlc.train_size): "N" or "HxW".
inline ImageSize parse_hw(const std::string& s, const std::string& what) {
  const auto [h, w] = detail::parse_pair(s, what, "HxW");
  return {h, w};
}
inline std::string hw_text(index_t h, index_t w) { return std::to_string(h) + "x" + std::to_string(w); }

}  // namespace tlc::models
