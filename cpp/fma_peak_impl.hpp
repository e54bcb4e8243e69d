// The FMA throughput loop, included by one translation unit per instruction set
// (fma_peak_avx512.cpp, fma_peak_avx2.cpp with their own -m flags, fma_peak.cpp with the
// target's), like gemm_impl.hpp. Internal linkage: the copies never mix at link time.
#pragma once
#include <cstdint>
#include <cstring>

#include "fma_peak.hpp"
#include "kernels/simd.hpp"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace seqattn {
namespace {

using PeakSimd = simd::Native;
using PeakVec = PeakSimd::Vec;

// Independent accumulators: an FMA has 4 cycles of latency and 2 ports on the cores we run
// on (Zen 4, Ice Lake and later), so 8 chains in flight fill them; 12 leaves a margin and fits
// the 16 registers of AVX2 with the two operands.
constexpr int kFmaAccumulators = 12;

// An explicit FMA instruction where the ISA has one: the compiler's contraction of a*b + c is
// a flag (-ffp-contract) away from two instructions.
__attribute__((always_inline)) inline PeakVec fused(PeakVec a, PeakVec b, PeakVec c) {
#if defined(__AVX512F__)
  return reinterpret_cast<PeakVec>(_mm512_fmadd_ps(reinterpret_cast<__m512>(a),
                                                   reinterpret_cast<__m512>(b),
                                                   reinterpret_cast<__m512>(c)));
#elif defined(__AVX2__) && defined(__FMA__)
  return reinterpret_cast<PeakVec>(_mm256_fmadd_ps(reinterpret_cast<__m256>(a),
                                                   reinterpret_cast<__m256>(b),
                                                   reinterpret_cast<__m256>(c)));
#else
  return a * b + c;
#endif
}

#if defined(__AVX512F__)
constexpr const char* kPeakIsa = "AVX-512";
#elif defined(__AVX2__) && defined(__FMA__)
constexpr const char* kPeakIsa = "AVX2+FMA";
#else
constexpr const char* kPeakIsa = simd::kIsa;  // multiply and add, no FMA
#endif

// acc = acc * m + c on every accumulator, `iterations` times. With m < 1 each chain converges
// to c / (1 - m) = 1: no overflow, no subnormals (which would slow some cores down). The sum
// returned depends on every FMA, so the compiler must run them all.
double fma_loop(std::int64_t iterations) {
  PeakVec acc[kFmaAccumulators];
  for (int i = 0; i < kFmaAccumulators; ++i) acc[i] = PeakSimd::splat(0.5f + 0.01f * i);
  const PeakVec m = PeakSimd::splat(0.999f), c = PeakSimd::splat(0.001f);
  for (std::int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kFmaAccumulators; ++i) acc[i] = fused(acc[i], m, c);
  }
  PeakVec total = acc[0];
  for (int i = 1; i < kFmaAccumulators; ++i) total += acc[i];
  return PeakSimd::hsum(total);
}

FmaLoop this_fma_loop() { return {&fma_loop, PeakSimd::kWidth, kFmaAccumulators, kPeakIsa}; }

}  // namespace
}  // namespace seqattn
