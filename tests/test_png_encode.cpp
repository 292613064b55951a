// The PNG encoder (data/png_encode.hpp) against an independent decoder (stb_image): every depth and
// channel count, sizes from one pixel up, several deflate bands, contents that exercise literals, long
// and distant matches and the stored fallback; and the Adler-32 it chains across bands.
#include "test_util.hpp"
#include "tlc/data/image.hpp"

using namespace tlc;

namespace {

std::vector<std::uint16_t> decode(const std::string& png, int depth, int& w, int& h, int& channels) {
  const auto* bytes = reinterpret_cast<const stbi_uc*>(png.data());
  const int len = static_cast<int>(png.size());
  std::vector<std::uint16_t> out;
  if (depth == 16) {
    stbi_us* p = stbi_load_16_from_memory(bytes, len, &w, &h, &channels, 0);
    REQUIRE(p != nullptr);
    out.assign(p, p + static_cast<std::size_t>(w) * h * channels);
    stbi_image_free(p);
  } else {
    stbi_uc* p = stbi_load_from_memory(bytes, len, &w, &h, &channels, 0);
    REQUIRE(p != nullptr);
    out.assign(p, p + static_cast<std::size_t>(w) * h * channels);
    stbi_image_free(p);
  }
  return out;
}

enum class Content { Noise, Constant, Smooth, Repeating };

std::vector<std::uint16_t> make(Content content, index_t h, index_t w, int channels, int depth, std::uint64_t seed) {
  Rng rng(seed);
  const std::uint32_t top = depth == 16 ? 65535u : 255u;
  std::vector<std::uint16_t> s(static_cast<std::size_t>(h * w * channels));
  for (std::size_t i = 0; i < s.size(); ++i) {
    const std::size_t pixel = i / static_cast<std::size_t>(channels), x = pixel % static_cast<std::size_t>(w);
    const std::size_t y = pixel / static_cast<std::size_t>(w);
    std::uint32_t v = 0;
    switch (content) {
      case Content::Noise: v = static_cast<std::uint32_t>(rng.uniform(0, top + 1)); break;
      case Content::Constant: v = top / 3; break;
      case Content::Smooth: v = static_cast<std::uint32_t>((x * 7 + y * 3 + i % channels * 50) % (top + 1)); break;
      case Content::Repeating: v = static_cast<std::uint32_t>((x % 37) * 5 + (y % 3) * 11) % (top + 1); break;
    }
    s[i] = static_cast<std::uint16_t>(std::min(v, top));
  }
  return s;
}

}  // namespace

TEST_CASE("encode_png round-trips through stb_image exactly: depths, channels, sizes, bands, contents") {
  const int threads = num_threads();
  for (int t : {1, 4}) {
    set_num_threads(t);  // 4 threads: up to 4 bands, each its own deflate stream piece
    for (int depth : {8, 16})
      for (int channels : {1, 2, 3, 4})
        for (auto [h, w] : {std::pair<index_t, index_t>{1, 1}, {1, 300}, {301, 1}, {7, 13}, {260, 97}})
          for (Content content : {Content::Noise, Content::Constant, Content::Smooth, Content::Repeating}) {
            INFO("threads " << t << " depth " << depth << " channels " << channels << " " << h << "x" << w
                            << " content " << static_cast<int>(content));
            const auto samples = make(content, h, w, channels, depth, static_cast<std::uint64_t>(h * w + channels));
            const std::string png = data::encode_png(samples, h, w, channels, depth);
            int dw = 0, dh = 0, dc = 0;
            const auto back = decode(png, depth, dw, dh, dc);
            REQUIRE(dw == w);
            REQUIRE(dh == h);
            REQUIRE(dc == channels);
            CHECK(back == samples);
          }
  }
  set_num_threads(threads);
}

TEST_CASE("encode_png compresses what repeats and stores what does not") {
  const index_t h = 256, w = 256;
  const std::size_t raw = static_cast<std::size_t>(h * w * 3);
  const auto flat = make(Content::Constant, h, w, 3, 8, 1), noise = make(Content::Noise, h, w, 3, 8, 2);
  CHECK(data::encode_png(flat, h, w, 3, 8).size() < raw / 50);
  CHECK(data::encode_png(make(Content::Repeating, h, w, 3, 8, 3), h, w, 3, 8).size() < raw / 4);
  // Noise does not shrink: stored blocks, a few bytes per 64 KiB over the filtered rows.
  const std::size_t noisy = data::encode_png(noise, h, w, 3, 8).size();
  CHECK(noisy >= raw);
  CHECK(noisy < raw + static_cast<std::size_t>(h) + 200);
}

TEST_CASE("adler32 continues a stream across pieces and matches the definition") {
  std::vector<unsigned char> bytes(20000);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>((i * 131 + i / 7) & 0xFF);
  std::uint32_t a = 1, b = 0;
  for (unsigned char v : bytes) a = (a + v) % 65521u, b = (b + a) % 65521u;
  const std::uint32_t want = (b << 16) | a;
  CHECK(io::adler32(bytes.data(), bytes.size()) == want);
  const std::uint32_t first = io::adler32(bytes.data(), 7001);
  CHECK(io::adler32(bytes.data() + 7001, bytes.size() - 7001, first) == want);
  CHECK(io::adler32(nullptr, 0) == 1u);
  const std::vector<unsigned char> ff(100000, 0xFF);  // the largest sums: no overflow between reductions
  std::uint32_t fa = 1, fb = 0;
  for (unsigned char v : ff) fa = (fa + v) % 65521u, fb = (fb + fa) % 65521u;
  CHECK(io::adler32(ff.data(), ff.size()) == ((fb << 16) | fa));
}
