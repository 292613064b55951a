#pragma once
// The application-level defaults of TLC inference, taken from the one place the library states
// them (local::ConvertOptions): the window scale (1.5 × the training-time map size, the paper's
// rule) and the training patch size assumed when a model file records none (the official recipes
// crop 256×256).
#include "tlc/local/convert.hpp"

namespace tlc::models {

inline constexpr double kDefaultScale = local::ConvertOptions{}.scale;
inline constexpr index_t kDefaultTrainSize = local::ConvertOptions{}.train_h;

}  // namespace tlc::models
