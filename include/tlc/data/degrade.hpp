#pragma once
// Synthetic degradations from small spec strings (docs/DATA.md lists them all), e.g.
//   "noise:sigma=25"   "motion:len=9-21+noise:sigma=5-60"   "blur-map:type=defocus,r=0-4,pattern=blocks"
// Each stage draws its random parameters from the Rng given to apply() (so a seed reproduces the
// result), then renders. Blur stages must come before noise stages (noise is added to the blurred
// image). Blur is a 2-D correlation with replicate borders.
//
// Position independence: noise values are a hash of (noise seed, plane, row, column) in FULL-image
// coordinates, and noise-level / blur-weight maps are defined over the full image. So degrading a
// crop with `margin()` pixels of context (Frame = where that region lies in the full image) gives
// exactly the same pixels as degrading the full image and cropping: the loader degrades small
// regions only, while a patch still sees its local part of a spatially varying degradation.
//
// Loops are serial on purpose: the loader runs many samples in parallel, one per worker.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "tlc/core/error.hpp"
#include "tlc/core/rng.hpp"
#include "tlc/tensor/tensor.hpp"

namespace tlc::data {

// Where a region lies inside the full image (full_h = 0: the region is the full image).
struct Frame {
  index_t full_h = 0, full_w = 0, top = 0, left = 0;
};

// A square blur kernel, side 2*radius+1, row-major, summing to 1.
struct Kernel {
  index_t radius = 0;
  std::vector<double> w{1.0};
  index_t side() const { return 2 * radius + 1; }
  double sum() const {
    double s = 0;
    for (double v : w) s += v;
    return s;
  }
};

namespace detail {

struct Range {
  double lo = 0, hi = 0;
  double draw(Rng& rng) const { return lo == hi ? lo : rng.uniform(lo, hi); }
};

inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A standard normal value that depends only on (seed, counter): Box-Muller on two hashed uniforms.
inline double hashed_normal(std::uint64_t seed, std::uint64_t counter) {
  const std::uint64_t a = mix64(seed + 0x9E3779B97F4A7C15ull * (2 * counter + 1));
  const std::uint64_t b = mix64(seed + 0x9E3779B97F4A7C15ull * (2 * counter + 2));
  const double u1 = (static_cast<double>(a >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
  const double u2 = static_cast<double>(b >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2);
}

inline Kernel motion_kernel(index_t len, Rng& rng) {
  Kernel k;
  k.radius = std::max<index_t>(0, len / 2);  // side = len rounded up to odd
  const index_t side = k.side();
  k.w.assign(static_cast<std::size_t>(side * side), 0.0);
  if (k.radius == 0) {
    k.w[0] = 1.0;
    return k;
  }
  // A random walk with momentum: unit steps whose heading turns by N(0, turn) each step; `turn`
  // itself is drawn so that some kernels are near-straight and some curved.
  const int steps = 64;
  const double turn = rng.uniform(0.05, 0.6);
  double heading = rng.uniform(0.0, 6.283185307179586476925);
  std::vector<double> xs{0.0}, ys{0.0};
  for (int i = 0; i < steps; ++i) {
    heading += turn * rng.normal();
    xs.push_back(xs.back() + std::cos(heading));
    ys.push_back(ys.back() + std::sin(heading));
  }
  // centre on the centroid (no image shift), scale so the trajectory just fits the kernel
  double cx = 0, cy = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) cx += xs[i], cy += ys[i];
  cx /= double(xs.size()), cy /= double(ys.size());
  double extent = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) extent = std::max({extent, std::abs(xs[i] - cx), std::abs(ys[i] - cy)});
  const double s = double(k.radius) / extent;
  auto splat = [&](double x, double y) {  // bilinear, in kernel coordinates [0, side-1]
    const double fx = std::min(std::max(x, 0.0), double(side - 1)), fy = std::min(std::max(y, 0.0), double(side - 1));
    const index_t x0 = std::min<index_t>(static_cast<index_t>(fx), side - 2),
                  y0 = std::min<index_t>(static_cast<index_t>(fy), side - 2);
    const double ax = fx - double(x0), ay = fy - double(y0);
    k.w[y0 * side + x0] += (1 - ax) * (1 - ay);
    k.w[y0 * side + x0 + 1] += ax * (1 - ay);
    k.w[(y0 + 1) * side + x0] += (1 - ax) * ay;
    k.w[(y0 + 1) * side + x0 + 1] += ax * ay;
  };
  for (std::size_t i = 0; i + 1 < xs.size(); ++i) {
    const int sub = 1 + static_cast<int>(std::ceil(4 * s));  // >= 4 samples per pixel of path
    for (int j = 0; j < sub; ++j) {
      const double t = double(j) / sub;
      splat(k.radius + s * (xs[i] + t * (xs[i + 1] - xs[i]) - cx),
            k.radius + s * (ys[i] + t * (ys[i + 1] - ys[i]) - cy));
    }
  }
  const double total = k.sum();
  for (double& v : k.w) v /= total;
  return k;
}

// A disk of radius r, anti-aliased by 8x8 supersampling of each pixel's coverage.
inline Kernel defocus_kernel(double r) {
  Kernel k;
  k.radius = static_cast<index_t>(std::ceil(r));
  const index_t side = k.side();
  k.w.assign(static_cast<std::size_t>(side * side), 0.0);
  const int ss = 8;
  for (index_t y = 0; y < side; ++y)
    for (index_t x = 0; x < side; ++x) {
      int inside = 0;
      for (int i = 0; i < ss; ++i)
        for (int j = 0; j < ss; ++j) {
          const double dy = double(y - k.radius) + (i + 0.5) / ss - 0.5,
                       dx = double(x - k.radius) + (j + 0.5) / ss - 0.5;
          inside += dx * dx + dy * dy <= r * r;
        }
      k.w[y * side + x] = inside;
    }
  const double total = k.sum();
  if (total == 0) {  // r ~ 0: no blur
    std::fill(k.w.begin(), k.w.end(), 0.0);
    k.w[k.radius * side + k.radius] = 1.0;
    return k;
  }
  for (double& v : k.w) v /= total;
  return k;
}

// out[p] = sum_ij k(i,j) * in[clamp(y+i-r), clamp(x+j-r)] for one H x W plane (replicate border).
inline void correlate_plane(const float* in, float* out, index_t H, index_t W, const Kernel& k) {
  const index_t r = k.radius, side = k.side(), pw = W + 2 * r;
  std::vector<float> row(static_cast<std::size_t>(pw));
  std::vector<double> acc(static_cast<std::size_t>(W));
  for (index_t y = 0; y < H; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (index_t i = 0; i < side; ++i) {
      const float* src = in + std::min(std::max(y + i - r, index_t(0)), H - 1) * W;
      for (index_t x = 0; x < pw; ++x) row[x] = src[std::min(std::max(x - r, index_t(0)), W - 1)];
      for (index_t j = 0; j < side; ++j) {
        const double kv = k.w[i * side + j];
        if (kv == 0) continue;  // motion kernels are mostly zeros
        const float* rp = row.data() + j;
        for (index_t x = 0; x < W; ++x) acc[x] += kv * rp[x];
      }
    }
    for (index_t x = 0; x < W; ++x) out[y * W + x] = static_cast<float>(acc[x]);
  }
}

// Bilinear interpolation weights over a g x g grid of anchors at cell centres, along one axis:
// position p in [0, n) -> (lower anchor, upper anchor, weight of the upper one).
struct AxisWeight {
  index_t i0, i1;
  double f;
};
inline AxisWeight axis_weight(index_t p, index_t n, int g) {
  double u = (double(p) + 0.5) / double(n) * g - 0.5;
  u = std::min(std::max(u, 0.0), double(g - 1));
  const auto i0 = static_cast<index_t>(u);
  return {i0, std::min<index_t>(i0 + 1, g - 1), u - double(i0)};
}

}  // namespace detail

class Degradation {
 public:
  enum class Kind { Noise, NoiseMap, Motion, Defocus, BlurMap };
  enum class Pattern { Gradient, Blocks };
  struct Stage {
    Kind kind = Kind::Noise;
    detail::Range sigma, len, r;  // noise sigma in /255 units; motion kernel side; defocus radius
    Pattern pattern = Pattern::Gradient;
    int grid = 3;
    Kind blur = Kind::Motion;  // the kernel family of a blur-map
    bool clip = false;
    bool is_blur() const { return kind == Kind::Motion || kind == Kind::Defocus || kind == Kind::BlurMap; }
  };

