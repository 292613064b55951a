#pragma once
// Image files <-> float tensors. An Image is planar RGB [1,3,H,W] in [0,1] (the layout models
// take), plus an optional alpha plane kept aside, the file's bit depth and channel count, so a
// gray or RGBA 16-bit file is written back as what it was.
//
// Reading (PNG 8/16-bit, JPEG, BMP, TGA; from a file or from memory): the file is read with a size
// limit, the format is recognised from its magic bytes (TGA, which has none, only by the .tga
// extension), the header is parsed with stbi_info and the pixel count checked BEFORE any pixel is
// decoded (decompression bombs), then stb decodes. Every failure is a tlc::IoError naming the file and stb's reason.
// Writing: PNG (8- and 16-bit, own encoder: data/png_encode.hpp) or JPEG (stb_image_write), chosen by
// extension, into a temporary file renamed over the target (never a
// partial file). Quantisation: clamp to [0,1], x(2^bits - 1), round half to even (numpy's np.round, as the official metrics quantise).
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "tlc/core/error.hpp"
#include "tlc/data/png_encode.hpp"
#include "tlc/data/stb.hpp"
#include "tlc/io/file.hpp"
#include "tlc/tensor/tensor.hpp"

namespace tlc::data {

// clamp to [0,1] (NaN -> 0), scale to [0, levels], round half to even (numpy's round) in T.
template <class T>
T quantize_unit(T v, T levels) {
  v = v > T(0) ? v : T(0);
  v = v < T(1) ? v : T(1);
  return std::nearbyint(v * levels);
}

struct Image {
  TensorF rgb;              // [1,3,H,W], values in [0,1]
  TensorF alpha;            // [1,1,H,W] in [0,1], or undefined
  int bit_depth = 8;        // 8 or 16
  int source_channels = 3;  // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA

  index_t height() const { return rgb.size(2); }
  index_t width() const { return rgb.size(3); }
  bool has_alpha() const { return alpha.defined(); }

