// Image I/O: round trips (8/16-bit PNG, gray, RGBA, JPEG), quantisation, hostile files.
#include <unistd.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "test_util.hpp"
#include "tlc/data/image.hpp"

using namespace tlc;
using data::Image;

namespace {

const std::string kImages = std::string(TLC_SOURCE_DIR) + "/tests/data/images/";

// One folder per process: CTest runs test cases in parallel, and one of them checks that no
// temporary file is left in its folder.
std::string tmp_dir() {
  const std::string d = std::string(TLC_BINARY_DIR) + "/test_tmp/image/" + std::to_string(::getpid());
  std::filesystem::create_directories(d);
  return d + "/";
}

// Values on the 1/levels grid so that a lossless round trip is exact.
TensorF grid_tensor(const Shape& s, std::uint64_t seed, float levels) {
  Rng rng(seed);
  TensorF t = TensorF::empty(s);
  for (index_t i = 0; i < t.numel(); ++i)
    t.data()[i] = static_cast<float>(rng.below(std::uint64_t(levels) + 1)) / levels;
  return t;
}

std::string error_of(const std::string& path, const data::ImageReadOptions& opt = {}) {
  try {
    data::read_image(path, opt);
  } catch (const IoError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("quantize_unit clamps and rounds half to even like numpy") {
  CHECK(data::quantize_unit(-0.5f, 255.0f) == 0.0f);
  CHECK(data::quantize_unit(1.5f, 255.0f) == 255.0f);
  CHECK(data::quantize_unit(std::nanf(""), 255.0f) == 0.0f);
  CHECK(data::quantize_unit(0.5, 255.0) == 128.0);        // 127.5 -> 128 (even)
  CHECK(data::quantize_unit(2.5 / 255.0, 255.0) == 2.0);  // 2.5 -> 2 (even), 2.5/255*255 is exactly 2.5 in double
  CHECK(data::quantize_unit(3.5 / 255.0, 255.0) == 4.0);
  for (int v = 0; v < 256; ++v) CHECK(data::quantize_unit(static_cast<float>(v) / 255.0f, 255.0f) == float(v));
}

TEST_CASE("read_image decodes a known PNG exactly") {
  Image im = data::read_image(kImages + "valid_8x6.png");
  REQUIRE(im.rgb.shape() == (Shape{1, 3, 6, 8}));
  CHECK(im.bit_depth == 8);
  CHECK(im.source_channels == 3);
  CHECK_FALSE(im.has_alpha());
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x)
      for (int c = 0; c < 3; ++c) CHECK(im.rgb.at(0, c, y, x) == float((x * 30 + y * 7 + c * 50) % 256) / 255.0f);
}

TEST_CASE("8-bit RGB PNG round trip is exact") {
  Image im = Image::from_tensor(grid_tensor(Shape{1, 3, 7, 5}, 1, 255.0f));
  const std::string path = tmp_dir() + "rgb8.png";
  data::write_image(path, im);
  Image back = data::read_image(path);
  CHECK(back.bit_depth == 8);
  CHECK(back.source_channels == 3);
  CHECK(test::max_abs_diff(back.rgb, im.rgb) == 0.0);
}

TEST_CASE("16-bit PNG round trip (own encoder) is exact, with gray and alpha") {
  SECTION("RGB") {
    Image im = Image::from_tensor(grid_tensor(Shape{1, 3, 9, 11}, 2, 65535.0f));
    im.bit_depth = 16;
    const std::string path = tmp_dir() + "rgb16.png";
    data::write_image(path, im);
    Image back = data::read_image(path);
    CHECK(back.bit_depth == 16);
    CHECK(back.source_channels == 3);
    CHECK(test::max_abs_diff(back.rgb, im.rgb) == 0.0);
  }
  SECTION("gray + alpha, large enough for several stored deflate blocks") {
    TensorF g = grid_tensor(Shape{1, 1, 190, 200}, 3, 65535.0f);  // 190 rows x 401 bytes > 65535
    Image im;
    im.rgb = TensorF::empty(Shape{1, 3, 190, 200});
    for (int c = 0; c < 3; ++c) std::copy(g.data(), g.data() + g.numel(), im.rgb.data() + c * g.numel());
    im.alpha = grid_tensor(Shape{1, 1, 190, 200}, 4, 65535.0f);
    im.bit_depth = 16;
    im.source_channels = 2;
    const std::string path = tmp_dir() + "ga16.png";
    data::write_image(path, im);
    Image back = data::read_image(path);
    CHECK(back.bit_depth == 16);
    CHECK(back.source_channels == 2);
    REQUIRE(back.has_alpha());
    CHECK(test::max_abs_diff(back.rgb, im.rgb) == 0.0);
    CHECK(test::max_abs_diff(back.alpha, im.alpha) == 0.0);
  }
}

TEST_CASE("8-bit gray and RGBA keep their channel layout through a round trip") {
  Image gray = data::read_image(kImages + "valid_8x6.png");
  gray.source_channels = 1;  // written as gray: the channel mean
  const std::string gpath = tmp_dir() + "gray8.png";
  data::write_image(gpath, gray);
  Image g = data::read_image(gpath);
  CHECK(g.source_channels == 1);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x) {
      const double mean = (gray.rgb.at(0, 0, y, x) + double(gray.rgb.at(0, 1, y, x)) + gray.rgb.at(0, 2, y, x)) / 3;
      for (int c = 0; c < 3; ++c) CHECK(g.rgb.at(0, c, y, x) == float(std::nearbyint(mean * 255) / 255.0f));
    }

  Image rgba = Image::from_tensor(grid_tensor(Shape{1, 3, 4, 6}, 5, 255.0f));
  rgba.alpha = grid_tensor(Shape{1, 1, 4, 6}, 6, 255.0f);
  rgba.source_channels = 4;
  const std::string apath = tmp_dir() + "rgba8.png";
  data::write_image(apath, rgba);
  Image a = data::read_image(apath);
  CHECK(a.source_channels == 4);
  REQUIRE(a.has_alpha());
  CHECK(test::max_abs_diff(a.rgb, rgba.rgb) == 0.0);
  CHECK(test::max_abs_diff(a.alpha, rgba.alpha) == 0.0);
}

TEST_CASE("JPEG write and read back stay close") {
  TensorF t = TensorF::empty(Shape{1, 3, 32, 32});
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) t.at(0, c, y, x) = 0.2f + 0.6f * float(x + y + 8 * c) / 80.0f;  // smooth ramp
  const std::string path = tmp_dir() + "ramp.jpg";
  data::write_image(path, t, {95});
  Image back = data::read_image(path);
  CHECK(back.source_channels == 3);
  CHECK(test::max_abs_diff(back.rgb, t) < 0.04);
}

