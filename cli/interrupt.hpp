#pragma once
// Ctrl-C (SIGINT, SIGTERM, SIGHUP) during restore, eval or sweep ends the command at once with
// status 130, except while an output file is being written: that write (to a temporary name,
// then renamed) completes first, so an interrupted command never leaves a partial or temporary
// file behind. Training instead turns an interrupt into a stop request: it finishes the current
// iteration, writes a checkpoint and returns.
#include <unistd.h>

#include <atomic>
#include <csignal>

namespace tlc::cli {

namespace interrupt_detail {
inline std::atomic<int> writing{0};
inline std::atomic<int> pending{0};
inline std::atomic<bool> stop{false};

inline void on_signal(int sig) {
  if (writing.load() > 0) {
    pending.store(sig);
    return;
  }
  const char msg[] = "\ntlc: interrupted; no output was left half-written\n";
  (void)!::write(2, msg, sizeof msg - 1);
  ::_exit(128 + sig);
}
}  // namespace interrupt_detail

inline void exit_on_interrupt() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, interrupt_detail::on_signal);
}

// From now on an interrupt only sets the flag that stop_requested() reads. SIGUSR1 counts too:
// mpirun forwards it to every rank and leaves them running, whereas on Ctrl-C it sends SIGTERM and
// kills them one second later, which may be before they reach the end of an iteration.
inline void stop_on_interrupt() {
  interrupt_detail::stop = false;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) std::signal(sig, [](int) { interrupt_detail::stop = true; });
}
inline bool stop_requested() { return interrupt_detail::stop.load(); }

// Holds an interrupt back while an output file is written; delivers it when the write is done.
class OutputWrite {
 public:
  OutputWrite() { ++interrupt_detail::writing; }
  ~OutputWrite() {
    if (--interrupt_detail::writing == 0)
      if (const int sig = interrupt_detail::pending.exchange(0)) interrupt_detail::on_signal(sig);
  }
  OutputWrite(const OutputWrite&) = delete;
  OutputWrite& operator=(const OutputWrite&) = delete;
};

}  // namespace tlc::cli
