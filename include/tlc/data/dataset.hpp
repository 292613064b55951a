#pragma once
// Training data: folders of images decoded once into memory, random crops with the 8 dihedral
// augmentations of the official recipes (flips and transposes), and a prefetching Loader whose batches depend only on
// (seed, iteration) - never on the number of worker threads.
//
//   PairedFolder(dir)              dir/input/NAME and dir/target/NAME (same file names, same sizes)
//   CleanFolder(dir, "motion:...") clean images; inputs degraded on the fly (degrade.hpp)
//   Subset(ds, indices) + holdout_every(n, k)   a deterministic held-out split
//
// Sample s of a run (s = iteration * batch + slot) uses dataset index perm_epoch[s mod N], with
// epoch = s / N and a permutation drawn from (seed, epoch); all its randomness (crop position,
// degradation, flips) comes from an Rng seeded by (seed, s).
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tlc/core/thread_pool.hpp"
#include "tlc/data/degrade.hpp"
#include "tlc/data/image.hpp"

namespace tlc::data {

// One training or validation pair, each [1,3,h,w].
struct Pair {
  TensorF input, target;
};

struct FolderOptions {
  bool skip_bad = false;  // a file that cannot be read: skipped with a warning instead of an IoError
  ImageReadOptions read;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::size_t size() const = 0;
  virtual const std::string& name(std::size_t i) const = 0;
  // The full-size pair i (on-the-fly degradations drawn from rng).
  virtual Pair full(std::size_t i, Rng& rng) const = 0;
  // The clean full-size image i, without degrading anything.
  virtual const TensorF& target(std::size_t i) const = 0;
  // A patch x patch crop of pair i at a uniform random position, before augmentation. Images
  // smaller than the patch are reflect-padded at the bottom/right first, as the official training
  // pipeline pads small images.
  virtual Pair crop(std::size_t i, index_t patch, Rng& rng) const = 0;
};

namespace detail {

inline bool is_image_name(const std::string& name) {
  const std::string e = lower_extension(name);
  return !name.empty() && name[0] != '.' && (e == "png" || e == "jpg" || e == "jpeg" || e == "bmp" || e == "tga");
}

// Sorted image file names in dir (not recursive).
inline std::vector<std::string> list_images(const std::string& dir, const char* who) {
  std::error_code ec;
  TLC_CHECK(std::filesystem::is_directory(dir, ec), IoError, who, ": expected a directory at '", dir, "', found none");
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file() && is_image_name(e.path().filename().string()))
      names.push_back(e.path().filename().string());
  TLC_CHECK(!ec, IoError, who, ": cannot list '", dir, "': ", ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

// Decodes files in parallel. A failure throws its IoError (naming the file) unless skip_bad, in
// which case the file is reported on stderr and its slot stays empty.
inline std::vector<std::optional<Image>> load_all(const std::vector<std::string>& paths, const FolderOptions& opt,
                                                  std::vector<std::string>& skipped) {
  std::vector<std::optional<Image>> images(paths.size());
  std::vector<std::string> errors(paths.size());
  parallel_for(0, static_cast<index_t>(paths.size()), 1, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      try {
        images[i] = read_image(paths[i], opt.read);
      } catch (const IoError& e) {
        errors[i] = e.what();
      }
    }
  });
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (errors[i].empty()) continue;
    if (!opt.skip_bad) throw IoError(errors[i]);
    std::cerr << "tlc: warning: skipping an unreadable image: " << errors[i] << "\n";
    skipped.push_back(paths[i]);
  }
  return images;
}

inline index_t reflect101(index_t i, index_t n) {  // cv2.BORDER_REFLECT_101, any distance
  if (n == 1) return 0;
  const index_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// Rows [top, top+h) x cols [left, left+w) of a [1,C,H,W] image, reflect-101 outside it.
inline TensorF extract(const TensorF& img, index_t top, index_t left, index_t h, index_t w) {
  const index_t C = img.size(1), H = img.size(2), W = img.size(3);
  TensorF out = TensorF::empty(Shape{1, C, h, w});
  float* o = out.data();
  for (index_t c = 0; c < C; ++c)
    for (index_t y = 0; y < h; ++y) {
      const float* row = img.data() + (c * H + reflect101(top + y, H)) * W;
      for (index_t x = 0; x < w; ++x) *o++ = row[reflect101(left + x, W)];
    }
  return out;
}

struct CropPos {
  index_t H, W, top, left;  // padded size (>= patch) and the crop's corner in it
};
inline CropPos draw_crop(index_t h, index_t w, index_t patch, Rng& rng) {
  CropPos p{std::max(h, patch), std::max(w, patch), 0, 0};
  p.top = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(p.H - patch + 1)));
  p.left = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(p.W - patch + 1)));
  return p;
}

}  // namespace detail

