#pragma once
// Small collectives built on a Communicator: gathering one value per rank, and checking that
// every rank holds the same text (settings, file lists) before a job starts.
#include <cstdint>
#include <string>
#include <vector>

#include "tlc/dist/communicator.hpp"
#include "tlc/io/checksum.hpp"

namespace tlc::dist {

// Every rank's `value`, indexed by rank (a sum of one-hot vectors, so exact).
inline std::vector<double> all_gather(Communicator& comm, double value) {
  std::vector<double> all(static_cast<std::size_t>(comm.size()), 0.0);
  all[static_cast<std::size_t>(comm.rank())] = value;
  comm.all_reduce(all.data(), all.size(), ReduceOp::Sum);
  return all;
}

// Throws the same DistError on every rank when some rank's `text` differs from rank 0's.
inline void check_same_everywhere(Communicator& comm, const std::string& text, const std::string& what) {
  if (comm.size() == 1) return;
  const std::uint64_t h = io::fnv1a64(text);
  // Two exact 32-bit halves: a double holds 53 bits.
  const std::vector<double> hi = all_gather(comm, static_cast<double>(h >> 32));
  const std::vector<double> lo = all_gather(comm, static_cast<double>(h & 0xffffffffu));
  std::string differ;
  for (std::size_t r = 1; r < hi.size(); ++r)
    if (hi[r] != hi[0] || lo[r] != lo[0]) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  TLC_CHECK(differ.empty(), DistError, "rank ", differ, " and rank 0 differ in ", what,
            ": every rank must start with the same ", what);
}

}  // namespace tlc::dist
