#pragma once
// A raw DEFLATE decoder (RFC 1951: stored, fixed-Huffman and dynamic-Huffman blocks) for zip
// entries. Canonical Huffman codes are decoded from per-length counts, one bit at a time: simple
// to verify, and fast enough because PyTorch stores its tensors uncompressed. Every malformed
// stream (bad block type, over-subscribed or incomplete codes, distances before the start,
// truncated input) and any output beyond max_out is a tlc::FormatError.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tlc/core/error.hpp"

namespace tlc::io {

namespace detail {

class Inflater {
 public:
  Inflater(const unsigned char* in, std::size_t n, std::size_t max_out, std::vector<unsigned char>& out)
      : in_(in), n_(n), max_out_(max_out), out_(out) {}

  void run() {
    bool last = false;
    while (!last) {
      last = bits(1) != 0;
      switch (bits(2)) {
        case 0: stored(); break;
        case 1: fixed(); break;
        case 2: dynamic(); break;
        default: fail("invalid block type 3");
      }
    }
  }

 private:
  static constexpr int kMaxBits = 15;
  struct Huffman {
    short count[kMaxBits + 1];  // number of codes of each length
    short symbol[288];          // symbols ordered by code
  };

  [[noreturn]] static void fail(const std::string& what) { throw FormatError("inflate: " + what); }

  int bits(int need) {
    while (bitcnt_ < need) {
      if (pos_ >= n_) fail("compressed data ends early");
      bitbuf_ |= std::uint32_t(in_[pos_++]) << bitcnt_;
      bitcnt_ += 8;
    }
    const auto v = static_cast<int>(bitbuf_ & ((1u << need) - 1));
    bitbuf_ >>= need;
    bitcnt_ -= need;
    return v;
  }

  void stored() {
    bitbuf_ = 0;  // a stored block starts at a byte boundary
    bitcnt_ = 0;
    if (n_ - pos_ < 4) fail("stored block header ends early");
    const unsigned len = in_[pos_] | (unsigned(in_[pos_ + 1]) << 8);
    const unsigned nlen = in_[pos_ + 2] | (unsigned(in_[pos_ + 3]) << 8);
    pos_ += 4;
    if (len != (~nlen & 0xFFFFu)) fail("stored block length does not match its complement");
    if (n_ - pos_ < len) fail("stored block ends early");
    reserve(len);
    out_.insert(out_.end(), in_ + pos_, in_ + pos_ + len);
    pos_ += len;
  }

  void reserve(std::size_t more) {
    if (more > max_out_ - out_.size()) fail("output larger than the limit of " + std::to_string(max_out_) + " bytes");
  }

  // Builds h from code lengths; returns 0 for a complete code, > 0 if incomplete; throws if over-subscribed.
  static int construct(Huffman& h, const short* length, int n) {
    for (auto& c : h.count) c = 0;
    for (int s = 0; s < n; ++s) h.count[length[s]]++;
    if (h.count[0] == n) return 0;  // no codes: decode() will refuse any use
    int left = 1;
    for (int len = 1; len <= kMaxBits; ++len) {
      left <<= 1;
      left -= h.count[len];
      if (left < 0) fail("over-subscribed Huffman code");
    }
    short offs[kMaxBits + 1];
    offs[1] = 0;
    for (int len = 1; len < kMaxBits; ++len) offs[len + 1] = static_cast<short>(offs[len] + h.count[len]);
    for (int s = 0; s < n; ++s)
      if (length[s] != 0) h.symbol[offs[length[s]]++] = static_cast<short>(s);
    return left;
  }

  int decode(const Huffman& h) {
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= kMaxBits; ++len) {
      code |= bits(1);
      const int count = h.count[len];
      if (code - count < first) return h.symbol[index + (code - first)];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    fail("invalid Huffman code");
  }

