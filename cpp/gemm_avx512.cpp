// gemm for AVX-512 (compiled with -mavx512f -mfma when the compiler takes them). CMakeLists.txt gives this file its flags on x86-64; elsewhere it
// compiles to an empty entry and gemm.cpp never picks it.
#include "gemm.hpp"

#if defined(__AVX512F__)
#include "gemm_impl.hpp"
namespace seqattn {
GemmKernel gemm_kernel_avx512() { return {&gemm_impl, kernel_name()}; }
}  // namespace seqattn
#else
namespace seqattn {
GemmKernel gemm_kernel_avx512() { return {nullptr, ""}; }
}  // namespace seqattn
#endif
