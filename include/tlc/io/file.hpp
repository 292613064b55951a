#pragma once
// Whole-file reads (copied or mapped) with a size limit; atomic writes: data goes to a temporary file in the
// target's directory, is fsync'ed, then renamed over the target, so a reader (or a crash) never
// sees a partly written file (POSIX only); little-endian decoding of the float formats that
// weight files store (float64/32/16, bfloat16), independent of the host's byte order.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "tlc/core/error.hpp"

namespace tlc::io {

namespace detail {
inline std::string errno_text() { return std::strerror(errno); }

// A regular file of at most max_bytes, open for reading; closed when this goes, also when a check in
// the constructor throws (the descriptor is a member already constructed).
class RegularFile {
 public:
  RegularFile(const std::string& path, std::uint64_t max_bytes) : fd_{::open(path.c_str(), O_RDONLY | O_CLOEXEC)} {
    TLC_CHECK(fd_.fd >= 0, IoError, "cannot open '", path, "': ", errno_text());
    struct stat st {};
    TLC_CHECK(::fstat(fd_.fd, &st) == 0, IoError, "cannot stat '", path, "': ", errno_text());
    TLC_CHECK(S_ISREG(st.st_mode), IoError, "'", path, "' is not a regular file (a folder, device or pipe)");
    size_ = static_cast<std::uint64_t>(st.st_size);
    TLC_CHECK(size_ <= max_bytes, IoError, "'", path, "' is ", size_, " bytes, more than the limit of ", max_bytes);
  }
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  int fd() const { return fd_.fd; }
  std::uint64_t size() const { return size_; }

  // The whole file, copied.
  std::string read_all(const std::string& path) const {
    std::string data(static_cast<std::size_t>(size_), '\0');
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::read(fd_.fd, &data[done], data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      TLC_CHECK(n >= 0, IoError, "reading '", path, "' failed: ", errno_text());
      TLC_CHECK(n > 0, IoError, "'", path, "' shrank while being read (", done, " of ", size_, " bytes)");
      done += static_cast<std::size_t>(n);
    }
    return data;
  }

 private:
  struct Descriptor {
    int fd;
    ~Descriptor() {
      if (fd >= 0) ::close(fd);
    }
  } fd_;
  std::uint64_t size_ = 0;
};
}  // namespace detail

// Reads a regular file into memory; refuses files larger than max_bytes.
inline std::string read_file(const std::string& path, std::uint64_t max_bytes) {
  return detail::RegularFile(path, max_bytes).read_all(path);
}

// A regular file of at most max_bytes, mapped read-only: its bytes come from the page cache as they
// are read, where read_file fills a zeroed copy first (55-70 ms for a 68 MB weight file, mostly page
// faults; parsing through the mapping costs 10-15 ms more than parsing the copy). A file system that
// refuses the mapping gets read_file's copy. Like every reader that maps files, this assumes nobody
// truncates the file while it is open.
class MappedFile {
 public:
  MappedFile(const std::string& path, std::uint64_t max_bytes) {
    const detail::RegularFile file(path, max_bytes);
    if (file.size() > 0) {
      void* p = ::mmap(nullptr, static_cast<std::size_t>(file.size()), PROT_READ, MAP_PRIVATE, file.fd(), 0);
      if (p != MAP_FAILED) {
        map_ = p;
        size_ = static_cast<std::size_t>(file.size());
        return;
      }
    }
    copy_ = file.read_all(path);
  }
  ~MappedFile() {
    if (map_) ::munmap(map_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view bytes() const { return map_ ? std::string_view(static_cast<const char*>(map_), size_) : copy_; }

 private:
  void* map_ = nullptr;
  std::size_t size_ = 0;
  std::string copy_;
};

// A file that appears at `path` only on commit(). Without commit (an exception while writing),
// the destructor removes the temporary file and leaves any existing file at `path` untouched.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path) : path_(std::move(path)) {
    // O_EXCL + a per-process counter gives a fresh name; 0666 lets the umask decide permissions.
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
      tmp_ = path_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
      fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ < 0 && errno != EEXIST) break;
    }
    TLC_CHECK(fd_ >= 0, IoError, "write_file: cannot create a temporary file next to '", path_,
              "': ", detail::errno_text());
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(tmp_.c_str());
    }
  }

  void write(const void* data, std::size_t n) {
    TLC_CHECK(fd_ >= 0, IoError, "write_file: '", path_, "' was already committed");
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      TLC_CHECK(w > 0, IoError, "write_file: writing '", tmp_, "' failed: ", detail::errno_text());
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  void write(const std::string& s) { write(s.data(), s.size()); }

  // fsync, close, rename over the target, then fsync the directory so the rename is durable.
  void commit() {
    TLC_CHECK(fd_ >= 0, IoError, "write_file: '", path_, "' was already committed");
    const bool synced = ::fsync(fd_) == 0;
    const std::string sync_error = synced ? "" : detail::errno_text();
    const bool closed = ::close(fd_) == 0;
    fd_ = -1;
    if (!synced || !closed || ::rename(tmp_.c_str(), path_.c_str()) != 0) {
      const std::string why = !synced ? sync_error : detail::errno_text();
      ::unlink(tmp_.c_str());
      throw IoError("write_file: cannot complete '" + path_ + "': " + why);
    }
    const auto slash = path_.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path_.substr(0, slash));
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);  // best effort: some file systems refuse fsync on directories
      ::close(dfd);
    }
  }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};