  Degradation() = default;  // identity

  // "" or "none" is the identity. Throws tlc::Error naming the spec and the problem.
  static Degradation parse(const std::string& spec) {
    Degradation d;
    d.spec_ = spec;
    if (spec.empty() || spec == "none") return d;
    bool seen_noise = false;
    for (const std::string& part : split(spec, '+')) {
      Stage st = parse_stage(spec, part);
      TLC_CHECK(!(st.is_blur() && seen_noise), Error, "degradation '", spec,
                "': expected blur stages before noise stages (noise is added to the blurred image), found '", part,
                "' after a noise stage");
      seen_noise = seen_noise || !st.is_blur();
      d.stages_.push_back(st);
    }
    return d;
  }

  const std::string& spec() const { return spec_; }
  bool empty() const { return stages_.empty(); }
  const std::vector<Stage>& stages() const { return stages_; }

  // Context (pixels per side) a region needs so that its interior matches the full-image result.
  index_t margin() const {
    index_t m = 0;
    for (const Stage& st : stages_) {
      const Kind k = st.kind == Kind::BlurMap ? st.blur : st.kind;
      if (k == Kind::Motion) m += static_cast<index_t>(st.len.hi) / 2;
      if (k == Kind::Defocus) m += static_cast<index_t>(std::ceil(st.r.hi));
    }
    return m;
  }

