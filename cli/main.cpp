// `tlc`: train restorers on patches, restore full images with TLC, evaluate, inspect and import
// weights. Every error ends as one clear line on stderr and a non-zero exit status: 2 when the
// command line is wrong (an unknown option, a bad value or path), 1 for anything else.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "tlc/core/error.hpp"
#include "tlc/dist/launch.hpp"

namespace {

std::string usage() {
  std::string s =
      "usage: tlc COMMAND [options]   (tlc COMMAND --help for details; tlc --version)\n"
      "\n"
      "Train image restorers on cropped patches and run them on full-size images with Test-time\n"
      "Local Conversion (TLC).\n"
      "\n"
      "commands:\n";
  for (const auto& c : tlc::cli::commands()) {
    std::string name = std::string("  ") + c.name;
    name.resize(12, ' ');
    s += name + c.summary + "\n";
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "help")) {
    std::fputs(usage().c_str(), argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version") || !std::strcmp(argv[1], "version")) {
    std::printf("tlc %s\n", TLC_VERSION);
    return 0;
  }
  const std::string command = argv[1];
  const tlc::cli::Argv args(argv + 2, argv + argc);
  try {
    for (const auto& c : tlc::cli::commands())
      if (command == c.name) return c.run(args);
    std::fprintf(stderr, "tlc: unknown command '%s'\n\n%s", command.c_str(), usage().c_str());
    return 2;
  } catch (const tlc::cli::UsageError& e) {
    // Under mpirun every rank parses the same arguments: one copy of the message is enough.
    if (tlc::dist::launched_rank() == 0) std::fprintf(stderr, "tlc %s: %s\n", command.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlc %s: error: %s\n", command.c_str(), e.what());
    return 1;
  }
}