// Weight files are read whole; this bounds what a hostile or mistaken path can make us allocate.
constexpr std::uint64_t kMaxWeightFileBytes = std::uint64_t(64) << 30;

enum class FloatType { F64, F32, F16, BF16 };

inline std::size_t element_size(FloatType t) {
  switch (t) {
    case FloatType::F64: return 8;
    case FloatType::F32: return 4;
    default: return 2;
  }
}

inline std::uint64_t load_le(const unsigned char* p, int nbytes) {
  std::uint64_t v = 0;
  for (int i = nbytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
  std::uint32_t bits;
  if (exp == 0) {
    // zero or subnormal: mant * 2^-24 is exact in float
    float f = static_cast<float>(mant) * (1.0f / 16777216.0f);
    std::memcpy(&bits, &f, 4);
    bits |= sign;
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf / nan (payload kept)
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline float bfloat16_to_float(std::uint16_t b) {
  const std::uint32_t bits = std::uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Element i of a little-endian array of type t, as float (float64 is rounded to nearest).
inline float decode_float(const unsigned char* base, FloatType t, std::size_t i) {
  switch (t) {
    case FloatType::F64: {
      const std::uint64_t bits = load_le(base + 8 * i, 8);
      double d;
      std::memcpy(&d, &bits, 8);
      return static_cast<float>(d);
    }
    case FloatType::F32: {
      const auto bits = static_cast<std::uint32_t>(load_le(base + 4 * i, 4));
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    case FloatType::F16: return half_to_float(static_cast<std::uint16_t>(load_le(base + 2 * i, 2)));
    case FloatType::BF16: return bfloat16_to_float(static_cast<std::uint16_t>(load_le(base + 2 * i, 2)));
  }
  return 0.0f;
}

// Elements [0, count) of a little-endian array of type t into out, as decode_float decodes them; a
// float32 array on a little-endian host is copied whole (decoding the 17 M weights of a NAFNet-w32
// file one at a time held load_model at 161 ms; copied, 118-132 ms).
inline void decode_floats(const unsigned char* base, FloatType t, std::size_t count, float* out) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (t == FloatType::F32) {
    std::memcpy(out, base, count * sizeof(float));
    return;
  }
#endif
  for (std::size_t i = 0; i < count; ++i) out[i] = decode_float(base, t, i);
}

inline void write_file_atomic(const std::string& path, const std::string& data) {
  AtomicFile f(path);
  f.write(data);
  f.commit();
}

}  // namespace tlc::io