  // Degrades a clean [N,C,H,W] (or [C,H,W]) CPU tensor; frame says where it lies in the full image.
  TensorF apply(const TensorF& clean, Rng& rng, Frame frame = {}) const {
    const Shape s = clean.shape();
    TLC_CHECK(s.rank() == 3 || s.rank() == 4, ShapeError, "Degradation::apply: expected [N,C,H,W] or [C,H,W], found ",
              s.str());
    TLC_CHECK(!clean.is_cuda(), DeviceError, "Degradation::apply: expected a cpu tensor, found ", clean.device().str());
    const Shape s4 = s.as4d();
    const index_t H = s4[2], W = s4[3], planes = s4[0] * s4[1];
    if (frame.full_h == 0) frame = Frame{H, W, 0, 0};
    TLC_CHECK(frame.top >= 0 && frame.left >= 0 && frame.top + H <= frame.full_h && frame.left + W <= frame.full_w,
              ShapeError, "Degradation::apply: expected a region inside the ", frame.full_h, "x", frame.full_w,
              " frame, found ", H, "x", W, " at (", frame.top, ",", frame.left, ")");
    TensorF x = clean.clone();
    for (const Stage& st : stages_) {
      if (st.is_blur())
        x = blur(x, st, rng, frame, planes, H, W);
      else
        add_noise(x, st, rng, frame, planes, H, W);
    }
    return x;
  }

  // A kernel of the family (Motion or Defocus) with its size drawn from range (exposed for tests).
  static Kernel draw_kernel(Kind family, const detail::Range& range, Rng& rng) {
    if (family == Kind::Defocus) return detail::defocus_kernel(range.draw(rng));
    const auto lo = static_cast<index_t>(range.lo), hi = static_cast<index_t>(range.hi);
    return detail::motion_kernel(lo + static_cast<index_t>(rng.below(std::uint64_t(hi - lo + 1))), rng);
  }

