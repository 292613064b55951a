// libFuzzer target: the safetensors parser on arbitrary bytes. Any tlc::Error is an accepted
// outcome; a crash, sanitizer report, leak, hang or other exception is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tlc/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    tlc::io::parse_safetensors(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  } catch (const tlc::Error&) {
  }
  return 0;
}
