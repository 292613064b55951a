#pragma once
// The vector instruction set the CPU kernels run with, chosen at run time: the widest one this CPU
// and its operating system support among those we have kernels for. A portable build (TLC_NATIVE=OFF,
// plain x86-64) thus still multiplies with AVX2 or AVX-512 where the machine has them.
// TLC_ISA=scalar|avx2|avx512 in the environment caps the choice for a whole process; set_cpu_isa()
// does the same for the tests and benchmarks that compare the paths. Asking for an instruction set the
// CPU lacks is an error, never a crash.
#include <atomic>
#include <cstdlib>
#include <string>

#include "tlc/core/error.hpp"

namespace tlc {

enum class CpuIsa : int { Scalar = 0, Avx2 = 1, Avx512 = 2 };

inline const char* isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Avx512: return "avx512";
    case CpuIsa::Avx2: return "avx2";
    default: return "scalar";
  }
}

// What this CPU supports (AVX2 with FMA; AVX-512F), whatever the build's compiler flags.
inline CpuIsa cpu_isa_supported() {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  static const CpuIsa best = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return CpuIsa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CpuIsa::Avx2;
    return CpuIsa::Scalar;
  }();
  return best;
#else
  return CpuIsa::Scalar;
#endif
}

namespace detail {

inline CpuIsa parse_isa(const std::string& name) {
  if (name == "scalar") return CpuIsa::Scalar;
  if (name == "avx2") return CpuIsa::Avx2;
  if (name == "avx512") return CpuIsa::Avx512;
  throw Error("TLC_ISA: expected scalar, avx2 or avx512, found '" + name + "'");
}

inline CpuIsa checked_isa(CpuIsa isa, const char* who) {
  TLC_CHECK(static_cast<int>(isa) <= static_cast<int>(cpu_isa_supported()), Error, who, ": this CPU does not support ",
            isa_name(isa), " (it supports up to ", isa_name(cpu_isa_supported()), ")");
  return isa;
}

inline std::atomic<int>& isa_choice() {
  static std::atomic<int> choice{[] {
    const char* v = std::getenv("TLC_ISA");
    return static_cast<int>(v && *v ? checked_isa(parse_isa(v), "TLC_ISA") : cpu_isa_supported());
  }()};
  return choice;
}

}  // namespace detail

// The instruction set the kernels use now.
inline CpuIsa cpu_isa() { return static_cast<CpuIsa>(detail::isa_choice().load(std::memory_order_relaxed)); }

// Uses `isa` from now on (all threads); it must be supported by this CPU.
inline void set_cpu_isa(CpuIsa isa) {
  detail::isa_choice().store(static_cast<int>(detail::checked_isa(isa, "set_cpu_isa")));
}

}  // namespace tlc
