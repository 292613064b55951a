// The NCCL communicator on this machine's GPUs: all-reduce (sum, mean; float, double; sizes 0, 1,
// odd, large) and broadcast of device buffers against the sequential result, plus host buffers
// handed to the bootstrap. Alone it runs one rank on GPU 0; under mpirun -np N, rank r uses GPU r.
// Exits 77 (CTest: skipped) without a GPU or with fewer GPUs than ranks.
#include <cmath>
#include <cstdio>
#include <vector>

#include "tlc/core/cuda_allocator.hpp"
#include "tlc/dist/launch.hpp"
#include "tlc/dist/nccl_communicator.hpp"

using namespace tlc;

namespace {

int failures = 0;

void expect(bool ok, const char* what, std::size_t n) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s (n = %zu)\n", what, n);
    ++failures;
  }
}

template <class T>
T value(int rank, std::size_t i) {
  return static_cast<T>(((i * 7 + 3) % 101) * 0.01 + rank);
}

template <class T>
void check_all_reduce(dist::Communicator& comm, std::size_t n, dist::ReduceOp op) {
  std::vector<T> host(n);
  for (std::size_t i = 0; i < n; ++i) host[i] = value<T>(comm.rank(), i);
  T* dev = static_cast<T*>(cuda::allocate(std::max<std::size_t>(1, n) * sizeof(T), comm.local_rank()));
  cuda::copy_h2d(dev, host.data(), n * sizeof(T));
  comm.all_reduce(dev, n, op, Device::cuda(comm.local_rank()));
  cuda::copy_d2h(host.data(), dev, n * sizeof(T));
  cuda::deallocate(dev, std::max<std::size_t>(1, n) * sizeof(T), comm.local_rank());
  bool ok = true;
  for (std::size_t i = 0; i < n; ++i) {
    double expected = 0;
    for (int r = 0; r < comm.size(); ++r) expected += value<T>(r, i);
    if (op == dist::ReduceOp::Mean) expected /= comm.size();
    ok = ok && std::abs(host[i] - expected) <= 1e-5 * comm.size() * (1 + std::abs(expected));
  }
  expect(ok, sizeof(T) == 4 ? "float all-reduce" : "double all-reduce", n);
}

}  // namespace

int main() {
  auto world = dist::communicator_from_environment();
  if (cuda_device_count() < 1 || world->local_rank() >= cuda_device_count()) {
    std::printf("skipped: %d GPU(s) for local rank %d\n", cuda_device_count(), world->local_rank());
    return 77;
  }
  return dist::run_or_abort(*world, "test_nccl", [&] {
    auto comm = dist::make_nccl_communicator(*world, world->local_rank());
    for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(1001), std::size_t(1) << 24}) {
      for (auto op : {dist::ReduceOp::Sum, dist::ReduceOp::Mean}) {
        check_all_reduce<float>(*comm, n, op);
        check_all_reduce<double>(*comm, n, op);
      }
    }
    std::vector<double> host = {1.0 + comm->rank(), 2.0};
    comm->all_reduce(host.data(), host.size(), dist::ReduceOp::Sum);  // host buffers: the bootstrap
    expect(host[1] == 2.0 * comm->size(), "host all-reduce", 2);
    std::vector<float> data(4099, static_cast<float>(comm->rank() + 1));
    float* dev = static_cast<float*>(cuda::allocate(data.size() * sizeof(float), comm->local_rank()));
    cuda::copy_h2d(dev, data.data(), data.size() * sizeof(float));
    comm->broadcast(dev, data.size() * sizeof(float), 0, Device::cuda(comm->local_rank()));
    cuda::copy_d2h(data.data(), dev, data.size() * sizeof(float));
    cuda::deallocate(dev, data.size() * sizeof(float), comm->local_rank());
    expect(data.front() == 1.0f && data.back() == 1.0f, "broadcast from rank 0", data.size());
    comm->barrier();
    if (comm->rank() == 0) std::printf("%s: NCCL on %d rank(s)\n", failures ? "FAILED" : "passed", comm->size());
    return failures ? 1 : 0;
  });
}
