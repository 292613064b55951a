// libFuzzer target: the PyTorch checkpoint reader (zip + inflate + pickle + tensor views).
// The first input byte picks the mode:
//   even: the rest is a whole .pth file (exercises the zip directory, inflate and CRC checks);
//   odd:  the rest is data.pkl, stored in a valid zip next to four small storages, so mutations
//         reach the unpickler and the view checks instead of failing the CRC.
// Any tlc::Error is an accepted outcome; a crash, sanitizer report, leak or hang is a bug.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tlc/io/torch_checkpoint.hpp"
#include "tlc/io/zip.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] % 2 == 0) {
      tlc::io::parse_torch_checkpoint(rest, "fuzz");
    } else {
      static const std::string storage0(24, '\x3f'), storage1(8, '\x01'), storage2(2, '\x7c'), storage3(16, '\0');
      const std::string zip = tlc::io::make_stored_zip({{"archive/data.pkl", std::string(rest)},
                                                        {"archive/data/0", storage0},
                                                        {"archive/data/1", storage1},
                                                        {"archive/data/2", storage2},
                                                        {"archive/data/3", storage3}});
      tlc::io::parse_torch_checkpoint(zip, "fuzz");
    }
  } catch (const tlc::Error&) {
  }
  return 0;
}