  // An 8-bit RGB image holding t ([1,3,H,W] or [3,H,W], CPU).
  static Image from_tensor(const TensorF& t) {
    const Shape s = t.shape();
    TLC_CHECK((s.rank() == 4 && s[0] == 1 && s[1] == 3) || (s.rank() == 3 && s[0] == 3), ShapeError,
              "Image::from_tensor: expected shape [1,3,H,W] or [3,H,W], found ", s.str());
    Image im;
    im.rgb = t.cpu().view_as_shape(Shape{1, 3, s[s.rank() - 2], s[s.rank() - 1]});
    return im;
  }
};

struct ImageReadOptions {
  std::int64_t max_pixels = 100'000'000;  // refuse larger images before decoding
  std::uint64_t max_file_bytes = std::uint64_t(1) << 30;
};

struct ImageWriteOptions {
  int jpeg_quality = 95;  // 1..100
};

namespace detail {

inline std::string lower_extension(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string e = path.substr(dot + 1);
  for (auto& ch : e) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return e;
}

inline std::string stb_reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown decoder error";
}

// "png", "jpeg", "bmp", "tga" or "" from the first bytes (and the extension for TGA).
inline std::string sniff_format(const std::string& bytes, const std::string& path) {
  static const unsigned char png[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() >= 8 && std::memcmp(b, png, 8) == 0) return "png";
  if (bytes.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "jpeg";
  if (bytes.size() >= 2 && b[0] == 'B' && b[1] == 'M') return "bmp";
  if (lower_extension(path) == "tga") return "tga";
  return "";
}

inline void append_to_string(void* ctx, void* data, int size) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

}  // namespace detail

// Decodes an image file held in memory; `path` names it in errors (and marks a .tga).
inline Image decode_image(const std::string& bytes, const std::string& path, const ImageReadOptions& opt = {}) {
  TLC_CHECK(!bytes.empty(), IoError, "read_image: '", path, "' is empty (0 bytes)");
  TLC_CHECK(bytes.size() <= static_cast<std::size_t>(std::numeric_limits<int>::max()), IoError, "read_image: '", path,
            "' is ", bytes.size(), " bytes, more than the decoder accepts (2 GiB)");
  const std::string format = detail::sniff_format(bytes, path);
  TLC_CHECK(!format.empty(), IoError, "read_image: '", path,
            "': expected a PNG, JPEG, BMP or TGA (.tga) file, found an unrecognised format");
  const auto* buf = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(bytes.size());

  int w = 0, h = 0, comp = 0;
  TLC_CHECK(stbi_info_from_memory(buf, len, &w, &h, &comp) == 1, IoError, "read_image: '", path, "': invalid ", format,
            " header: ", detail::stb_reason());
  TLC_CHECK(w > 0 && h > 0 && comp >= 1 && comp <= 4, IoError, "read_image: '", path,
            "': expected a positive size and 1..4 channels, found ", w, "x", h, "x", comp);
  TLC_CHECK(std::int64_t(w) * h <= opt.max_pixels, IoError, "read_image: '", path, "' is ", w, "x", h, " = ",
            std::int64_t(w) * h, " pixels, more than the limit of ", opt.max_pixels, " (refused before decoding)");

  Image im;
  im.source_channels = comp;
  im.bit_depth = stbi_is_16_bit_from_memory(buf, len) ? 16 : 8;
  int dw = 0, dh = 0, dc = 0;
  std::unique_ptr<void, void (*)(void*)> pixels(
      im.bit_depth == 16 ? static_cast<void*>(stbi_load_16_from_memory(buf, len, &dw, &dh, &dc, 0))
                         : static_cast<void*>(stbi_load_from_memory(buf, len, &dw, &dh, &dc, 0)),
      stbi_image_free);
  TLC_CHECK(pixels != nullptr, IoError, "read_image: cannot decode '", path, "' (", format,
            "): ", detail::stb_reason());
  TLC_CHECK(dw == w && dh == h && dc == comp, IoError, "read_image: '", path, "': header says ", w, "x", h, "x", comp,
            ", decoder produced ", dw, "x", dh, "x", dc);

  const float scale = im.bit_depth == 16 ? 65535.0f : 255.0f;
  auto sample = [&](std::size_t i) -> float {
    return im.bit_depth == 16 ? static_cast<const std::uint16_t*>(pixels.get())[i] / scale
                              : static_cast<const std::uint8_t*>(pixels.get())[i] / scale;
  };
  const index_t H = h, W = w, plane = H * W;
  im.rgb = TensorF::empty(Shape{1, 3, H, W});
  const bool has_alpha = comp == 2 || comp == 4;
  if (has_alpha) im.alpha = TensorF::empty(Shape{1, 1, H, W});
  float* out = im.rgb.data();
  for (index_t p = 0; p < plane; ++p) {
    const std::size_t base = static_cast<std::size_t>(p) * comp;
    for (int c = 0; c < 3; ++c) out[c * plane + p] = sample(base + (comp >= 3 ? c : 0));  // gray -> RGB
    if (has_alpha) im.alpha.data()[p] = sample(base + comp - 1);
  }
  return im;
}

inline Image read_image(const std::string& path, const ImageReadOptions& opt = {}) {
  return decode_image(io::read_file(path, opt.max_file_bytes), path, opt);
}

inline void write_image(const std::string& path, const Image& im, const ImageWriteOptions& opt = {}) {
  const Shape s = im.rgb.shape();
  TLC_CHECK(s.rank() == 4 && s[0] == 1 && s[1] == 3, ShapeError, "write_image: '", path,
            "': expected rgb of shape [1,3,H,W], found ", s.str());
  const index_t H = s[2], W = s[3], plane = H * W;
  TLC_CHECK(H > 0 && W > 0 && H <= (1 << 24) && W <= (1 << 24), ShapeError, "write_image: '", path,
            "': expected a size in 1..2^24, found ", H, "x", W);
  if (im.has_alpha())
    TLC_CHECK(im.alpha.shape() == (Shape{1, 1, H, W}), ShapeError, "write_image: '", path,
              "': expected alpha of shape [1,1,", H, ",", W, "], found ", im.alpha.shape().str());
  const std::string ext = detail::lower_extension(path);
  const bool jpeg = ext == "jpg" || ext == "jpeg";
  TLC_CHECK(jpeg || ext == "png", IoError, "write_image: '", path, "': expected a .png, .jpg or .jpeg name, found '.",
            ext, "'");
  TLC_CHECK(opt.jpeg_quality >= 1 && opt.jpeg_quality <= 100, Error,
            "write_image: expected jpeg_quality in 1..100, found ", opt.jpeg_quality);

  const bool gray = im.source_channels <= 2;
  const bool alpha = im.has_alpha() && !jpeg;  // JPEG has no alpha
  const int channels = (gray ? 1 : 3) + (alpha ? 1 : 0);
  const bool sixteen = im.bit_depth == 16 && !jpeg;
  const float levels = sixteen ? 65535.0f : 255.0f;
  const TensorF rgb = im.rgb.cpu(), a = alpha ? im.alpha.cpu() : TensorF();
  std::vector<std::uint16_t> samples(static_cast<std::size_t>(plane) * channels);
  for (index_t p = 0; p < plane; ++p) {
    std::uint16_t* o = &samples[static_cast<std::size_t>(p) * channels];
    if (gray) {
      // mean of the channels in double: exact for a gray image read back as three equal planes
      const double m = (double(rgb.data()[p]) + rgb.data()[plane + p] + rgb.data()[2 * plane + p]) / 3.0;
      *o++ = static_cast<std::uint16_t>(quantize_unit(static_cast<float>(m), levels));
    } else {
      for (int c = 0; c < 3; ++c) *o++ = static_cast<std::uint16_t>(quantize_unit(rgb.data()[c * plane + p], levels));
    }
    if (alpha) *o = static_cast<std::uint16_t>(quantize_unit(a.data()[p], levels));
  }

  std::string encoded;
  if (jpeg) {
    std::vector<std::uint8_t> bytes(samples.begin(), samples.end());
    const int ok = stbi_write_jpg_to_func(detail::append_to_string, &encoded, static_cast<int>(W), static_cast<int>(H),
                                          channels, bytes.data(), opt.jpeg_quality);
    TLC_CHECK(ok != 0 && !encoded.empty(), IoError, "write_image: encoding '", path, "' failed");
  } else {
    encoded = encode_png(samples, H, W, channels, sixteen ? 16 : 8);
  }
  io::write_file_atomic(path, encoded);
}

// An RGB tensor [1,3,H,W] or [3,H,W] as an 8-bit RGB file.
inline void write_image(const std::string& path, const TensorF& rgb, const ImageWriteOptions& opt = {}) {
  write_image(path, Image::from_tensor(rgb), opt);
}

}  // namespace tlc::data
