#pragma once
// The subcommands of `tlc`: the one table main() dispatches on and prints as help. Each command
// takes its arguments (without the command name) and returns the process exit status; errors
// are thrown and reported by main() (UsageError: status 2, anything else: status 1).
#include <string>
#include <vector>

namespace tlc::cli {

using Argv = std::vector<std::string>;

int cmd_train(const Argv& args);
int cmd_restore(const Argv& args);
int cmd_eval(const Argv& args);
int cmd_sweep(const Argv& args);
int cmd_info(const Argv& args);
int cmd_convert(const Argv& args);

struct Command {
  const char* name;
  int (*run)(const Argv&);
  const char* summary;
};

inline const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"train", cmd_train, "train a restorer on patches (default: a small NAFNet denoiser on data/photos)"},
      {"restore", cmd_restore, "restore images or folders: --mode tlc (default), global or tile"},
      {"eval", cmd_eval, "PSNR/SSIM of global, TLC and tiled inference on paired or degraded images"},
      {"sweep", cmd_sweep, "PSNR against the TLC window scale (the paper's Fig. 3b), CSV and SVG"},
      {"info", cmd_info, "architecture, parameters, MACs, training size and TLC windows of a model"},
      {"convert", cmd_convert, "import an official PyTorch checkpoint (.pth) as a tlc model (.safetensors)"},
  };
  return table;
}

}  // namespace tlc::cli
