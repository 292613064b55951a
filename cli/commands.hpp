#pragma once
// The subcommands of `tlc`. Each takes its arguments (without the command name) and returns
// the process exit status; errors are thrown as tlc::Error and reported by main().
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

}  // namespace tlc::cli
