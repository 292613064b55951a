#pragma once
// The precision of the CPU's float matrix products (cpu::gemm: the 1x1 and im2col convolutions,
// attention): fp32 by default; bf16 rounds both operands of every product to bfloat16 (8 significant
// bits, to nearest even) and sums in fp32, twice the multiply rate of fp32 on CPUs with
// AVX512-BF16 (vdpbf16ps). Meant for inference: training keeps fp32 unless a caller asks otherwise.
// TLC_MATMUL=fp32|bf16 in the environment sets it for a whole process, set_matmul_precision() for
// the commands and tests that choose; asking for bf16 on a CPU without AVX512-BF16 is an error. The
// bf16 kernel is an AVX-512 kernel: with TLC_ISA (or set_cpu_isa) below avx512 the products are fp32.
#include <atomic>
#include <cstdlib>
#include <string>

#include "tlc/core/error.hpp"

namespace tlc {

enum class MatmulPrecision : int { Fp32 = 0, Bf16 = 1 };

inline const char* precision_name(MatmulPrecision p) { return p == MatmulPrecision::Bf16 ? "bf16" : "fp32"; }

// Whether this CPU has the bf16 dot product (and the AVX-512 the kernel around it needs).
inline bool cpu_has_bf16() {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
  }();
  return has;
#else
  return false;
#endif
}

// "fp32" or "bf16"; anything else (or bf16 on a CPU without it) is an Error naming `who`.
inline MatmulPrecision parse_matmul_precision(const std::string& name, const std::string& who) {
  if (name == "fp32") return MatmulPrecision::Fp32;
  TLC_CHECK(name == "bf16", Error, who, ": expected fp32 or bf16, found '", name, "'");
  TLC_CHECK(cpu_has_bf16(), Error, who, ": bf16 needs a CPU with AVX512-BF16 (Intel Cooper Lake or Sapphire Rapids "
            "and later, AMD Zen 4 and later); this one has none");
  return MatmulPrecision::Bf16;
}

namespace detail {
inline std::atomic<int>& precision_choice() {
  static std::atomic<int> choice{[] {
    const char* v = std::getenv("TLC_MATMUL");
    return static_cast<int>(v && *v ? parse_matmul_precision(v, "TLC_MATMUL") : MatmulPrecision::Fp32);
  }()};
  return choice;
}
}  // namespace detail

// The precision the float products use now.
inline MatmulPrecision matmul_precision() {
  return static_cast<MatmulPrecision>(detail::precision_choice().load(std::memory_order_relaxed));
}

// Uses `p` from now on (all threads); bf16 needs cpu_has_bf16().
inline void set_matmul_precision(MatmulPrecision p) {
  TLC_CHECK(p == MatmulPrecision::Fp32 || cpu_has_bf16(), Error,
            "set_matmul_precision: bf16 needs a CPU with AVX512-BF16; this one has none");
  detail::precision_choice().store(static_cast<int>(p));
}

}  // namespace tlc
