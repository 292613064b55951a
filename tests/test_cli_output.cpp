// What the CLI prints and draws: sizes as W×H, round tick values and an SVG legend clear of the
// curves, and panel labels drawn with the built-in bitmap font.
#include <catch2/catch.hpp>

#include <regex>

#include "cli/bitmap_font.hpp"
#include "cli/svg_plot.hpp"
#include "tlc/models/size.hpp"

using namespace tlc;

TEST_CASE("sizes are typed and printed width x height; the model-file field keeps height first") {
  const models::ImageSize s = models::parse_size("1280x720", "--size");
  CHECK(s.w == 1280);
  CHECK(s.h == 720);
  CHECK(models::size_text(s.h, s.w) == "1280x720");
  CHECK(models::parse_size("64").h == 64);
  const models::ImageSize f = models::parse_hw("480x640", "tlc.train_size");
  CHECK((f.h == 480 && f.w == 640));
  CHECK(models::hw_text(480, 640) == "480x640");
  for (const char* bad : {"0x5", "x", "12x", "-3", "1.5x2", "1234567"})
    CHECK_THROWS_WITH(models::parse_size(bad, "--size"), Catch::Contains("--size"));
}

TEST_CASE("ticks fall on round values that cover the data") {
  const cli::Ticks t = cli::nice_ticks(28.437, 29.254);
  CHECK(t.step == Approx(0.2));
  CHECK(t.lo == Approx(28.4));
  CHECK(t.hi == Approx(29.4));
  const cli::Ticks x = cli::nice_ticks(1, 4);
  CHECK(x.step == Approx(1.0));
  CHECK(cli::tick_text(28.6, 0.2) == "28.6");
  CHECK(cli::tick_text(3, 1) == "3");
}

TEST_CASE("the SVG legend has a swatch per series and sits right of the plot area") {
  const std::string svg = cli::svg_line_plot({{"TLC", {1, 2, 4}, {29.0, 29.3, 29.1}}, {"global", {1, 4}, {28.7, 28.7}}},
                                             "t", "x", "y");
  // Plot area: x in [70, 570] for a 720-wide figure with a 150-pixel legend column.
  std::smatch m;
  std::string rest = svg;
  int entries = 0;
  const std::regex legend("<text x=\"([0-9.]+)\" y=\"[0-9.]+\">(TLC|global)</text>");
  while (std::regex_search(rest, m, legend)) {
    CHECK(std::stod(m[1]) > 570);
    ++entries;
    rest = m.suffix();
  }
  CHECK(entries == 2);
  CHECK(svg.find("<line x1=\"586.00\"") != std::string::npos);  // a swatch beside each name
  CHECK(svg.find(">28.6<") != std::string::npos);  // a round tick value
}

TEST_CASE("panel labels: white 5x7 glyphs on a black strip, unknown characters blank") {
  const TensorF strip = cli::text_strip("I", 20, 1);
  REQUIRE(strip.shape() == Shape{1, 3, 11, 20});
  // 'I' is a bar of three at the top and bottom and one pixel in the middle of the glyph (x 2..6).
  const float* p = strip.data();
  auto at = [&](index_t y, index_t x) { return p[y * 20 + x]; };
  CHECK(at(2, 3) == 1.0f);
  CHECK(at(2, 4) == 1.0f);
  CHECK(at(2, 2) == 0.0f);
  CHECK(at(5, 4) == 1.0f);
  CHECK(at(5, 3) == 0.0f);
  double sum = 0;
  for (index_t i = 0; i < strip.numel(); ++i) sum += strip.data()[i];
  CHECK(sum == 3 * 11.0);  // 11 lit pixels per channel
  const TensorF blank = cli::text_strip("~", 20, 1);
  double blank_sum = 0;
  for (index_t i = 0; i < blank.numel(); ++i) blank_sum += blank.data()[i];
  CHECK(blank_sum == 0.0);
}
