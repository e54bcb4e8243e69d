// The machine's fused multiply-add peak: the rate every workload is measured against
// (benchmarks/compare.py's "% FMA peak", benchmarks/README.md). The sgemm yardstick is a
// library's product, which varies with the BLAS PyTorch ships; this loop is what the cores
// themselves can do, so a share of it means the same thing on any host.
//
// fma_peak_gflops(threads, seconds): `threads` threads (one OpenMP region; one in a build
// without OpenMP) each run a chain-free loop of FMAs on kFmaAccumulators vector registers
// for about `seconds`; the result is 2 FLOPs per lane per FMA over the wall time, in GFLOP/s.
// The instruction set is the widest this CPU runs, as for the GEMM (AVX-512, else AVX2 + FMA,
// else the build's baseline vectors with separate multiply and add).
#pragma once
#include <cstdint>
#include <string>

namespace seqattn {

double fma_peak_gflops(int threads, double seconds);
// "AVX-512 12 x 16 lanes" etc.: the loop fma_peak_gflops runs on this CPU.
std::string fma_peak_kernel();

// One compiled copy of the loop (run == nullptr: not compiled for that instruction set).
// run(iterations) returns a value that depends on every FMA, so the loop cannot be deleted;
// lanes and accumulators give the FMAs per iteration.
struct FmaLoop {
  double (*run)(std::int64_t iterations);
  int lanes;
  int accumulators;
  const char* isa;
};
FmaLoop fma_loop_avx512();  // fma_peak_avx512.cpp
FmaLoop fma_loop_avx2();    // fma_peak_avx2.cpp
FmaLoop fma_loop_baseline();  // fma_peak.cpp, the target's flags

}  // namespace seqattn
