// fma_peak_gflops: the run-time choice of the loop (as gemm.cpp picks the GEMM), the timing
// and the threads. The baseline copy of the loop below gets the target's flags.
#include "fma_peak.hpp"

#include <chrono>
#include <vector>

#include "fma_peak_impl.hpp"
#include "isa_dispatch.hpp"
#include "parallel.hpp"

namespace seqattn {

FmaLoop fma_loop_baseline() { return this_fma_loop(); }

namespace {
const FmaLoop& chosen_loop() {
  static const FmaLoop l = pick_by_isa<FmaLoop>(fma_loop_avx512, fma_loop_avx2,
                                                fma_loop_baseline);
  return l;
}

// Iterations between clock reads: 4096 x 12 vector FMAs, some 10-25 us of a core, so reading
// the clock costs nothing measurable and the deadline is overshot by little.
constexpr std::int64_t kChunk = 4096;
volatile double g_sink;  // the loops' results end here, so none of them can be dropped
}  // namespace

std::string fma_peak_kernel() {
  const FmaLoop& l = chosen_loop();
  return std::string(l.isa) + " " + std::to_string(l.accumulators) + " x " +
         std::to_string(l.lanes) + " lanes";
}

double fma_peak_gflops(int threads, double seconds) {
  using Clock = std::chrono::steady_clock;
  const FmaLoop& loop = chosen_loop();
  // A warm-up before the timed part: AVX-512 units and clocks take a moment to reach full
  // rate, and every thread of the team must be running when the timing starts.
  const double warm = seconds * 0.2 < 0.02 ? seconds * 0.2 : 0.02;
  const auto t0 = Clock::now();
  const auto timed_from = t0 + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(warm));
  const auto deadline = timed_from + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(seconds));
  std::vector<std::int64_t> chunks(static_cast<std::size_t>(threads), 0);
  std::vector<Clock::time_point> ended(static_cast<std::size_t>(threads), timed_from);
  std::vector<double> sinks(static_cast<std::size_t>(threads), 0.0);
  // One region, each thread its own registers; chunks started before timed_from are not
  // counted, and each thread stops at its first clock read past the deadline.
  parallel_region(threads, [&](const Team& team) {
    const int id = team.id();
    double sink = 0.0;
    std::int64_t counted = 0;
    Clock::time_point now = Clock::now();
    while (now < deadline) {
      const bool timed = now >= timed_from;
      sink += loop.run(kChunk);
      if (timed) ++counted;
      now = Clock::now();
    }
    chunks[id] = counted;
    ended[id] = now;
    sinks[id] = sink;
  });
  Clock::time_point last = timed_from;
  double fmas = 0.0, sink = 0.0;
  for (int i = 0; i < threads; ++i) {
    fmas += static_cast<double>(chunks[i]) * kChunk * loop.accumulators * loop.lanes;
    if (ended[i] > last) last = ended[i];
    sink += sinks[i];
  }
  g_sink = sink;
  const double wall = std::chrono::duration<double>(last - timed_from).count();
  return wall > 0.0 ? 2.0 * fmas / wall * 1e-9 : 0.0;
}

}  // namespace seqattn