  void codes(const Huffman& lencode, const Huffman& distcode) {
    static const short base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                   31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const short extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static const short dbase[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
                                    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    static const short dextra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    for (;;) {
      int symbol = decode(lencode);
      if (symbol < 256) {
        reserve(1);
        out_.push_back(static_cast<unsigned char>(symbol));
        continue;
      }
      if (symbol == 256) return;
      symbol -= 257;
      if (symbol >= 29) fail("invalid length symbol");
      const std::size_t len = static_cast<std::size_t>(base[symbol] + bits(extra[symbol]));
      const int dsym = decode(distcode);
      if (dsym >= 30) fail("invalid distance symbol");
      const std::size_t dist = static_cast<std::size_t>(dbase[dsym] + bits(dextra[dsym]));
      if (dist > out_.size()) fail("distance points before the start of the output");
      reserve(len);
      for (std::size_t i = 0; i < len; ++i) out_.push_back(out_[out_.size() - dist]);  // may overlap itself
    }
  }

  void fixed() {
    static const auto tables = [] {
      std::pair<Huffman, Huffman> t;
      short lengths[288];
      int s = 0;
      for (; s < 144; ++s) lengths[s] = 8;
      for (; s < 256; ++s) lengths[s] = 9;
      for (; s < 280; ++s) lengths[s] = 7;
      for (; s < 288; ++s) lengths[s] = 8;
      construct(t.first, lengths, 288);
      for (s = 0; s < 30; ++s) lengths[s] = 5;
      construct(t.second, lengths, 30);
      return t;
    }();
    codes(tables.first, tables.second);
  }

  void dynamic() {
    static const short order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    const int nlen = bits(5) + 257, ndist = bits(5) + 1, ncode = bits(4) + 4;
    if (nlen > 286 || ndist > 30) fail("too many length or distance codes");
    short lengths[286 + 30];
    int index = 0;
    for (; index < ncode; ++index) lengths[order[index]] = static_cast<short>(bits(3));
    for (; index < 19; ++index) lengths[order[index]] = 0;
    Huffman lencode, distcode;
    if (construct(lencode, lengths, 19) != 0) fail("incomplete code-length code");

    index = 0;
    while (index < nlen + ndist) {
      int symbol = decode(lencode);
      if (symbol < 16) {
        lengths[index++] = static_cast<short>(symbol);
        continue;
      }
      short len = 0;
      if (symbol == 16) {
        if (index == 0) fail("repeat of a length with no previous length");
        len = lengths[index - 1];
        symbol = 3 + bits(2);
      } else if (symbol == 17) {
        symbol = 3 + bits(3);
      } else {
        symbol = 11 + bits(7);
      }
      if (index + symbol > nlen + ndist) fail("too many code lengths");
      while (symbol--) lengths[index++] = len;
    }
    if (lengths[256] == 0) fail("no end-of-block code");
    // Incomplete codes are only legal when they hold a single code of length one.
    int err = construct(lencode, lengths, nlen);
    if (err != 0 && nlen != lencode.count[0] + lencode.count[1]) fail("incomplete literal/length code");
    err = construct(distcode, lengths + nlen, ndist);
    if (err != 0 && ndist != distcode.count[0] + distcode.count[1]) fail("incomplete distance code");
    codes(lencode, distcode);
  }

  const unsigned char* in_;
  std::size_t n_, pos_ = 0;
  std::size_t max_out_;
  std::vector<unsigned char>& out_;
  std::uint32_t bitbuf_ = 0;
  int bitcnt_ = 0;
};

}  // namespace detail

// Decodes the raw DEFLATE stream in[0, n) (bytes after its final block are ignored).
// expected_size (when known) only sizes the first allocation, clamped by what n bytes can expand to.
inline std::vector<unsigned char> inflate(const unsigned char* in, std::size_t n, std::size_t max_out,
                                          std::size_t expected_size = 0) {
  std::vector<unsigned char> out;
  const std::size_t bound = n > max_out / 1032 ? max_out : n * 1032;  // DEFLATE expands at most ~1032:1
  out.reserve(expected_size < bound ? expected_size : bound);
  detail::Inflater(in, n, max_out, out).run();
  return out;
}

}  // namespace tlc::io
