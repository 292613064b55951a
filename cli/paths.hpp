#pragma once
// Checks of the paths a command reads and writes, made before anything is loaded: a wrong output
// name must cost a second, not the minutes of an inference (issue: a 37 s restore ended in
// "expected a .png"). Each failure is a UsageError naming the option, the path and what is wrong.
#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <string>

#include "cli/args.hpp"
#include "tlc/data/image.hpp"

namespace tlc::cli {

namespace paths_detail {
inline std::string parent_of(const std::string& path) {
  const std::string p = std::filesystem::path(path).parent_path().string();
  return p.empty() ? "." : p;
}
// ".png, .jpg or .jpeg"
inline std::string ext_list(std::initializer_list<const char*> exts) {
  std::string s;
  for (auto it = exts.begin(); it != exts.end(); ++it) {
    if (it != exts.begin()) s += it + 1 == exts.end() ? " or " : ", ";
    s += std::string(".") + *it;
  }
  return s;
}
}  // namespace paths_detail

// An existing file (not a folder) the command will read.
inline void check_input_file(const std::string& path, const std::string& option) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw UsageError(option + " '" + path + "': no such file");
  if (fs::is_directory(path, ec)) throw UsageError(option + " '" + path + "': expected a file, found a folder");
}

// An existing file or folder the command will read.
inline void check_input(const std::string& path, const std::string& option) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw UsageError(option + " '" + path + "': no such file or folder");
}

// A file the command will write: its name ends in one of `exts` (empty: any), it is not a folder,
// and the folder it goes into exists.
inline void check_output_file(const std::string& path, const std::string& option,
                              std::initializer_list<const char*> exts = {}) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (exts.size() > 0) {
    const std::string ext = data::detail::lower_extension(path);
    if (std::none_of(exts.begin(), exts.end(), [&](const char* e) { return ext == e; }))
      throw UsageError(option + " '" + path + "': expected a name ending in " + paths_detail::ext_list(exts) + ", found " +
                       (ext.empty() ? std::string("no extension") : "'." + ext + "'"));
  }
  if (fs::is_directory(path, ec))
    throw UsageError(option + " '" + path + "': expected a file name, found a folder");
  const std::string dir = paths_detail::parent_of(path);
  if (!fs::is_directory(dir, ec))
    throw UsageError(option + " '" + path + "': the folder '" + dir + "' does not exist (create it first)");
}

// An image file the command will write (the formats write_image encodes).
inline void check_output_image(const std::string& path, const std::string& option) {
  check_output_file(path, option, {"png", "jpg", "jpeg"});
}

// A folder the command will write into: an existing folder or a new one (created later, with its
// parents), never an existing file.
inline void check_output_folder(const std::string& path, const std::string& option) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_directory(path, ec))
    throw UsageError(option + " '" + path + "': expected a folder, found a file");
}

}  // namespace tlc::cli
