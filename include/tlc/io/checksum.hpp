#pragma once
// CRC-32 (IEEE, as zip and PNG use it), Adler-32 (zlib streams) and 64-bit FNV-1a (seeds, and
// fingerprints of text compared across processes).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace tlc::io {

inline std::uint32_t crc32(const unsigned char* p, std::size_t n, std::uint32_t crc = 0) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

// Adler-32 of p[0, n), continuing from `adler` (1 starts a stream). The sums are reduced once per 5552
// bytes, the longest run that cannot overflow 32 bits.
inline std::uint32_t adler32(const unsigned char* p, std::size_t n, std::uint32_t adler = 1) {
  std::uint32_t a = adler & 0xFFFFu, b = adler >> 16;
  while (n > 0) {
    const std::size_t run = n < 5552 ? n : 5552;
    for (std::size_t i = 0; i < run; ++i) {
      a += p[i];
      b += a;
    }
    a %= 65521u;
    b %= 65521u;
    p += run;
    n -= run;
  }
  return (b << 16) | a;
}

inline constexpr std::uint64_t kFnv1aBasis = 1469598103934665603ull;

inline std::uint64_t fnv1a64(const std::string& text, std::uint64_t basis = kFnv1aBasis) {
  std::uint64_t h = basis;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace tlc::io
