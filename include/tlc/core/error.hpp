#pragma once
// Library errors: every failure is a tlc::Error (or a subclass) whose message names the
// operation, what it expected and what it found. Library code never exits or aborts.
#include <sstream>
#include <stdexcept>
#include <string>

namespace tlc {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};
class ShapeError : public Error {
 public:
  using Error::Error;
};
class DeviceError : public Error {
 public:
  using Error::Error;
};
class DTypeError : public Error {
 public:
  using Error::Error;
};
class CudaError : public Error {
 public:
  using Error::Error;
};
class IoError : public Error {
 public:
  using Error::Error;
};
class FormatError : public IoError {
 public:
  using IoError::IoError;
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace tlc

// TLC_CHECK(cond, ErrorType, parts...) throws ErrorType(concat(parts...)) when cond is false.
#define TLC_CHECK(cond, ErrorType, ...)                         \
  do {                                                          \
    if (!(cond)) throw ErrorType(::tlc::detail::concat(__VA_ARGS__)); \
  } while (0)