// The 8 dihedral variants of a [N,C,P,P] tensor: horizontal flip, vertical flip, then transpose.
inline TensorF dihedral(const TensorF& x, bool hflip, bool vflip, bool transpose) {
  const Shape s = x.shape().as4d();
  const index_t planes = s[0] * s[1], H = s[2], W = s[3];
  TLC_CHECK(!transpose || H == W, ShapeError, "dihedral: expected a square image to transpose, found ", H, "x", W);
  TensorF out = TensorF::empty(x.shape());
  for (index_t p = 0; p < planes; ++p) {
    const float* in = x.data() + p * H * W;
    float* o = out.data() + p * H * W;
    for (index_t y = 0; y < H; ++y)
      for (index_t xx = 0; xx < W; ++xx) {
        const index_t sy = vflip ? H - 1 - y : y, sx = hflip ? W - 1 - xx : xx;
        const float v = in[sy * W + sx];
        if (transpose)
          o[xx * H + y] = v;
        else
          o[y * W + xx] = v;
      }
  }
  return out;
}

class PairedFolder : public Dataset {
 public:
  explicit PairedFolder(const std::string& dir, const FolderOptions& opt = {}) {
    const auto in = detail::list_images(dir + "/input", "PairedFolder");
    const auto tg = detail::list_images(dir + "/target", "PairedFolder");
    std::vector<std::string> no_target, no_input;
    std::set_difference(in.begin(), in.end(), tg.begin(), tg.end(), std::back_inserter(no_target));
    std::set_difference(tg.begin(), tg.end(), in.begin(), in.end(), std::back_inserter(no_input));
    TLC_CHECK(no_target.empty() && no_input.empty(), IoError, "PairedFolder '", dir,
              "': expected the same file names in input/ and target/, found ", no_target.size(),
              " input file(s) without a target", list(no_target), " and ", no_input.size(),
              " target file(s) without an input", list(no_input));
    std::vector<std::string> paths;
    for (const auto& n : in) paths.push_back(dir + "/input/" + n), paths.push_back(dir + "/target/" + n);
    auto images = detail::load_all(paths, opt, skipped_);
    for (std::size_t i = 0; i < in.size(); ++i) {
      auto& a = images[2 * i];
      auto& b = images[2 * i + 1];
      if (!a || !b) continue;
      if (a->rgb.shape() != b->rgb.shape()) {
        const std::string msg = tlc::detail::concat("PairedFolder '", dir, "': expected input/", in[i], " and target/",
                                                    in[i], " of the same size, found ", a->width(), "x", a->height(),
                                                    " and ", b->width(), "x", b->height());
        if (!opt.skip_bad) throw IoError(msg);
        std::cerr << "tlc: warning: skipping a pair: " << msg << "\n";
        skipped_.push_back(dir + "/input/" + in[i]);
        continue;
      }
      names_.push_back(in[i]);
      pairs_.push_back({a->rgb, b->rgb});
    }
    TLC_CHECK(!pairs_.empty(), IoError, "PairedFolder '", dir, "': expected at least one usable pair, found none");
  }

  std::size_t size() const override { return pairs_.size(); }
  const std::string& name(std::size_t i) const override { return names_.at(i); }
  Pair full(std::size_t i, Rng&) const override { return pairs_.at(i); }
  const TensorF& target(std::size_t i) const override { return pairs_.at(i).target; }
  Pair crop(std::size_t i, index_t patch, Rng& rng) const override {
    const Pair& p = pairs_.at(i);
    const auto c = detail::draw_crop(p.target.size(2), p.target.size(3), patch, rng);
    return {detail::extract(p.input, c.top, c.left, patch, patch),
            detail::extract(p.target, c.top, c.left, patch, patch)};
  }
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  static std::string list(const std::vector<std::string>& names) {
    if (names.empty()) return "";
    std::string s = " (";
    for (std::size_t i = 0; i < names.size() && i < 5; ++i) s += (i ? ", " : "") + names[i];
    return s + (names.size() > 5 ? ", ...)" : ")");
  }
  std::vector<std::string> names_, skipped_;
  std::vector<Pair> pairs_;
};

