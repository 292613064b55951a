#pragma once
// Averages gradients over the ranks of a communicator in buckets of about `bucket_bytes`, the way
// PyTorch's DDP reducer does: parameters are grouped in reverse order (the order backward tends
// to finish them), and a bucket is packed and its all-reduce started as soon as its last
// gradient is complete (autograd::backward's on_leaf_ready), so communication runs under the rest
// of backward. finish() starts what is left, waits, and writes the means back into the gradients.
//
// Every rank runs the same graph, so buckets fill in the same order everywhere and collectives
// match. A parameter that got no gradient (unused on every rank alike) is left without one.
#include <algorithm>
#include <chrono>
#include <memory>
#include <unordered_map>
#include <vector>

#include "tlc/autograd/backward.hpp"
#include "tlc/core/storage.hpp"
#include "tlc/dist/communicator.hpp"

namespace tlc::dist {

// What the last step's averaging cost.
struct AveragingStats {
  double bytes = 0;           // reduced by this rank (per rank; the ring moves about 2x that)
  int buckets = 0;
  double exposed_seconds = 0; // waited in finish(), after backward: the part not hidden
};

template <class T>
class GradientAverager {
 public:
  GradientAverager(Communicator& comm, std::vector<Tensor<T>> params, std::size_t bucket_bytes = std::size_t(1) << 20,
                   bool overlap = true)
      : comm_(comm), params_(std::move(params)), overlap_(overlap) {
    std::size_t bytes = 0;
    for (std::size_t k = params_.size(); k-- > 0;) {
      const std::size_t b = static_cast<std::size_t>(params_[k].numel()) * sizeof(T);
      if (buckets_.empty() || bytes + b > bucket_bytes) {
        buckets_.emplace_back();
        bytes = 0;
      }
      Bucket& bucket = buckets_.back();
      bucket_of_[params_[k].impl()] = buckets_.size() - 1;
      bucket.members.push_back(k);
      bucket.offsets.push_back(bucket.numel);
      bucket.numel += params_[k].numel();
      bytes += b;
    }
  }

  // The hook to pass to autograd::backward.
  autograd::LeafReady<T> hook() {
    return [this](const Tensor<T>& leaf) {
      auto it = bucket_of_.find(leaf.impl());
      if (it == bucket_of_.end()) return;  // a leaf that is not one of our parameters
      Bucket& b = buckets_[it->second];
      if (++b.ready == b.members.size() && overlap_) launch(b);
    };
  }

  // After backward: every gradient holds its mean over the ranks.
  void finish() {
    const auto t0 = std::chrono::steady_clock::now();
    stats_ = {};
    for (Bucket& b : buckets_)
      if (!b.pending) launch(b);
    for (Bucket& b : buckets_) {
      b.pending->wait();
      b.pending.reset();
      unpack(b);
      b.ready = 0;
      stats_.bytes += static_cast<double>(b.numel) * sizeof(T);
      ++stats_.buckets;
    }
    stats_.exposed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  const AveragingStats& stats() const { return stats_; }
  std::size_t bucket_count() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<std::size_t> members;  // indices into params_
    std::vector<index_t> offsets;      // of each member in the flat buffer
    index_t numel = 0;
    std::size_t ready = 0;
    Tensor<T> flat;
    std::unique_ptr<Pending> pending;
  };

  void launch(Bucket& b) {
    const Device dev = params_[b.members.front()].device();
    if (!b.flat.defined() || b.flat.device() != dev) b.flat = Tensor<T>::zeros(Shape{b.numel}, dev);
    for (std::size_t j = 0; j < b.members.size(); ++j) {
      const Tensor<T> g = params_[b.members[j]].grad();
      if (g.defined()) copy_bytes(b.flat.data() + b.offsets[j], dev, g.data(), dev, bytes(g));
    }
    b.pending = comm_.all_reduce_async(b.flat.data(), static_cast<std::size_t>(b.numel), ReduceOp::Mean, dev);
  }

  void unpack(Bucket& b) {
    for (std::size_t j = 0; j < b.members.size(); ++j) {
      const Tensor<T> g = params_[b.members[j]].grad();
      if (g.defined()) copy_bytes(g.data(), g.device(), b.flat.data() + b.offsets[j], g.device(), bytes(g));
    }
  }

  static std::size_t bytes(const Tensor<T>& t) { return static_cast<std::size_t>(t.numel()) * sizeof(T); }

  Communicator& comm_;
  std::vector<Tensor<T>> params_;
  bool overlap_;
  std::vector<Bucket> buckets_;
  std::unordered_map<const void*, std::size_t> bucket_of_;  // parameter (its impl) -> bucket
  AveragingStats stats_;
};

}  // namespace tlc::dist
