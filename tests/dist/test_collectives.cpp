// The MPI communicator against a sequential sum, run under mpirun with 2 and 3 ranks: every rank
// builds every rank's input from a seed, so each knows the exact expected result.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "tlc/core/rng.hpp"
#include "tlc/dist/collectives.hpp"
#include "tlc/dist/launch.hpp"

using namespace tlc;

namespace {

dist::Communicator* g_comm = nullptr;

template <class T>
std::vector<T> input_of(int rank, std::size_t n) {
  Rng rng(1000 + static_cast<std::uint64_t>(rank) * 7919 + n);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(rng.uniform() * 2 - 1);
  return v;
}

// The sum over ranks in rank order, as a reference (in double: MPI may add in another order).
template <class T>
std::vector<double> sequential_sum(int ranks, std::size_t n) {
  std::vector<double> sum(n, 0.0);
  for (int r = 0; r < ranks; ++r) {
    const auto v = input_of<T>(r, n);
    for (std::size_t i = 0; i < n; ++i) sum[i] += v[i];
  }
  return sum;
}

template <class T>
void check_all_reduce(std::size_t n, dist::ReduceOp op) {
  dist::Communicator& comm = *g_comm;
  std::vector<T> data = input_of<T>(comm.rank(), n);
  comm.all_reduce(data.data(), n, op);
  const std::vector<double> sum = sequential_sum<T>(comm.size(), n);
  const double divide = op == dist::ReduceOp::Mean ? comm.size() : 1;
  // Each rank's addends are |x| <= 1: a float sum of N of them is off by at most N ulps of N.
  const double tol = comm.size() * comm.size() * (sizeof(T) == 4 ? 6e-8 : 1.2e-16);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad += std::abs(data[i] - sum[i] / divide) > tol;
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("all-reduce sum and mean of sizes 0, 1, odd and large, float and double") {
  for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(7), std::size_t(1001), std::size_t(3) << 20}) {
    INFO("n = " << n);
    check_all_reduce<float>(n, dist::ReduceOp::Sum);
    check_all_reduce<float>(n, dist::ReduceOp::Mean);
    check_all_reduce<double>(n, dist::ReduceOp::Sum);
    check_all_reduce<double>(n, dist::ReduceOp::Mean);
  }
}

TEST_CASE("several asynchronous all-reduces in flight finish in any wait order") {
  dist::Communicator& comm = *g_comm;
  std::vector<std::vector<float>> bufs;
  for (std::size_t n : {100, 5000, 3, 70000}) bufs.push_back(input_of<float>(comm.rank(), n));
  std::vector<std::unique_ptr<dist::Pending>> pending;
  for (auto& b : bufs) pending.push_back(comm.all_reduce_async(b.data(), b.size(), dist::ReduceOp::Sum, Device::cpu()));
  for (std::size_t k = pending.size(); k-- > 0;) pending[k]->wait();
  for (auto& b : bufs) {
    const auto sum = sequential_sum<float>(comm.size(), b.size());
    for (std::size_t i = 0; i < b.size(); ++i) REQUIRE(std::abs(b[i] - sum[i]) < 1e-5);
  }
}

TEST_CASE("broadcast from every root, sizes 0, 1 and large; barrier") {
  dist::Communicator& comm = *g_comm;
  for (int root = 0; root < comm.size(); ++root) {
    for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(1) << 22}) {
      std::vector<double> data = input_of<double>(comm.rank(), n);
      comm.broadcast(data.data(), n * sizeof(double), root);
      CHECK(data == input_of<double>(root, n));
    }
  }
  comm.barrier();
  CHECK_THROWS_AS(comm.broadcast(nullptr, 0, comm.size()), dist::DistError);
}

TEST_CASE("all_gather and check_same_everywhere") {
  dist::Communicator& comm = *g_comm;
  const auto ranks = dist::all_gather(comm, comm.rank() * 10.0);
  REQUIRE(ranks.size() == static_cast<std::size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r) CHECK(ranks[r] == r * 10.0);
  CHECK_NOTHROW(dist::check_same_everywhere(comm, "same text", "the settings"));
  CHECK_THROWS_WITH(dist::check_same_everywhere(comm, comm.rank() == 1 ? "other" : "same", "the settings"),
                    Catch::Contains("rank 1 and rank 0 differ in the settings"));
}

int main(int argc, char** argv) {
  auto comm = dist::communicator_from_environment();
  g_comm = comm.get();
  if (comm->size() < 2) {
    std::fprintf(stderr, "expected to run under mpirun with at least 2 ranks, found %d\n", comm->size());
    return 1;
  }
  return Catch::Session().run(argc, argv);
}
