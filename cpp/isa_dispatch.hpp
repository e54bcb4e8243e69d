// Run-time choice between a kernel's AVX-512, AVX2+FMA and portable builds (the GEMM, the FMA
// peak loop): each ISA build is its own translation unit with its own compile flags
// (CMakeLists.txt), whose `run` is null when the compiler could not build it.
#pragma once

namespace seqattn {

// The first of avx512(), avx2() whose `run` is set and whose instructions this CPU has, else
// baseline(). Called once per kernel (its result is kept in a function-local static).
template <class Kernel, class Avx512, class Avx2, class Baseline>
Kernel pick_by_isa(Avx512 avx512, Avx2 avx2, Baseline baseline) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    const Kernel k = avx512();
    if (k.run) return k;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    const Kernel k = avx2();
    if (k.run) return k;
  }
#else
  (void)avx512;
  (void)avx2;
#endif
  return baseline();
}

}  // namespace seqattn
