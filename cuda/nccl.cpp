// NcclCommunicator: CUDA buffers reduced by NCCL on a stream of their own, host work handed to the
// bootstrap communicator (MPI). Our kernels run on the legacy default stream (runtime.cuh), so a
// collective first waits for the work queued there; a Pending is done when the host has seen the
// collective's event, after which any later kernel sees the result.
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <string>
#include <thread>

#include "tlc/dist/nccl_communicator.hpp"

namespace tlc::dist {

namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw DistError(std::string("NCCL communicator: ") + what + ": " + cudaGetErrorString(e));
}
void check(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) throw DistError(std::string("NCCL: ") + what + ": " + ncclGetErrorString(r));
}

// Polls the collective's event (a blocking sync could not time out), and NCCL's own error state.
class NcclPending final : public Pending {
 public:
  NcclPending(cudaEvent_t done, ncclComm_t comm, std::chrono::milliseconds timeout, std::string what)
      : done_(done), comm_(comm), timeout_(timeout), what_(std::move(what)) {}
  ~NcclPending() override {
    if (!waited_) {
      try {
        wait();
      } catch (const std::exception&) {  // a destructor must not throw; the next collective reports it
      }
    }
    cudaEventDestroy(done_);
  }
  void wait() override {
    waited_ = true;
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (;;) {
      const cudaError_t e = cudaEventQuery(done_);
      if (e == cudaSuccess) return;
      if (e != cudaErrorNotReady) check(e, what_.c_str());
      ncclResult_t async = ncclSuccess;
      check(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError");
      check(async, what_.c_str());
      if (std::chrono::steady_clock::now() > deadline) {
        ncclCommAbort(comm_);
        throw DistError(what_ + " did not complete within " + seconds_text(timeout_) + timeout_hint());
      }
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

 private:
  cudaEvent_t done_;
  ncclComm_t comm_;
  std::chrono::milliseconds timeout_;
  std::string what_;
  bool waited_ = false;
};

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(Communicator& bootstrap, int device) : boot_(bootstrap) {
    check(cudaSetDevice(device), "cudaSetDevice");
    ncclUniqueId id{};
    if (boot_.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    boot_.broadcast(&id, sizeof id, 0);
    check(ncclCommInitRank(&comm_, boot_.size(), id, boot_.rank()), "ncclCommInitRank");
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    set_timeout(boot_.timeout());
  }
  ~NcclCommunicator() override {
    cudaStreamDestroy(stream_);
    ncclCommDestroy(comm_);
  }
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return boot_.rank(); }
  int size() const override { return boot_.size(); }
  int local_rank() const override { return boot_.local_rank(); }
  int local_size() const override { return boot_.local_size(); }
  std::string backend() const override { return "nccl"; }

  std::unique_ptr<Pending> all_reduce_async(float* data, std::size_t n, ReduceOp op, Device where) override {
    if (!where.is_cuda()) return boot_.all_reduce_async(data, n, op, where);
    return reduce(data, n, ncclFloat, op, std::to_string(n) + " floats");
  }
  std::unique_ptr<Pending> all_reduce_async(double* data, std::size_t n, ReduceOp op, Device where) override {
    if (!where.is_cuda()) return boot_.all_reduce_async(data, n, op, where);
    return reduce(data, n, ncclDouble, op, std::to_string(n) + " doubles");
  }

  void broadcast(void* data, std::size_t bytes, int root, Device where) override {
    if (!where.is_cuda()) return boot_.broadcast(data, bytes, root, where);
    after_default_stream();
    check(ncclBroadcast(data, data, bytes, ncclUint8, root, comm_, stream_), "ncclBroadcast");
    pending("broadcast of " + std::to_string(bytes) + " bytes")->wait();
  }

  void barrier() override { boot_.barrier(); }
  void abort(int code) override {
    ncclCommAbort(comm_);
    boot_.abort(code);
  }

 private:
  std::unique_ptr<Pending> reduce(void* data, std::size_t n, ncclDataType_t type, ReduceOp op,
                                  const std::string& what) {
    after_default_stream();
    const ncclRedOp_t nccl_op = op == ReduceOp::Mean ? ncclAvg : ncclSum;
    check(ncclAllReduce(data, data, n, type, nccl_op, comm_, stream_), "ncclAllReduce");
    return pending("all-reduce of " + what);
  }

  // NCCL's stream waits for the kernels queued so far on the legacy default stream.
  void after_default_stream() {
    cudaEvent_t queued;
    check(cudaEventCreateWithFlags(&queued, cudaEventDisableTiming), "cudaEventCreate");
    check(cudaEventRecord(queued, 0), "cudaEventRecord");
    check(cudaStreamWaitEvent(stream_, queued, 0), "cudaStreamWaitEvent");
    cudaEventDestroy(queued);  // released once the wait is satisfied
  }

  std::unique_ptr<Pending> pending(std::string what) {
    cudaEvent_t done;
    check(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreate");
    check(cudaEventRecord(done, stream_), "cudaEventRecord");
    return std::make_unique<NcclPending>(done, comm_, timeout(), std::move(what));
  }

  Communicator& boot_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(Communicator& bootstrap, int device) {
  return std::make_unique<NcclCommunicator>(bootstrap, device);
}

}  // namespace tlc::dist