class CleanFolder : public Dataset {
 public:
  CleanFolder(const std::string& dir, const std::string& degradation, const FolderOptions& opt = {})
      : degradation_(Degradation::parse(degradation)) {
    const auto names = detail::list_images(dir, "CleanFolder");
    std::vector<std::string> paths;
    for (const auto& n : names) paths.push_back(dir + "/" + n);
    auto images = detail::load_all(paths, opt, skipped_);
    for (std::size_t i = 0; i < names.size(); ++i)
      if (images[i]) names_.push_back(names[i]), clean_.push_back(images[i]->rgb);
    TLC_CHECK(!clean_.empty(), IoError, "CleanFolder '", dir, "': expected at least one readable image, found none");
  }

  std::size_t size() const override { return clean_.size(); }
  const std::string& name(std::size_t i) const override { return names_.at(i); }
  Pair full(std::size_t i, Rng& rng) const override { return {degradation_.apply(clean_.at(i), rng), clean_.at(i)}; }
  const TensorF& target(std::size_t i) const override { return clean_.at(i); }
  // Only the crop plus margin() pixels of context are degraded, placed in the full (padded) image's
  // frame: the patch gets exactly the pixels a full-image degradation would give it.
  Pair crop(std::size_t i, index_t patch, Rng& rng) const override {
    const TensorF& img = clean_.at(i);
    const auto c = detail::draw_crop(img.size(2), img.size(3), patch, rng);
    const index_t m = degradation_.margin();
    const index_t top = std::max<index_t>(0, c.top - m), left = std::max<index_t>(0, c.left - m);
    const index_t bottom = std::min(c.H, c.top + patch + m), right = std::min(c.W, c.left + patch + m);
    const TensorF region = detail::extract(img, top, left, bottom - top, right - left);
    const TensorF degraded = degradation_.apply(region, rng, Frame{c.H, c.W, top, left});
    return {detail::extract(degraded, c.top - top, c.left - left, patch, patch),
            detail::extract(img, c.top, c.left, patch, patch)};
  }
  const Degradation& degradation() const { return degradation_; }
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  Degradation degradation_;
  std::vector<std::string> names_, skipped_;
  std::vector<TensorF> clean_;
};

// A view of some items of another dataset.
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> base, std::vector<std::size_t> indices)
      : base_(std::move(base)), indices_(std::move(indices)) {
    for (std::size_t i : indices_)
      TLC_CHECK(i < base_->size(), Error, "Subset: expected indices below ", base_->size(), ", found ", i);
  }
  std::size_t size() const override { return indices_.size(); }
  const std::string& name(std::size_t i) const override { return base_->name(indices_.at(i)); }
  Pair full(std::size_t i, Rng& rng) const override { return base_->full(indices_.at(i), rng); }
  const TensorF& target(std::size_t i) const override { return base_->target(indices_.at(i)); }
  Pair crop(std::size_t i, index_t patch, Rng& rng) const override { return base_->crop(indices_.at(i), patch, rng); }

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<std::size_t> indices_;
};

// Deterministic held-out split of n items (in name order): every k-th item (k-1, 2k-1, ...) is held out.
struct Split {
  std::vector<std::size_t> train, val;
};
inline Split holdout_every(std::size_t n, std::size_t k) {
  TLC_CHECK(k >= 2, Error, "holdout_every: expected k >= 2, found ", k);
  Split s;
  for (std::size_t i = 0; i < n; ++i) (i % k == k - 1 ? s.val : s.train).push_back(i);
  return s;
}

struct LoaderOptions {
  index_t batch_size = 8;  // the global batch: slots 0 .. batch_size-1 of every iteration
  // The slots this loader builds: [shard_begin, shard_begin + shard_size); shard_size 0 means the
  // whole batch. Rank r of N data-parallel ranks takes slots [r B/N, (r+1) B/N), the very samples
  // one process with batch B puts there.
  index_t shard_begin = 0, shard_size = 0;
  index_t patch = 64;
  bool flip = true;  // horizontal flip, p = 0.5 (use_flip)
  bool rot = true;   // vertical flip and transpose, p = 0.5 each (use_rot)
  std::uint64_t seed = 42;
  int workers = 2;   // 0: batches are built by next() itself
  int prefetch = 4;  // batches built ahead of the consumer
};

struct Batch {
  TensorF input, target;  // [shard_size,3,P,P]
  std::uint64_t iteration = 0;
  std::vector<std::size_t> indices;  // dataset index of each slot
};

