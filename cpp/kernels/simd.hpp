// The kernels' one SIMD vocabulary: GCC/Clang vector extensions (not intrinsics), so the same
// source compiles to AVX-512, AVX2 or SSE2 and the compiler schedules the registers.
//
// The width follows the flags of the translation unit that includes this header: the GEMM is
// compiled once per instruction set (gemm_avx512.cpp, gemm_avx2.cpp with their own -m flags,
// gemm.cpp with the target's), and each copy must see its own vectors. Everything here is in
// an anonymous namespace (internal linkage) for that reason: an inline `load` returning a
// 16-float vector in one file and an 8-float vector in another would otherwise be one symbol
// to the linker (a return type is not part of a function's mangled name), and the linker would
// keep either copy for both.
#pragma once

#include <cstdint>
#include <cstring>

namespace seqattn {
namespace simd {
namespace {

// Native float lanes per vector register, the register count, and the name build_info() shows.
#if defined(__AVX512F__)
constexpr int kLanes = 16;
constexpr int kRegisters = 32;
constexpr const char* kIsa = "AVX-512";
#elif defined(__AVX__)
constexpr int kLanes = 8;
constexpr int kRegisters = 16;
constexpr const char* kIsa = "AVX2";
#else
constexpr int kLanes = 4;
constexpr int kRegisters = 16;
constexpr const char* kIsa = "SSE2";
#endif

// Vectors of N floats (N a power of two; N wider than the registers compiles to several) and
// what the kernels do with them. Loads and stores go through memcpy: no alignment assumed.
template <int N>
struct Lanes {
  static constexpr int kWidth = N;
  typedef float Vec __attribute__((vector_size(N * sizeof(float))));
  typedef std::int32_t IVec __attribute__((vector_size(N * sizeof(std::int32_t))));

  static Vec load(const float* p) {
    Vec v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(float* p, const Vec& v) { std::memcpy(p, &v, sizeof v); }
  static Vec splat(float x) { return Vec{} + x; }
  static Vec min(Vec a, Vec b) { return a < b ? a : b; }
  static Vec max(Vec a, Vec b) { return a > b ? a : b; }

  // Horizontal sum and max as a halving tree in a fixed order (lane i + w into lane i, w =
  // N/2, ..., 1): log2(N) dependent steps instead of an N-long chain of scalar adds, and the
  // same rounding on every call.
  static float hsum(Vec v) {
    float a[N];
    std::memcpy(a, &v, sizeof v);
    for (int w = N / 2; w >= 1; w /= 2)
      for (int i = 0; i < w; ++i) a[i] += a[i + w];
    return a[0];
  }
  static float hmax(Vec v) {
    float a[N];
    std::memcpy(a, &v, sizeof v);
    for (int w = N / 2; w >= 1; w /= 2)
      for (int i = 0; i < w; ++i) a[i] = a[i] > a[i + w] ? a[i] : a[i + w];
    return a[0];
  }
};

// One register of this translation unit's instruction set.
using Native = Lanes<kLanes>;

}  // namespace
}  // namespace simd
}  // namespace seqattn
