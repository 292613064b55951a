// Devices, synchronisation, TF32 policy and the per-thread cuBLAS / cuDNN handles.
#include <atomic>
#include <mutex>
#include <vector>

#include "check.cuh"
#include "handles.cuh"
#include "runtime.cuh"
#include "tlc/core/cuda_runtime.hpp"

namespace tlc::cuda {

namespace {

struct DeviceInfo {
  int sm_count = 1;
  int max_threads_per_sm = 1024;
};

// Queried once: the device list of a process does not change while it runs.
const std::vector<DeviceInfo>& devices() {
  static const std::vector<DeviceInfo> list = [] {
    std::vector<DeviceInfo> out;
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // no driver or no device: a CPU-only run, not an error
      return out;
    }
    for (int d = 0; d < n; ++d) {
      DeviceInfo info;
      cudaDeviceGetAttribute(&info.sm_count, cudaDevAttrMultiProcessorCount, d);
      cudaDeviceGetAttribute(&info.max_threads_per_sm, cudaDevAttrMaxThreadsPerMultiProcessor, d);
      out.push_back(info);
    }
    cudaGetLastError();
    return out;
  }();
  return list;
}

std::atomic<bool> g_allow_tf32{false};

// Handles are never destroyed: a thread that ends gives its handles to the next thread, and the
// driver releases them at process exit (destroying them from static destructors races the
// CUDA runtime's own teardown).
struct HandlePool {
  std::mutex mutex;
  std::vector<std::vector<cublasHandle_t>> cublas;
  std::vector<std::vector<cudnnHandle_t>> cudnn;
};
HandlePool& pool() {
  static HandlePool* p = new HandlePool();
  return *p;
}

struct ThreadHandles {
  std::vector<cublasHandle_t> cublas;  // by device, null until first use
  std::vector<cudnnHandle_t> cudnn;
  ~ThreadHandles() {
    HandlePool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    for (size_t d = 0; d < cublas.size(); ++d)
      if (cublas[d]) p.cublas[d].push_back(cublas[d]);
    for (size_t d = 0; d < cudnn.size(); ++d)
      if (cudnn[d]) p.cudnn[d].push_back(cudnn[d]);
  }
};
thread_local ThreadHandles t_handles;

// Returns this thread's handle for the current device: its own, one from the pool, or a new one.
template <class Handle, class Create>
Handle thread_handle(std::vector<Handle>& mine, std::vector<std::vector<Handle>> HandlePool::*pooled, Create create) {
  const int d = detail::current_device();
  if (mine.size() <= static_cast<size_t>(d)) mine.resize(static_cast<size_t>(d) + 1, nullptr);
  Handle& h = mine[static_cast<size_t>(d)];
  if (h) return h;
  {
    HandlePool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    auto& free = p.*pooled;
    if (free.size() <= static_cast<size_t>(d)) free.resize(static_cast<size_t>(d) + 1);
    if (!free[static_cast<size_t>(d)].empty()) {
      h = free[static_cast<size_t>(d)].back();
      free[static_cast<size_t>(d)].pop_back();
      return h;
    }
  }
  h = create();
  return h;
}

}  // namespace

int device_count() { return static_cast<int>(devices().size()); }

void set_device(int index) {
  detail::check_device("cuda::set_device", index);
  TLC_CUDA_CHECK(cudaSetDevice(index));
}

void synchronize() { TLC_CUDA_CHECK(cudaDeviceSynchronize()); }

void set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool allow_tf32() { return g_allow_tf32.load(); }

namespace detail {

int current_device() {
  int d = 0;
  TLC_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

void check_device(const char* op, int device) {
  const int n = device_count();
  TLC_CHECK(n > 0, DeviceError, op, ": expected a CUDA device, found none (no GPU or no driver)");
  TLC_CHECK(device >= 0 && device < n, DeviceError, op, ": expected a device index in [0, ", n, "), found ", device);
}

int resident_blocks(int threads) {
  const int d = current_device();
  TLC_CHECK(d < device_count(), DeviceError, "cuda: expected a current device below ", device_count(), ", found ", d);
  const DeviceInfo& info = devices()[static_cast<size_t>(d)];
  return info.sm_count * std::max(1, info.max_threads_per_sm / threads);
}

cublasHandle_t cublas_handle() {
  return thread_handle(t_handles.cublas, &HandlePool::cublas, [] {
    cublasHandle_t h = nullptr;
    TLC_CUBLAS_CHECK(cublasCreate(&h));
    return h;
  });
}

cudnnHandle_t cudnn_handle() {
  return thread_handle(t_handles.cudnn, &HandlePool::cudnn, [] {
    cudnnHandle_t h = nullptr;
    TLC_CUDNN_CHECK(cudnnCreate(&h));
    return h;
  });
}

DeviceGuard::DeviceGuard(int device) {
  const int current = current_device();
  if (current != device) {
    TLC_CUDA_CHECK(cudaSetDevice(device));
    previous_ = current;
  }
}

DeviceGuard::~DeviceGuard() {
  if (previous_ >= 0) cudaSetDevice(previous_);
}

}  // namespace detail
}  // namespace tlc::cuda
