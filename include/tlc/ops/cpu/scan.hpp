#pragma once
// Running sums in double, vectorised: the horizontal half of TLC's window sums, where a scalar
// loop is bound by the latency of one add per output. One AVX2 kernel (compiled for AVX2 whatever
// the build's flags, run where cpu_isa() allows it; 4 doubles are enough to hide the add latency);
// without it the caller's scalar loop does all the work.
#include "tlc/core/config.hpp"
#include "tlc/ops/cpu/isa_target.hpp"

namespace tlc::cpu {

namespace scan_detail {
#if TLC_CPU_X86
TLC_TARGET_BEGIN("avx2,fma")
inline index_t running_sum_avx2(const double* plus, const double* minus, index_t t, index_t t_end, double& s,
                                double* dst) {
  const __m256d zero = _mm256_setzero_pd();
  __m256d carry = _mm256_set1_pd(s);
  for (; t + 4 <= t_end; t += 4) {
    __m256d p = _mm256_sub_pd(_mm256_loadu_pd(plus + t), _mm256_loadu_pd(minus + t));
    p = _mm256_add_pd(p, _mm256_blend_pd(_mm256_permute4x64_pd(p, 0x90), zero, 0x1));  // lane j += lane j-1
    p = _mm256_add_pd(p, _mm256_permute2f128_pd(p, p, 0x08));                        // lanes 2,3 += lanes 0,1
    _mm256_storeu_pd(dst + t, _mm256_add_pd(carry, p));
    carry = _mm256_add_pd(carry, _mm256_permute4x64_pd(p, 0xFF));
  }
  s = _mm256_cvtsd_f64(carry);
  return t;
}
TLC_TARGET_END
#endif
}  // namespace scan_detail

// For t in [t, t_end) in whole vectors: s += plus[t] - minus[t]; dst[t] = s. Returns the first t
// not done (the caller finishes the tail) and leaves s at dst[that t - 1]. Inside a vector the
// differences are prefix-summed by shifted adds; the carried sum takes one add per vector.
inline index_t running_sum_of_differences(const double* plus, const double* minus, index_t t, index_t t_end, double& s,
                                          double* dst) {
#if TLC_CPU_X86
  if (cpu_isa() != CpuIsa::Scalar) return scan_detail::running_sum_avx2(plus, minus, t, t_end, s, dst);
#else
  (void)plus, (void)minus, (void)t_end, (void)s, (void)dst;
#endif
  return t;
}

}  // namespace tlc::cpu
