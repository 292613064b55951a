#pragma once
// Data-parallel ranks over MPI: processes on one box or many nodes, started by mpirun or srun.
// Needs <mpi.h>: link the CMake target tlc::mpi (which defines TLC_WITH_MPI); nothing else of the
// library includes this header.
//
// One thread of ours makes every MPI call: it initialises MPI (MPI_THREAD_FUNNELED is enough),
// starts the non-blocking collectives the training thread asks for, in the order asked, and
// drives them with MPI_Testall: between tests it sleeps while the training thread computes (so the
// cores stay with backward while a gradient bucket travels) and polls at full speed while that
// thread waits. The training thread only waits, with a timeout.
// Buffers on a CUDA device are staged through the host.
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "tlc/core/storage.hpp"
#include "tlc/dist/communicator.hpp"

namespace tlc::dist {

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() : thread_([this] { run(); }) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return started_; });
    if (!init_error_.empty()) {
      lock.unlock();
      thread_.join();
      throw DistError("MPI: " + init_error_);
    }
  }
  ~MpiCommunicator() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string backend() const override { return "mpi"; }

  std::unique_ptr<Pending> all_reduce_async(float* data, std::size_t n, ReduceOp op, Device where) override {
    return all_reduce_typed(data, n, op, where, MPI_FLOAT);
  }
  std::unique_ptr<Pending> all_reduce_async(double* data, std::size_t n, ReduceOp op, Device where) override {
    return all_reduce_typed(data, n, op, where, MPI_DOUBLE);
  }

  void broadcast(void* data, std::size_t bytes, int root, Device where) override {
    TLC_CHECK(root >= 0 && root < size_, DistError, "broadcast: expected a root rank in [0, ", size_, "), found ",
              root);
    std::vector<char> staged;
    char* host = static_cast<char*>(data);
    if (where.is_cuda()) {
      staged.resize(bytes);
      host = staged.data();
      if (rank_ == root) copy_bytes(host, Device::cpu(), data, where, bytes);
    }
    auto job = submit("broadcast of " + std::to_string(bytes) + " bytes", [=](std::vector<MPI_Request>& reqs) {
      return for_chunks(bytes, [&](std::size_t begin, int count) {
        reqs.emplace_back();
        return MPI_Ibcast(host + begin, count, MPI_BYTE, root, MPI_COMM_WORLD, &reqs.back());
      });
    });
    wait(*job, true);
    if (where.is_cuda() && rank_ != root) copy_bytes(data, where, host, Device::cpu(), bytes);
  }

  void barrier() override {
    auto job = submit("barrier", [](std::vector<MPI_Request>& reqs) {
      reqs.emplace_back();
      return MPI_Ibarrier(MPI_COMM_WORLD, &reqs.back());
    });
    wait(*job, false);
  }

  void abort(int code) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      abort_code_ = code;
    }
    cv_.notify_all();
    // MPI_Abort ends this process too; should our MPI thread be wedged, end it anyway.
    std::this_thread::sleep_for(std::chrono::seconds(10));
    std::_Exit(code);
  }

 private:
  // One collective: started on the MPI thread (possibly as several requests, for counts past
  // INT_MAX), finished when all its requests are.
  struct Job {
    std::string what;
    std::function<int(std::vector<MPI_Request>&)> start;
    std::vector<MPI_Request> requests;
    bool done = false;
    std::string error;
  };

  class MpiPending final : public Pending {
   public:
    MpiPending(MpiCommunicator& comm, std::shared_ptr<Job> job, std::function<void()> finish)
        : comm_(comm), job_(std::move(job)), finish_(std::move(finish)) {}
    ~MpiPending() override {
      if (!waited_) {
        try {
          comm_.wait(*job_, true);
        } catch (const std::exception&) {  // a destructor must not throw; the next collective reports it
        }
      }
    }
    void wait() override {
      waited_ = true;
      comm_.wait(*job_, true);
      if (finish_) finish_();
    }

   private:
    MpiCommunicator& comm_;
    std::shared_ptr<Job> job_;
    std::function<void()> finish_;
    bool waited_ = false;
  };

  // Splits a count into MPI's int counts; `start(begin, count)` returns an MPI error code.
  template <class Start>
  static int for_chunks(std::size_t n, Start start) {
    constexpr std::size_t kMax = static_cast<std::size_t>(INT_MAX) / 2;
    for (std::size_t begin = 0; begin < n; begin += kMax)
      if (int rc = start(begin, static_cast<int>(std::min(kMax, n - begin))); rc != MPI_SUCCESS) return rc;
    return MPI_SUCCESS;
  }

  template <class T>
  std::unique_ptr<Pending> all_reduce_typed(T* data, std::size_t n, ReduceOp op, Device where, MPI_Datatype type) {
    // A CUDA buffer travels through a host copy (CUDA-aware MPI is not assumed).
    std::shared_ptr<std::vector<T>> staged;
    T* host = data;
    if (where.is_cuda()) {
      staged = std::make_shared<std::vector<T>>(n);
      host = staged->data();
      copy_bytes(host, Device::cpu(), data, where, n * sizeof(T));
    }
    const std::string what = "all-reduce of " + std::to_string(n) + (sizeof(T) == 4 ? " floats" : " doubles");
    auto job = submit(what, [=](std::vector<MPI_Request>& reqs) {
      return for_chunks(n, [&](std::size_t begin, int count) {
        reqs.emplace_back();
        return MPI_Iallreduce(MPI_IN_PLACE, host + begin, count, type, MPI_SUM, MPI_COMM_WORLD, &reqs.back());
      });
    });
    const int world = size_;
    auto finish = [=] {
      if (op == ReduceOp::Mean)
        for (std::size_t i = 0; i < n; ++i) host[i] /= static_cast<T>(world);
      if (staged) copy_bytes(data, where, host, Device::cpu(), n * sizeof(T));
    };
    return std::make_unique<MpiPending>(*this, std::move(job), finish);
  }

  std::shared_ptr<Job> submit(std::string what, std::function<int(std::vector<MPI_Request>&)> start) {
    auto job = std::make_shared<Job>();
    job->what = std::move(what);
    job->start = std::move(start);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(job);
    }
    cv_.notify_all();
    return job;
  }

  void wait(const Job& job, bool timed) {
    ++waiters_;
    struct Leave {
      std::atomic<int>& n;
      ~Leave() { --n; }
    } leave{waiters_};
    std::unique_lock<std::mutex> lock(mutex_);
    const bool done = timed ? done_cv_.wait_for(lock, timeout(), [&] { return job.done; })
                            : (done_cv_.wait(lock, [&] { return job.done; }), true);
    if (!done) throw DistError(job.what + " did not complete within " + seconds_text(timeout()) + timeout_hint());
    if (!job.error.empty()) throw DistError(job.what + " failed: " + job.error);
  }

  static std::string error_text(int rc) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    return std::string(text, static_cast<std::size_t>(len));
  }

  // The MPI thread.
  void run() {
    int provided = 0;
    int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    if (rc == MPI_SUCCESS) {
      MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
      MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
      MPI_Comm_size(MPI_COMM_WORLD, &size_);
      MPI_Comm node;
      rc = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
      if (rc == MPI_SUCCESS) {
        MPI_Comm_rank(node, &local_rank_);
        MPI_Comm_size(node, &local_size_);
        MPI_Comm_free(&node);
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      started_ = true;
      if (rc != MPI_SUCCESS) init_error_ = "initialisation failed: " + error_text(rc);
    }
    cv_.notify_all();
    if (rc != MPI_SUCCESS) return;

    std::vector<std::shared_ptr<Job>> active;
    for (;;) {
      std::deque<std::shared_ptr<Job>> fresh;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (active.empty()) cv_.wait(lock, [&] { return stopping_ || abort_code_ >= 0 || !queue_.empty(); });
        if (abort_code_ >= 0) MPI_Abort(MPI_COMM_WORLD, abort_code_);
        if (stopping_ && active.empty() && queue_.empty()) break;
        fresh.swap(queue_);
      }
      for (auto& job : fresh) {
        if (int err = job->start(job->requests); err != MPI_SUCCESS) {
          finish(*job, error_text(err));
          continue;
        }
        active.push_back(job);
      }
      bool progressed = false;
      for (auto& job : active) {
        int flag = 0;
        const int err = MPI_Testall(static_cast<int>(job->requests.size()), job->requests.data(), &flag,
                                    MPI_STATUSES_IGNORE);
        if (err != MPI_SUCCESS || flag) {
          finish(*job, err == MPI_SUCCESS ? "" : error_text(err));
          job.reset();
          progressed = true;
        }
      }
      active.erase(std::remove(active.begin(), active.end(), nullptr), active.end());
      // Between tests the thread sleeps: a spinning poll would take a core from backward.
      // While a caller waits, its core is idle: poll at full speed. Otherwise sleep between tests,
      // since a spinning poll would take a core from backward.
      if (!active.empty() && !progressed) {
        if (waiters_.load() > 0) std::this_thread::yield();
        else std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    }
    MPI_Finalize();
  }

  void finish(Job& job, std::string error) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job.done = true;
      job.error = std::move(error);
    }
    done_cv_.notify_all();
  }

  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  std::mutex mutex_;
  std::condition_variable cv_, done_cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool started_ = false, stopping_ = false;
  int abort_code_ = -1;
  std::atomic<int> waiters_{0};  // callers blocked in wait()
  std::string init_error_;
  std::thread thread_;  // last: started once every member above exists
};

}  // namespace tlc::dist
