#pragma once
// A read-only zip archive over bytes in memory, as PyTorch writes them: the end-of-central-directory
// record (and its zip64 form), central directory entries (with zip64 extra fields), local headers,
// stored and deflated entries. Every size and offset is bounds-checked against the archive and
// every entry's CRC-32 is verified. Encryption, multi-disk archives and other methods are refused.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tlc/core/error.hpp"
#include "tlc/io/file.hpp"
#include "tlc/io/checksum.hpp"
#include "tlc/io/inflate.hpp"

namespace tlc::io {

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 stored, 8 deflated
  std::uint32_t crc = 0;
  std::uint64_t compressed_size = 0, size = 0, local_offset = 0;
};

// The bytes of one entry: a view into the archive (stored) or an owned buffer (deflated).
struct ZipData {
  std::vector<unsigned char> owned;
  const unsigned char* data = nullptr;
  std::size_t size = 0;
};

class ZipReader {
 public:
  // bytes must outlive the reader; name is used in error messages.
  ZipReader(std::string_view bytes, std::string name)
      : p_(reinterpret_cast<const unsigned char*>(bytes.data())), n_(bytes.size()), name_(std::move(name)) {
    parse_directory();
  }

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second];
  }

  ZipData read(const ZipEntry& e, std::uint64_t max_size) const {
    const std::string where = "zip '" + name_ + "': entry '" + e.name + "': ";
    TLC_CHECK(e.size <= max_size, FormatError, where, "size ", e.size, " is larger than the limit of ", max_size);
    TLC_CHECK(e.local_offset <= n_ && n_ - e.local_offset >= 30, FormatError, where, "local header at ",
              e.local_offset, " is outside the archive");
    const unsigned char* h = p_ + e.local_offset;
    TLC_CHECK(load_le(h, 4) == 0x04034b50, FormatError, where, "bad local header signature");
    const std::uint64_t name_len = load_le(h + 26, 2), extra_len = load_le(h + 28, 2);
    const std::uint64_t start = e.local_offset + 30 + name_len + extra_len;
    TLC_CHECK(start <= cd_offset_ && cd_offset_ - start >= e.compressed_size, FormatError, where, "data [", start,
              ", +", e.compressed_size, ") overlaps the central directory at ", cd_offset_);
    TLC_CHECK(std::string_view(reinterpret_cast<const char*>(h + 30), name_len) == e.name, FormatError, where,
              "local header names a different file");
    ZipData out;
    if (e.method == 0) {
      TLC_CHECK(e.compressed_size == e.size, FormatError, where, "stored entry has compressed size ",
                e.compressed_size, " but size ", e.size);
      out.data = p_ + start;
      out.size = static_cast<std::size_t>(e.size);
    } else {
      try {
        out.owned = inflate(p_ + start, static_cast<std::size_t>(e.compressed_size), static_cast<std::size_t>(e.size),
                            static_cast<std::size_t>(e.size));
      } catch (const FormatError& err) {
        throw FormatError(where + err.what());
      }
      TLC_CHECK(out.owned.size() == e.size, FormatError, where, "inflated to ", out.owned.size(),
                " bytes, expected ", e.size);
      out.data = out.owned.data();
      out.size = out.owned.size();
    }
    const std::uint32_t crc = crc32(out.data, out.size);
    TLC_CHECK(crc == e.crc, FormatError, where, "CRC-32 mismatch (stored ", e.crc, ", computed ", crc, ")");
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw FormatError("zip '" + name_ + "': " + what); }

  void parse_directory() {
    TLC_CHECK(n_ >= 22, FormatError, "zip '", name_, "': not a zip archive (", n_, " bytes)");
    // The EOCD record is the last thing in the file, followed only by its comment.
    std::size_t eocd = n_;
    const std::size_t lowest = n_ - 22 > 0xFFFF ? n_ - 22 - 0xFFFF : 0;
    for (std::size_t i = n_ - 22 + 1; i-- > lowest;) {
      if (load_le(p_ + i, 4) == 0x06054b50 && i + 22 + load_le(p_ + i + 20, 2) == n_) {
        eocd = i;
        break;
      }
    }
    if (eocd == n_) fail("not a zip archive (no end-of-central-directory record)");
    const unsigned char* r = p_ + eocd;
    std::uint64_t disk = load_le(r + 4, 2), cd_disk = load_le(r + 6, 2), count = load_le(r + 10, 2);
    std::uint64_t cd_size = load_le(r + 12, 4);
    cd_offset_ = load_le(r + 16, 4);
    std::uint64_t cd_end_limit = eocd;
    if (eocd >= 20 && load_le(r - 20, 4) == 0x07064b50) {
      // zip64: the locator just before the EOCD points at the zip64 EOCD record.
      const std::uint64_t z = load_le(r - 20 + 8, 8);
      if (z > eocd - 20 || eocd - 20 - z < 56) fail("zip64 end-of-central-directory record is out of bounds");
      const unsigned char* z64 = p_ + z;
      if (load_le(z64, 4) != 0x06064b50) fail("bad zip64 end-of-central-directory signature");
      disk = load_le(z64 + 16, 4);
      cd_disk = load_le(z64 + 20, 4);
      count = load_le(z64 + 32, 8);
      cd_size = load_le(z64 + 40, 8);
      cd_offset_ = load_le(z64 + 48, 8);
      cd_end_limit = z;
    }
    if (disk != 0 || cd_disk != 0) fail("multi-disk archives are not supported");
    if (cd_offset_ > cd_end_limit || cd_end_limit - cd_offset_ < cd_size)
      fail("central directory [" + std::to_string(cd_offset_) + ", +" + std::to_string(cd_size) +
           ") is out of bounds");
    if (count > cd_size / 46) fail("central directory claims " + std::to_string(count) + " entries in " +
                                   std::to_string(cd_size) + " bytes");

    std::uint64_t pos = cd_offset_;
    const std::uint64_t end = cd_offset_ + cd_size;
    for (std::uint64_t k = 0; k < count; ++k) {
      if (end - pos < 46) fail("central directory ends early");
      const unsigned char* c = p_ + pos;
      if (load_le(c, 4) != 0x02014b50) fail("bad central directory signature");
      ZipEntry e;
      const std::uint64_t flags = load_le(c + 8, 2);
      e.method = static_cast<std::uint16_t>(load_le(c + 10, 2));
      e.crc = static_cast<std::uint32_t>(load_le(c + 16, 4));
      e.compressed_size = load_le(c + 20, 4);
      e.size = load_le(c + 24, 4);
      const std::uint64_t name_len = load_le(c + 28, 2), extra_len = load_le(c + 30, 2),
                          comment_len = load_le(c + 32, 2);
      std::uint64_t start_disk = load_le(c + 34, 2);
      e.local_offset = load_le(c + 42, 4);
      if (end - pos - 46 < name_len + extra_len + comment_len) fail("central directory entry runs past its end");
      e.name.assign(reinterpret_cast<const char*>(c + 46), name_len);
      const std::string where = "entry '" + e.name + "': ";
      if (flags & 1) fail(where + "encrypted entries are not supported");
      if (e.method != 0 && e.method != 8)
        fail(where + "compression method " + std::to_string(e.method) + " is not supported (stored or deflate only)");
      read_zip64_extra(c + 46 + name_len, extra_len, e, start_disk, where);
      if (start_disk != 0) fail(where + "multi-disk archives are not supported");
      if (!index_.emplace(e.name, entries_.size()).second) fail(where + "duplicate entry name");
      entries_.push_back(std::move(e));
      pos += 46 + name_len + extra_len + comment_len;
    }
  }

  // Zip64 extra field 0x0001: the 64-bit values of exactly those fields that hold their maximum.
  void read_zip64_extra(const unsigned char* x, std::uint64_t len, ZipEntry& e, std::uint64_t& disk,
                        const std::string& where) const {
    while (len >= 4) {
      const std::uint64_t id = load_le(x, 2), size = load_le(x + 2, 2);
      if (size > len - 4) fail(where + "extra field runs past its end");
      if (id == 0x0001) {
        std::uint64_t off = 0;
        auto next = [&](std::uint64_t& field, int bytes) {
          if (size - off < static_cast<std::uint64_t>(bytes)) fail(where + "zip64 extra field is too short");
          field = load_le(x + 4 + off, bytes);
          off += static_cast<std::uint64_t>(bytes);
        };
        if (e.size == 0xFFFFFFFFu) next(e.size, 8);
        if (e.compressed_size == 0xFFFFFFFFu) next(e.compressed_size, 8);
        if (e.local_offset == 0xFFFFFFFFu) next(e.local_offset, 8);
        if (disk == 0xFFFF) next(disk, 4);
      }
      x += 4 + size;
      len -= 4 + size;
    }
  }

  const unsigned char* p_;
  std::size_t n_;
  std::string name_;
  std::uint64_t cd_offset_ = 0;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, std::size_t> index_;  // name -> entries_ position
};

