// Datasets and the loader: folder pairing errors, corrupt files, reflect padding, dihedral
// augmentations, epoch coverage, and identical batches whatever the worker count.
#include <filesystem>
#include <fstream>
#include <set>

#include "test_util.hpp"
#include "tlc/data/dataset.hpp"

using namespace tlc;
namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& name) {
  const std::string d = std::string(TLC_BINARY_DIR) + "/test_tmp/dataset/" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TensorF random_image(index_t h, index_t w, std::uint64_t seed) {
  TensorF t = test::random<float>(Shape{1, 3, h, w}, seed, 0.0, 1.0);
  for (index_t i = 0; i < t.numel(); ++i) t.data()[i] = std::nearbyint(t.data()[i] * 255) / 255;  // exact in PNG
  return t;
}

TensorF one_minus(const TensorF& t) {
  TensorF o = t.clone();
  for (index_t i = 0; i < o.numel(); ++i) o.data()[i] = 1.0f - o.data()[i];
  return o;
}

// A paired folder whose inputs are 1 - target: a pairing or augmentation mismatch is visible.
std::string make_paired(const std::string& name, int n) {
  const std::string d = fresh_dir(name);
  fs::create_directories(d + "/input");
  fs::create_directories(d + "/target");
  for (int i = 0; i < n; ++i) {
    const TensorF t = random_image(10 + 3 * i, 14 - i, 100 + i);  // some smaller than a 12 px patch
    const std::string file = "img" + std::to_string(i) + ".png";
    data::write_image(d + "/target/" + file, t);
    data::write_image(d + "/input/" + file, one_minus(t));
  }
  return d;
}

bool same(const data::Batch& a, const data::Batch& b) {
  return a.indices == b.indices && test::max_abs_diff(a.input, b.input) == 0.0 &&
         test::max_abs_diff(a.target, b.target) == 0.0;
}

}  // namespace

TEST_CASE("dihedral: hflip, vflip, transpose in that order give the 8 distinct variants") {
  const TensorF x = TensorF::from_vector(Shape{1, 1, 2, 2}, {1, 2, 3, 4});
  CHECK(data::dihedral(x, true, false, false).to_vector() == std::vector<float>{2, 1, 4, 3});
  CHECK(data::dihedral(x, false, true, false).to_vector() == std::vector<float>{3, 4, 1, 2});
  CHECK(data::dihedral(x, false, false, true).to_vector() == std::vector<float>{1, 3, 2, 4});
  // hflip then transpose: [[2,1],[4,3]] transposed
  CHECK(data::dihedral(x, true, false, true).to_vector() == std::vector<float>{2, 4, 1, 3});
  std::set<std::vector<float>> variants;
  for (int m = 0; m < 8; ++m) variants.insert(data::dihedral(x, m & 1, m & 2, m & 4).to_vector());
  CHECK(variants.size() == 8);
  CHECK_THROWS_AS(data::dihedral(TensorF::zeros(Shape{1, 1, 2, 3}), false, false, true), ShapeError);
}

TEST_CASE("crops smaller images with reflect-101 padding at the bottom/right") {
  CHECK(data::detail::reflect101(4, 4) == 2);
  CHECK(data::detail::reflect101(5, 4) == 1);
  CHECK(data::detail::reflect101(-1, 4) == 1);
  CHECK(data::detail::reflect101(9, 4) == 3);  // further than one image length
  CHECK(data::detail::reflect101(3, 1) == 0);
  const TensorF img = random_image(3, 5, 1);
  const TensorF c = data::detail::extract(img, 0, 0, 6, 6);
  CHECK(c.at(0, 1, 3, 4) == img.at(0, 1, 1, 4));
  CHECK(c.at(0, 2, 5, 5) == img.at(0, 2, 1, 3));
}

