// `tlc`: train restorers on patches, restore full images with TLC, evaluate, inspect and import
// weights. Every error ends as one clear line on stderr and a non-zero exit status.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "tlc/core/error.hpp"
#include "tlc/dist/launch.hpp"

namespace {

const char* kUsage =
    "usage: tlc COMMAND [options]   (tlc COMMAND --help for details)\n"
    "\n"
    "Train image restorers on cropped patches and run them on full-size images with Test-time\n"
    "Local Conversion (TLC).\n"
    "\n"
    "commands:\n"
    "  train     train a restorer on patches (default: a small NAFNet denoiser on data/photos)\n"
    "  restore   restore images or folders: --mode tlc (default), global or tile\n"
    "  eval      PSNR/SSIM of global, TLC and tiled inference on paired or degraded images\n"
    "  sweep     PSNR against the TLC window scale (the paper's Fig. 3b), CSV and SVG\n"
    "  info      architecture, parameters, MACs, training size and TLC windows of a model\n"
    "  convert   import an official PyTorch checkpoint (.pth) as a tlc model (.safetensors)\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  const tlc::cli::Argv args(argv + 2, argv + argc);
  try {
    if (command == "train") return tlc::cli::cmd_train(args);
    if (command == "restore") return tlc::cli::cmd_restore(args);
    if (command == "eval") return tlc::cli::cmd_eval(args);
    if (command == "sweep") return tlc::cli::cmd_sweep(args);
    if (command == "info") return tlc::cli::cmd_info(args);
    if (command == "convert") return tlc::cli::cmd_convert(args);
    std::fprintf(stderr, "tlc: unknown command '%s'\n\n%s", command.c_str(), kUsage);
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
