#pragma once
// A fixed pool of worker threads and parallel_for. The calling thread takes part in the work;
// nested parallel_for calls run serially on the calling thread (no oversubscription).
// Between parallel regions the workers spin for a short while before they sleep: a network's ops
// follow each other within microseconds, and waking a sleeping thread costs tens of microseconds
// (far more under a hypervisor, where an idle vCPU is descheduled), which at 256x256 made two
// threads barely faster than one.
// Thread count: set_num_threads(), else the TLC_NUM_THREADS environment variable, else the
// hardware concurrency.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "tlc/core/config.hpp"

namespace tlc {

class ThreadPool {
 public:
  explicit ThreadPool(int threads) { start(threads); }
  ~ThreadPool() { stop(); }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int threads) {
    if (threads == num_threads()) return;
    stop();
    start(threads);
  }

  // Runs fn(task) for task in [0, tasks), spread over all threads; rethrows the first exception.
  void run(index_t tasks, const std::function<void(index_t)>& fn) {
    if (tasks <= 0) return;
    if (tasks == 1 || workers_.empty() || in_worker()) {
      for (index_t t = 0; t < tasks; ++t) fn(t);
      return;
    }
    std::lock_guard<std::mutex> serial(run_mutex_);  // one parallel region at a time
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      job_tasks_ = tasks;
      next_task_.store(0);
      pending_workers_.store(static_cast<int>(workers_.size()));
      error_ = nullptr;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    work_loop();
    spin_until([&] { return pending_workers_.load() == 0; });
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_workers_.load() == 0; });
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Polls done() for up to ~200 us; the caller then blocks as usual.
  template <class Done>
  static void spin_until(Done&& done) {
    constexpr auto kSpin = std::chrono::microseconds(200);
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int i = 0; !done(); ++i) {
      std::this_thread::yield();  // not a pause: with more threads than cores the others get to run
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return;
    }
  }

  static bool& in_worker() {
    thread_local bool flag = false;
    return flag;
  }

  void start(int threads) {
    threads = std::max(1, threads);
    quit_ = false;
    const std::size_t seen = generation_.load();  // new workers wait for the next region only
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, seen] { worker(seen); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quit_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  void work_loop() {
    bool was = in_worker();
    in_worker() = true;
    for (;;) {
      index_t t = next_task_.fetch_add(1);
      if (t >= job_tasks_) break;
      try {
        (*job_)(t);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
    in_worker() = was;
  }

  void worker(std::size_t seen) {
    for (;;) {
      spin_until([&] { return quit_.load() || generation_.load() != seen; });
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return quit_.load() || generation_.load() != seen; });
        if (quit_) return;
        seen = generation_.load();
      }
      work_loop();
      if (pending_workers_.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);  // the caller checks the count under this lock
        done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex run_mutex_, mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(index_t)>* job_ = nullptr;
  index_t job_tasks_ = 0;
  std::atomic<index_t> next_task_{0};
  std::atomic<int> pending_workers_{0};
  std::atomic<std::size_t> generation_{0};
  std::atomic<bool> quit_{false};
  std::exception_ptr error_;
};

namespace detail {
inline int default_num_threads() {
  if (const char* env = std::getenv("TLC_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}
}  // namespace detail

inline ThreadPool& thread_pool() {
  static ThreadPool* pool = new ThreadPool(detail::default_num_threads());  // never destroyed
  return *pool;
}

inline int num_threads() { return thread_pool().num_threads(); }
inline void set_num_threads(int n) { thread_pool().resize(n); }

// Calls fn(lo, hi) on disjoint chunks covering [begin, end). Chunks hold at least `grain`
// items; a range below one grain runs inline.
template <class F>
void parallel_for(index_t begin, index_t end, index_t grain, F&& fn) {
  index_t n = end - begin;
  if (n <= 0) return;
  grain = std::max<index_t>(grain, 1);
  index_t threads = num_threads();
  index_t chunks = std::min<index_t>((n + grain - 1) / grain, threads * 4);
  if (chunks <= 1) {
    fn(begin, end);
    return;
  }
  index_t step = (n + chunks - 1) / chunks;
  chunks = (n + step - 1) / step;
  std::function<void(index_t)> task = [&](index_t c) {
    index_t lo = begin + c * step;
    fn(lo, std::min(end, lo + step));
  };
  thread_pool().run(chunks, task);
}

}  // namespace tlc