TEST_CASE("PairedFolder pairs by file name and reports mismatches and size differences") {
  const std::string d = make_paired("paired_ok", 4);
  data::PairedFolder ds(d);
  REQUIRE(ds.size() == 4);
  CHECK(ds.name(0) == "img0.png");
  Rng rng(0);
  const auto p = ds.full(2, rng);
  CHECK(test::max_abs_diff(p.input, one_minus(p.target)) < 1e-6);
  CHECK(test::max_abs_diff(ds.target(2), p.target) == 0);

  fs::remove(d + "/target/img1.png");
  data::write_image(d + "/target/extra.png", random_image(4, 4, 9));
  CHECK_THROWS_WITH(data::PairedFolder(d), Catch::Contains("1 input file(s) without a target (img1.png)") &&
                                               Catch::Contains("1 target file(s) without an input (extra.png)"));

  const std::string e = make_paired("paired_size", 2);
  data::write_image(e + "/target/img1.png", random_image(7, 7, 3));
  CHECK_THROWS_WITH(data::PairedFolder(e), Catch::Contains("img1.png") && Catch::Contains("same size"));
  data::FolderOptions skip;
  skip.skip_bad = true;
  CHECK(data::PairedFolder(e, skip).size() == 1);
  CHECK_THROWS_WITH(data::PairedFolder(e + "/nowhere"), Catch::Contains("expected a directory"));
}

TEST_CASE("a corrupt image is an IoError naming the file, or skipped with skip_bad") {
  const std::string d = fresh_dir("clean_corrupt");
  for (int i = 0; i < 3; ++i) data::write_image(d + "/ok" + std::to_string(i) + ".png", random_image(16, 16, i));
  { std::ofstream(d + "/broken.png") << "\x89PNG\r\n\x1a\n not really"; }
  { std::ofstream(d + "/notes.txt") << "ignored: not an image name"; }
  CHECK_THROWS_WITH(data::CleanFolder(d, "noise:sigma=10"), Catch::Contains("broken.png"));
  data::FolderOptions skip;
  skip.skip_bad = true;
  data::CleanFolder ds(d, "noise:sigma=10", skip);
  CHECK(ds.size() == 3);
  REQUIRE(ds.skipped().size() == 1);
  CHECK_THAT(ds.skipped()[0], Catch::EndsWith("broken.png"));
  CHECK_THROWS_WITH(data::CleanFolder(d, "noise:sigma=oops", skip), Catch::Contains("noise:sigma=oops"));
}

TEST_CASE("Loader: batches are identical for 0, 1 and 3 workers, and pairs stay aligned") {
  auto ds = std::make_shared<data::PairedFolder>(make_paired("paired_loader", 5));
  data::LoaderOptions opt;
  opt.batch_size = 3;
  opt.patch = 12;
  opt.seed = 7;
  std::vector<data::Batch> ref;
  for (int workers : {0, 1, 3}) {
    opt.workers = workers;
    data::Loader loader(ds, opt);
    for (int i = 0; i < 6; ++i) {
      data::Batch b = loader.next();
      CHECK(b.iteration == std::uint64_t(i));
      REQUIRE(b.input.shape() == (Shape{3, 3, 12, 12}));
      CHECK(test::max_abs_diff(b.input, one_minus(b.target)) < 1e-6);  // same crop and augmentation
      if (workers == 0)
        ref.push_back(b);
      else
        CHECK(same(b, ref[static_cast<std::size_t>(i)]));
    }
  }
  // resuming at an iteration gives that iteration's batch; another seed gives other batches
  opt.workers = 2;
  data::Loader resumed(ds, opt, 4);
  CHECK(same(resumed.next(), ref[4]));
  opt.seed = 8;
  CHECK_FALSE(same(data::Loader(ds, opt).next(), ref[0]));
}

TEST_CASE("Loader: shards of a batch are its slices, so N ranks draw what one process draws") {
  auto ds = std::make_shared<data::PairedFolder>(make_paired("paired_shard", 5));
  data::LoaderOptions opt;
  opt.batch_size = 6;
  opt.patch = 10;
  opt.seed = 11;
  opt.workers = 0;
  data::Loader whole(ds, opt, 3);
  const data::Batch full = whole.next();
  const index_t n = 3 * 10 * 10;
  for (index_t begin : {0, 2, 4}) {
    opt.shard_begin = begin;
    opt.shard_size = 2;
    opt.workers = 1;
    data::Loader shard(ds, opt, 3);
    const data::Batch part = shard.next();
    REQUIRE(part.input.shape() == (Shape{2, 3, 10, 10}));
    for (index_t i = 0; i < 2 * n; ++i) {
      REQUIRE(part.input.data()[i] == full.input.data()[begin * n + i]);
      REQUIRE(part.target.data()[i] == full.target.data()[begin * n + i]);
    }
    CHECK(part.indices == std::vector<std::size_t>(full.indices.begin() + begin, full.indices.begin() + begin + 2));
  }
  opt.shard_begin = 5;
  CHECK_THROWS_WITH(data::Loader(ds, opt), Catch::Contains("shard of slots inside [0, 6)"));
}