// A minimal archive of stored (uncompressed) entries without zip64, for tests, fuzzers and tools
// that need to wrap bytes the way torch.save does.
inline std::string make_stored_zip(const std::vector<std::pair<std::string, std::string>>& files) {
  auto put = [](std::string& s, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  std::string body, dir;
  for (const auto& [name, data] : files) {
    const auto crc = crc32(reinterpret_cast<const unsigned char*>(data.data()), data.size());
    const std::uint64_t offset = body.size();
    put(body, 0x04034b50, 4);
    put(body, 20, 2);  // version needed
    put(body, 0, 2);   // flags
    put(body, 0, 2);   // method: stored
    put(body, 0, 4);   // time, date
    put(body, crc, 4);
    put(body, data.size(), 4);
    put(body, data.size(), 4);
    put(body, name.size(), 2);
    put(body, 0, 2);
    body += name;
    body += data;
    put(dir, 0x02014b50, 4);
    put(dir, 20, 2);
    put(dir, 20, 2);
    put(dir, 0, 2);
    put(dir, 0, 2);
    put(dir, 0, 4);
    put(dir, crc, 4);
    put(dir, data.size(), 4);
    put(dir, data.size(), 4);
    put(dir, name.size(), 2);
    put(dir, 0, 2);   // extra
    put(dir, 0, 2);   // comment
    put(dir, 0, 2);   // disk
    put(dir, 0, 2);   // internal attributes
    put(dir, 0, 4);   // external attributes
    put(dir, offset, 4);
    dir += name;
  }
  std::string out = body + dir;
  put(out, 0x06054b50, 4);
  put(out, 0, 4);  // disk numbers
  put(out, files.size(), 2);
  put(out, files.size(), 2);
  put(out, dir.size(), 4);
  put(out, body.size(), 4);
  put(out, 0, 2);  // comment length
  return out;
}

}  // namespace tlc::io