 private:
  static std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
      const auto p = s.find(sep, start);
      out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
      if (p == std::string::npos) return out;
      start = p + 1;
    }
  }

  static double parse_number(const std::string& spec, const std::string& key, const std::string& text) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    TLC_CHECK(!text.empty() && end == text.c_str() + text.size() && std::isfinite(v), Error, "degradation '", spec,
              "': expected a number for ", key, ", found '", text, "'");
    return v;
  }

  // "a" or "a-b" with min <= a <= b <= max.
  static detail::Range parse_range(const std::string& spec, const std::string& key, const std::string& text, double min,
                                   double max, bool integer) {
    const auto dash = text.find('-', 1);
    detail::Range r;
    r.lo = parse_number(spec, key, text.substr(0, dash));
    r.hi = dash == std::string::npos ? r.lo : parse_number(spec, key, text.substr(dash + 1));
    TLC_CHECK(r.lo <= r.hi && r.lo >= min && r.hi <= max, Error, "degradation '", spec, "': expected ", key,
              " (or a range lo-hi) within [", min, ", ", max, "], found '", text, "'");
    TLC_CHECK(!integer || (r.lo == std::floor(r.lo) && r.hi == std::floor(r.hi)), Error, "degradation '", spec,
              "': expected whole numbers for ", key, ", found '", text, "'");
    return r;
  }

  static Stage parse_stage(const std::string& spec, const std::string& part) {
    const auto colon = part.find(':');
    const std::string kind = part.substr(0, colon);
    Stage st;
    std::vector<std::string> allowed;
    if (kind == "noise")
      st.kind = Kind::Noise, allowed = {"sigma", "clip"};
    else if (kind == "noise-map")
      st.kind = Kind::NoiseMap, allowed = {"sigma", "pattern", "grid", "clip"};
    else if (kind == "motion")
      st.kind = Kind::Motion, allowed = {"len"};
    else if (kind == "defocus")
      st.kind = Kind::Defocus, allowed = {"r"};
    else if (kind == "blur-map")
      st.kind = Kind::BlurMap, allowed = {"type", "len", "r", "pattern", "grid"};
    else
      throw Error("degradation '" + spec +
                  "': expected a stage noise, noise-map, motion, defocus or blur-map, found '" + part + "'");
    bool has_sigma = false, has_len = false, has_r = false;
    const std::string params = colon == std::string::npos ? "" : part.substr(colon + 1);
    for (const std::string& kv : params.empty() ? std::vector<std::string>{} : split(params, ',')) {
      const auto eq = kv.find('=');
      TLC_CHECK(eq != std::string::npos, Error, "degradation '", spec, "': expected key=value in '", part, "', found '",
                kv, "'");
      const std::string key = kv.substr(0, eq), val = kv.substr(eq + 1);
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        throw Error("degradation '" + spec + "': stage " + kind + " takes " + list + "; found unknown key '" + key +
                    "'");
      }
      if (key == "sigma")
        st.sigma = parse_range(spec, key, val, 0, 255, false), has_sigma = true;
      else if (key == "len")
        st.len = parse_range(spec, key, val, 1, 101, true), has_len = true;
      else if (key == "r")
        st.r = parse_range(spec, key, val, 0, 50, false), has_r = true;
      else if (key == "grid")
        st.grid = static_cast<int>(parse_range(spec, key, val, 2, 16, true).lo);
      else if (key == "clip")
        st.clip = parse_range(spec, key, val, 0, 1, true).lo == 1;
      else if (key == "pattern") {
        TLC_CHECK(val == "gradient" || val == "blocks", Error, "degradation '", spec,
                  "': expected pattern=gradient or pattern=blocks, found '", val, "'");
        st.pattern = val == "gradient" ? Pattern::Gradient : Pattern::Blocks;
      } else {  // type
        TLC_CHECK(val == "motion" || val == "defocus", Error, "degradation '", spec,
                  "': expected type=motion or type=defocus, found '", val, "'");
        st.blur = val == "motion" ? Kind::Motion : Kind::Defocus;
      }
    }
    const bool noise = st.kind == Kind::Noise || st.kind == Kind::NoiseMap;
    const Kind family = st.kind == Kind::BlurMap ? st.blur : st.kind;
    TLC_CHECK(!noise || has_sigma, Error, "degradation '", spec, "': stage ", kind, " needs sigma=..., found '", part,
              "'");
    TLC_CHECK(noise || family != Kind::Motion || has_len, Error, "degradation '", spec, "': stage ", kind,
              " needs len=..., found '", part, "'");
    TLC_CHECK(noise || family != Kind::Defocus || has_r, Error, "degradation '", spec, "': stage ", kind,
              " needs r=..., found '", part, "'");
    return st;
  }

  // The map weight in [0,1] at a full-image pixel for a gradient along a random direction.
  struct Gradient {
    double dx = 1, dy = 0, pmin = 0, pmax = 1;
    explicit Gradient(Rng& rng) {
      const double a = rng.uniform(0.0, 6.283185307179586476925);
      dx = std::cos(a), dy = std::sin(a);
      pmin = std::min(0.0, dx) + std::min(0.0, dy);  // over the unit square's corners
      pmax = std::max(0.0, dx) + std::max(0.0, dy);
    }
    double at(index_t y, index_t x, index_t H, index_t W) const {
      const double p = dx * (double(x) + 0.5) / double(W) + dy * (double(y) + 0.5) / double(H);
      return (p - pmin) / (pmax - pmin);
    }
  };

  static void add_noise(TensorF& x, const Stage& st, Rng& rng, const Frame& fr, index_t planes, index_t H, index_t W) {
    const std::uint64_t seed = rng.next_u64();
    // per-pixel sigma (in /255 units) over the full image
    std::vector<double> level;
    std::function<double(index_t, index_t)> sigma_at;
    if (st.kind == Kind::Noise) {
      const double s = st.sigma.draw(rng);
      sigma_at = [s](index_t, index_t) { return s; };
    } else if (st.pattern == Pattern::Gradient) {
      const Gradient g(rng);
      sigma_at = [g, st, fr](index_t y, index_t x) {
        return st.sigma.lo + (st.sigma.hi - st.sigma.lo) * g.at(y, x, fr.full_h, fr.full_w);
      };
    } else {
      for (int i = 0; i < st.grid * st.grid; ++i) level.push_back(st.sigma.draw(rng));
      sigma_at = [&level, st, fr](index_t y, index_t x) {
        const auto ay = detail::axis_weight(y, fr.full_h, st.grid), ax = detail::axis_weight(x, fr.full_w, st.grid);
        auto v = [&](index_t i, index_t j) { return level[static_cast<std::size_t>(i * st.grid + j)]; };
        return (1 - ay.f) * ((1 - ax.f) * v(ay.i0, ax.i0) + ax.f * v(ay.i0, ax.i1)) +
               ay.f * ((1 - ax.f) * v(ay.i1, ax.i0) + ax.f * v(ay.i1, ax.i1));
      };
    }
    float* p = x.data();
    const auto full = static_cast<std::uint64_t>(fr.full_h) * static_cast<std::uint64_t>(fr.full_w);
    for (index_t y = 0; y < H; ++y)
      for (index_t xx = 0; xx < W; ++xx) {
        const index_t fy = fr.top + y, fx = fr.left + xx;
        const double s = sigma_at(fy, fx) / 255.0;
        for (index_t c = 0; c < planes; ++c) {
          const std::uint64_t counter = c * full + static_cast<std::uint64_t>(fy * fr.full_w + fx);
          float& v = p[(c * H + y) * W + xx];
          v = static_cast<float>(v + s * detail::hashed_normal(seed, counter));
          if (st.clip) v = std::min(std::max(v, 0.0f), 1.0f);
        }
      }
  }

  static TensorF blur(const TensorF& x, const Stage& st, Rng& rng, const Frame& fr, index_t planes, index_t H,
                      index_t W) {
    TensorF out = TensorF::zeros(x.shape());
    const index_t plane = H * W;
    auto accumulate = [&](const Kernel& k, const std::vector<double>* weight) {
      std::vector<float> tmp(static_cast<std::size_t>(plane));
      for (index_t c = 0; c < planes; ++c) {
        detail::correlate_plane(x.data() + c * plane, tmp.data(), H, W, k);
        float* o = out.data() + c * plane;
        for (index_t i = 0; i < plane; ++i) o[i] += weight ? static_cast<float>((*weight)[i] * tmp[i]) : tmp[i];
      }
    };
    if (st.kind != Kind::BlurMap) {
      accumulate(draw_kernel(st.kind, st.kind == Kind::Motion ? st.len : st.r, rng), nullptr);
      return out;
    }
    const detail::Range& range = st.blur == Kind::Motion ? st.len : st.r;
    // anchors: two kernels (range ends) blended along a gradient, or a grid of kernels blended bilinearly
    std::vector<Kernel> kernels;
    std::vector<std::vector<double>> weights;
    if (st.pattern == Pattern::Gradient) {
      const Gradient g(rng);
      kernels.push_back(draw_kernel(st.blur, detail::Range{range.lo, range.lo}, rng));
      kernels.push_back(draw_kernel(st.blur, detail::Range{range.hi, range.hi}, rng));
      weights.assign(2, std::vector<double>(static_cast<std::size_t>(plane)));
      for (index_t y = 0; y < H; ++y)
        for (index_t xx = 0; xx < W; ++xx) {
          const double t = g.at(fr.top + y, fr.left + xx, fr.full_h, fr.full_w);
          weights[0][y * W + xx] = 1 - t;
          weights[1][y * W + xx] = t;
        }
    } else {
      const int g = st.grid;
      for (int i = 0; i < g * g; ++i) kernels.push_back(draw_kernel(st.blur, range, rng));
      weights.assign(kernels.size(), std::vector<double>(static_cast<std::size_t>(plane), 0.0));
      for (index_t y = 0; y < H; ++y) {
        const auto ay = detail::axis_weight(fr.top + y, fr.full_h, g);
        for (index_t xx = 0; xx < W; ++xx) {
          const auto ax = detail::axis_weight(fr.left + xx, fr.full_w, g);
          const index_t p = y * W + xx;
          weights[ay.i0 * g + ax.i0][p] += (1 - ay.f) * (1 - ax.f);
          weights[ay.i0 * g + ax.i1][p] += (1 - ay.f) * ax.f;
          weights[ay.i1 * g + ax.i0][p] += ay.f * (1 - ax.f);
          weights[ay.i1 * g + ax.i1][p] += ay.f * ax.f;
        }
      }
    }
    for (std::size_t a = 0; a < kernels.size(); ++a)
      if (std::any_of(weights[a].begin(), weights[a].end(),
                      [](double v) { return v != 0; }))  // a crop sees few anchors
        accumulate(kernels[a], &weights[a]);
    return out;
  }

  std::string spec_;
  std::vector<Stage> stages_;
};

}  // namespace tlc::data