TEST_CASE("Loader: each epoch visits every item once; augmentations are all used") {
  auto ds = std::make_shared<data::PairedFolder>(make_paired("paired_epoch", 5));
  data::LoaderOptions opt;
  opt.batch_size = 1;
  opt.patch = 8;
  opt.workers = 0;
  data::Loader loader(ds, opt);
  std::vector<std::size_t> e0, e1;
  for (std::uint64_t s = 0; s < 5; ++s) e0.push_back(loader.index_of(s)), e1.push_back(loader.index_of(5 + s));
  CHECK(e0 != e1);  // a new order per epoch
  std::sort(e0.begin(), e0.end());
  std::sort(e1.begin(), e1.end());
  CHECK(e0 == std::vector<std::size_t>{0, 1, 2, 3, 4});
  CHECK(e1 == e0);
  // a crop of a single-image folder under all flips: the batch patches cover the 8 variants
  const std::string d = fresh_dir("one_image");
  const TensorF img = random_image(8, 8, 5);
  data::write_image(d + "/a.png", img);
  auto one = std::make_shared<data::CleanFolder>(d, "");
  data::Loader aug(one, opt);
  std::set<std::vector<float>> seen;
  for (int i = 0; i < 64; ++i) seen.insert(aug.next().target.to_vector());
  CHECK(seen.size() == 8);
  opt.flip = opt.rot = false;
  data::Loader plain(one, opt);
  CHECK(test::max_abs_diff(plain.next().target, img) == 0.0);
}

TEST_CASE("CleanFolder crops carry the degradation a full image would have at that place") {
  const std::string d = fresh_dir("clean_crop");
  const TensorF img = random_image(30, 26, 4);
  data::write_image(d + "/a.png", img);
  const std::string spec = "blur-map:type=motion,len=3-7,pattern=blocks,grid=2+noise-map:sigma=5-40";
  data::CleanFolder ds(d, spec);
  Rng r1(99), r2(99);
  const auto crop = ds.crop(0, 16, r1);
  const auto pos = data::detail::draw_crop(30, 26, 16, r2);  // same draws as crop(), then the degradation
  const TensorF whole = data::Degradation::parse(spec).apply(img, r2);
  CHECK(test::max_abs_diff(crop.input, data::detail::extract(whole, pos.top, pos.left, 16, 16)) == 0.0);
  CHECK(test::max_abs_diff(crop.target, data::detail::extract(img, pos.top, pos.left, 16, 16)) == 0.0);
}

TEST_CASE("holdout_every and Subset give a deterministic split; the shipped photos load") {
  const auto s = data::holdout_every(10, 4);
  CHECK(s.val == std::vector<std::size_t>{3, 7});
  CHECK(s.train.size() == 8);
  CHECK_THROWS_AS(data::holdout_every(10, 1), Error);

  auto photos = std::make_shared<data::CleanFolder>(std::string(TLC_SOURCE_DIR) + "/data/photos", "noise:sigma=15");
  REQUIRE(photos->size() == 20);
  const auto split = data::holdout_every(photos->size(), 5);
  auto val = std::make_shared<data::Subset>(photos, split.val);
  REQUIRE(val->size() == 4);
  CHECK(val->name(0) == photos->name(4));
  Rng rng(1);
  const auto p = val->full(1, rng);
  CHECK(p.input.size(2) == p.target.size(2));
  CHECK(test::max_abs_diff(p.input, p.target) > 0.1);
  CHECK(test::max_abs_diff(val->target(1), p.target) == 0);
  CHECK(test::max_abs_diff(val->target(1), photos->target(split.val[1])) == 0);
  CHECK_THROWS_AS(data::Subset(photos, {20}), Error);
}
