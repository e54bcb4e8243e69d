// The FMA peak loop for AVX2 + FMA (compiled with -mavx2 -mfma when the compiler takes them; see
// CMakeLists.txt). Elsewhere it compiles to an empty entry and fma_peak.cpp never picks it.
#include "fma_peak.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include "fma_peak_impl.hpp"
namespace seqattn {
FmaLoop fma_loop_avx2() { return this_fma_loop(); }
}  // namespace seqattn
#else
namespace seqattn {
FmaLoop fma_loop_avx2() { return {nullptr, 0, 0, ""}; }
}  // namespace seqattn
#endif
