// The FMA peak loop for AVX-512 (compiled with -mavx512f -mfma when the compiler takes them; see
// CMakeLists.txt). Elsewhere it compiles to an empty entry and fma_peak.cpp never picks it.
#include "fma_peak.hpp"

#if defined(__AVX512F__)
#include "fma_peak_impl.hpp"
namespace seqattn {
FmaLoop fma_loop_avx512() { return this_fma_loop(); }
}  // namespace seqattn
#else
namespace seqattn {
FmaLoop fma_loop_avx512() { return {nullptr, 0, 0, ""}; }
}  // namespace seqattn
#endif
