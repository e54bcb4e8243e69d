// gemm's run-time dispatch and its reference. The kernel itself is gemm_impl.hpp, compiled
// once per instruction set: gemm_avx512.cpp and gemm_avx2.cpp get -m flags of their own (see
// CMakeLists.txt), the baseline copy below gets the target's flags (SSE2 in a portable build,
// the CPU's own in the default native build). The first call picks the widest one this CPU
// runs, so a portable build still multiplies matrices with AVX-512 where it can.
#include "gemm.hpp"

#include "gemm_impl.hpp"
#include "isa_dispatch.hpp"

namespace seqattn {

namespace {
const GemmKernel& chosen() {
  // thread-safe one-time initialisation
  static const GemmKernel k = pick_by_isa<GemmKernel>(
      gemm_kernel_avx512, gemm_kernel_avx2, [] { return GemmKernel{&gemm_impl, kernel_name()}; });
  return k;
}
}  // namespace

void gemm(Index m, Index n, Index k, MatView A, MatView B, float* C, Index ldc, bool accumulate,
          const float* bias, bool relu) {
  chosen().run(m, n, k, A, B, C, ldc, accumulate, bias, relu);
}

void gemm_reference(Index m, Index n, Index k, MatView A, MatView B, float* C, Index ldc,
                    bool accumulate, const float* bias, bool relu) {
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j) {
      double s = 0.0;
      for (Index p = 0; p < k; ++p)
        s += static_cast<double>(A.data[i * A.row_stride + p * A.col_stride]) *
             B.data[p * B.row_stride + j * B.col_stride];
      float& c = C[i * ldc + j];
      c = accumulate ? static_cast<float>(c + s) : static_cast<float>(s + (bias ? bias[j] : 0.0f));
      if (relu && c < 0.0f) c = 0.0f;  // NaN stays NaN
    }
}

std::string gemm_kernel_info() { return chosen().name; }

}  // namespace seqattn
