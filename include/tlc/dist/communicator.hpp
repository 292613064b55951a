#pragma once
// The communicator of data-parallel training: a group of `size()` ranks that sum or average
// buffers, broadcast bytes and meet at barriers. Implementations:
//   SingleProcess       one rank; every collective is a no-op (always available)
//   MpiCommunicator     processes and nodes over MPI (dist/mpi_communicator.hpp, TLC_WITH_MPI)
//   NcclCommunicator    CUDA buffers over NCCL, bootstrapped over MPI (dist/nccl_communicator.hpp)
//
// Collectives must be issued in the same order on every rank (the MPI rule). An asynchronous
// all-reduce returns a Pending that is waited on later, so a gradient bucket can travel while
// backward computes the next one. A wait that outlives the communicator's timeout throws a
// DistError instead of hanging: a peer that stopped answering ends the job, never freezes it.
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>

#include "tlc/core/device.hpp"
#include "tlc/core/error.hpp"

namespace tlc::dist {

// A collective failed or timed out; the job cannot go on consistently.
class DistError : public Error {
 public:
  using Error::Error;
};

enum class ReduceOp { Sum, Mean };

// An all-reduce in flight. wait() returns once the buffer holds the result (and throws a
// DistError when it does not come within the timeout). Destroying an unfinished Pending waits.
class Pending {
 public:
  virtual ~Pending() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Rank among the processes of this node (picks the GPU of a rank), and their number.
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  // "single", "mpi" or "nccl".
  virtual std::string backend() const = 0;

  // In place over every rank's buffer of n elements on `where` (the host or a CUDA device).
  virtual std::unique_ptr<Pending> all_reduce_async(float* data, std::size_t n, ReduceOp op, Device where) = 0;
  virtual std::unique_ptr<Pending> all_reduce_async(double* data, std::size_t n, ReduceOp op, Device where) = 0;
  // `bytes` bytes at `data` on `where`, from `root` to every rank.
  virtual void broadcast(void* data, std::size_t bytes, int root, Device where = Device::cpu()) = 0;
  // Waits for every rank, with no timeout: used after rank-0-only work of unbounded length
  // (validation, checkpoints); a rank that dies meanwhile is reported by the launcher.
  virtual void barrier() = 0;
  // Ends every rank of the job with `code` (MPI_Abort). Returns only for a single process.
  virtual void abort(int code) = 0;

  template <class T>
  void all_reduce(T* data, std::size_t n, ReduceOp op, Device where = Device::cpu()) {
    all_reduce_async(data, n, op, where)->wait();
  }
  // How long a collective may wait for the slowest rank before the job is declared broken.
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  std::chrono::milliseconds timeout_{std::chrono::seconds(300)};
};

// "3 s", "0.5 s": a timeout as people write it.
inline std::string seconds_text(std::chrono::milliseconds t) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", static_cast<double>(t.count()) / 1000.0);
  return text;
}

inline const char* timeout_hint() {
  return ": another rank is stuck or gone (a slow but healthy job can raise the limit with TLC_DIST_TIMEOUT=SECONDS)";
}

// One process: the buffers already hold the sum and the mean of one rank.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  std::string backend() const override { return "single"; }
  std::unique_ptr<Pending> all_reduce_async(float*, std::size_t, ReduceOp, Device) override { return done(); }
  std::unique_ptr<Pending> all_reduce_async(double*, std::size_t, ReduceOp, Device) override { return done(); }
  void broadcast(void*, std::size_t, int root, Device) override {
    TLC_CHECK(root == 0, DistError, "broadcast: expected root 0 of a single process, found ", root);
  }
  void barrier() override {}
  void abort(int) override {}

 private:
  struct Done final : Pending {
    void wait() override {}
  };
  static std::unique_ptr<Pending> done() { return std::make_unique<Done>(); }
};

}  // namespace tlc::dist