class Loader {
 public:
  Loader(std::shared_ptr<const Dataset> ds, LoaderOptions opt, std::uint64_t first_iteration = 0)
      : ds_(std::move(ds)), opt_(opt), next_(first_iteration), claim_(first_iteration) {
    TLC_CHECK(ds_ && ds_->size() > 0, Error, "Loader: expected a non-empty dataset");
    TLC_CHECK(opt_.batch_size >= 1 && opt_.patch >= 1 && opt_.workers >= 0 && opt_.prefetch >= 1, Error,
              "Loader: expected batch_size, patch, prefetch >= 1 and workers >= 0, found ", opt_.batch_size, ", ",
              opt_.patch, ", ", opt_.prefetch, ", ", opt_.workers);
    if (opt_.shard_size == 0) opt_.shard_begin = 0, opt_.shard_size = opt_.batch_size;
    TLC_CHECK(opt_.shard_begin >= 0 && opt_.shard_size >= 1 && opt_.shard_begin + opt_.shard_size <= opt_.batch_size,
              Error, "Loader: expected a shard of slots inside [0, ", opt_.batch_size, "), found [", opt_.shard_begin,
              ", ", opt_.shard_begin + opt_.shard_size, ")");
    for (int w = 0; w < opt_.workers; ++w) threads_.emplace_back([this] { work(); });
  }
  ~Loader() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch in iteration order; rethrows an error raised while building it.
  Batch next() {
    if (threads_.empty()) return batch(next_++);
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return ready_.count(next_) > 0; });
    auto node = ready_.extract(next_++);
    cv_.notify_all();
    lock.unlock();
    if (node.mapped().error) std::rethrow_exception(node.mapped().error);
    return std::move(node.mapped().batch);
  }

  // This loader's slots of batch number `iteration`, a pure function of (dataset, options, iteration).
  Batch batch(std::uint64_t iteration) const {
    const index_t B = opt_.batch_size, S = opt_.shard_size, P = opt_.patch;
    Batch b;
    b.iteration = iteration;
    b.input = TensorF::empty(Shape{S, 3, P, P});
    b.target = TensorF::empty(Shape{S, 3, P, P});
    const index_t n = 3 * P * P;
    for (index_t j = 0; j < S; ++j) {
      const std::uint64_t s = iteration * static_cast<std::uint64_t>(B) + static_cast<std::uint64_t>(opt_.shard_begin + j);
      const std::size_t idx = index_of(s);
      Rng rng(detail::mix64(opt_.seed ^ detail::mix64(s + 0x51ED270B27F4A1ull)));
      Pair p = ds_->crop(idx, P, rng);
      const bool h = opt_.flip && rng.uniform() < 0.5;
      const bool v = opt_.rot && rng.uniform() < 0.5;
      const bool t = opt_.rot && rng.uniform() < 0.5;
      if (h || v || t) p = {dihedral(p.input, h, v, t), dihedral(p.target, h, v, t)};
      TLC_CHECK(p.input.size(1) == 3 && p.target.size(1) == 3, ShapeError, "Loader: expected 3-channel crops, found ",
                p.input.shape().str());
      std::copy(p.input.data(), p.input.data() + n, b.input.data() + j * n);
      std::copy(p.target.data(), p.target.data() + n, b.target.data() + j * n);
      b.indices.push_back(idx);
    }
    return b;
  }

  // Dataset index of sample s: each epoch visits every item once, in an order drawn from (seed, epoch).
  std::size_t index_of(std::uint64_t s) const {
    const std::uint64_t N = ds_->size(), epoch = s / N;
    std::vector<std::size_t> perm(N);
    for (std::size_t i = 0; i < N; ++i) perm[i] = i;
    Rng rng(detail::mix64(opt_.seed ^ detail::mix64(epoch + 0x2545F4914F6CDD1Dull)));
    for (std::size_t i = N - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
    return perm[s % N];
  }

  const LoaderOptions& options() const { return opt_; }

 private:
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };

  void work() {
    for (;;) {
      std::uint64_t it;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return stop_ || claim_ < next_ + static_cast<std::uint64_t>(opt_.prefetch); });
        if (stop_) return;
        it = claim_++;
      }
      Slot slot;
      try {
        slot.batch = batch(it);
      } catch (...) {
        slot.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ready_.emplace(it, std::move(slot));
      }
      cv_.notify_all();
    }
  }

  std::shared_ptr<const Dataset> ds_;
  LoaderOptions opt_;
  std::uint64_t next_, claim_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::uint64_t, Slot> ready_;
  bool stop_ = false;
};

}  // namespace tlc::data