TEST_CASE("write_image refuses unknown extensions and bad shapes, and never leaves a partial file") {
  TensorF t = TensorF::zeros(Shape{1, 3, 4, 4});
  const std::string dir = tmp_dir();
  CHECK_THROWS_AS(data::write_image(dir + "x.gif", t), IoError);
  CHECK_THROWS_AS(data::write_image(dir + "x.png", TensorF::zeros(Shape{1, 2, 4, 4})), ShapeError);
  CHECK_THROWS_AS(data::write_image(dir + "missing_dir/x.png", t), IoError);
  for (const auto& e : std::filesystem::directory_iterator(dir))
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
}

TEST_CASE("hostile image files give an IoError naming the file and the reason") {
  const std::string empty = error_of(kImages + "empty.png");
  CHECK_THAT(empty, Catch::Contains("empty.png") && Catch::Contains("empty"));
  const std::string trunc = error_of(kImages + "truncated.png");
  CHECK_THAT(trunc, Catch::Contains("truncated.png") && Catch::Contains("cannot decode"));
  const std::string garbage = error_of(kImages + "garbage.png");
  CHECK_THAT(garbage, Catch::Contains("garbage.png") && Catch::Contains("unrecognised format"));
  const std::string jpeg = error_of(kImages + "garbage_after_magic.jpg");
  CHECK_THAT(jpeg, Catch::Contains("garbage_after_magic.jpg") && Catch::Contains("jpeg"));
  CHECK_THAT(error_of(kImages + "does_not_exist.png"), Catch::Contains("does_not_exist.png"));
  CHECK_THAT(error_of(kImages), Catch::Contains("regular file"));
}

TEST_CASE("a PNG header claiming 100000x100000 pixels is refused before decoding") {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = error_of(kImages + "bomb_100000x100000.png");
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  INFO(e);
  CHECK_THAT(e, Catch::Contains("bomb_100000x100000.png"));
  CHECK(ms < 1000.0);  // a decode attempt would allocate 30 GB; refusal is instant
  // 144 M gray pixels pass stb's own header checks; our default 100 M limit refuses them
  const std::string gray = error_of(kImages + "bomb_12000x12000_gray.png");
  CHECK_THAT(gray, Catch::Contains("12000x12000 = 144000000 pixels") && Catch::Contains("refused before decoding"));
  // the limit is configurable, checked from the header of an image stb would happily decode
  data::ImageReadOptions small;
  small.max_pixels = 47;
  const std::string limit = error_of(kImages + "valid_8x6.png", small);
  CHECK_THAT(limit, Catch::Contains("8x6 = 48 pixels") && Catch::Contains("refused before decoding"));
}

TEST_CASE("every truncation and many byte flips of valid PNG/JPEG files give an IoError or an image, never a crash") {
  const std::string dir = tmp_dir();
  data::write_image(dir + "fuzz.jpg", grid_tensor(Shape{1, 3, 16, 16}, 7, 255.0f));
  Rng rng(13);
  for (const std::string& src : {kImages + "valid_8x6.png", dir + "fuzz.jpg"}) {
    const std::string bytes = io::read_file(src, 1 << 20);
    const std::string ext = src.substr(src.size() - 4);
    auto survive = [&](const std::string& mutated) {
      try {
        const Image im = data::decode_image(mutated, "mutant" + ext);
        CHECK(im.rgb.numel() == 3 * im.height() * im.width());
      } catch (const IoError& e) {
        CHECK_THAT(e.what(), Catch::Contains("mutant"));
      }
    };
    for (std::size_t n = 0; n < bytes.size(); ++n) survive(bytes.substr(0, n));
    for (int i = 0; i < 200; ++i) {
      std::string m = bytes;
      m[rng.below(m.size())] = static_cast<char>(rng.below(256));
      survive(m);
    }
  }
}
