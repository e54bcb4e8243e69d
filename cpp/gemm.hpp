// Our own single-precision matrix product for the shapes of these models, BLIS style:
// pack blocks of A and B into contiguous panels, then a register-blocked micro-kernel
// (MR rows x NR columns of C held in SIMD registers) runs over the panels.
//
// Why not Eigen: Eigen 3.4's product reached 50-75 GFLOP/s on 2 threads for the base model's
// shapes on the development machine (sgemm 1024^3 via PyTorch: 132), and its blocking depends
// on the matrix shape, so the work had to be cut into fixed tiny blocks (16-row dW blocks ran
// at 15-20 GFLOP/s) to stay bit-identical across thread counts. Here the summation order of
// every C element is fixed (k in KC blocks, ascending, one accumulator per element) and
// threads only split C into disjoint tiles, so results do not depend on the thread count.
//
// SIMD: the micro-kernel (gemm_impl.hpp) is written with GCC/Clang vector extensions and
// compiled once per instruction set (AVX-512, AVX2 + FMA, and the build's baseline); the first
// call picks the widest one the CPU runs, so even a portable build gets AVX-512 products.
// gemm_kernel_info() names the choice for build_info().
#pragma once
#include <string>

#include "tensor.hpp"

namespace seqattn {

// A strided read-only matrix: element (i, j) = data[i * row_stride + j * col_stride]. A
// row-major (rows, cols) block is {p, cols, 1}; its transpose is {p, 1, cols}.
struct MatView {
  const float* data;
  Index row_stride, col_stride;
};

// C (m, n) with leading dimension ldc:
//   accumulate:  C += A (m, k) · B (k, n)
//   otherwise:   C  = A · B + bias (bias has n entries, or nullptr for none)
//   relu:        then C = max(C, 0), fused into the store of the last k block
// Runs on the library's threads (one parallel region; disjoint tiles of C per thread).
void gemm(Index m, Index n, Index k, MatView A, MatView B, float* C, Index ldc, bool accumulate,
          const float* bias = nullptr, bool relu = false);

// The plain triple loop gemm() must agree with (tests compare them): same contract,
// double accumulation, one thread.
void gemm_reference(Index m, Index n, Index k, MatView A, MatView B, float* C, Index ldc,
                    bool accumulate, const float* bias = nullptr, bool relu = false);

// "AVX-512 12x32" etc.: the micro-kernel chosen on this CPU.
std::string gemm_kernel_info();

// One compiled copy of the kernel (run == nullptr: not compiled for that instruction set).
using GemmFn = void (*)(Index, Index, Index, MatView, MatView, float*, Index, bool, const float*,
                        bool);
struct GemmKernel {
  GemmFn run;
  std::string name;
};
GemmKernel gemm_kernel_avx512();  // gemm_avx512.cpp
GemmKernel gemm_kernel_avx2();    // gemm_avx2.cpp

}  // namespace seqattn
