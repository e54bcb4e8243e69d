// Thread control. One level of parallelism: our own OpenMP loops, each thread writing disjoint
// memory; Eigen's products inside them run single-threaded (EIGEN_DONT_PARALLELIZE).
#pragma once

#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace seqattn {

// Library-wide thread count, passed as num_threads(...) to every parallel region (setting
// omp_set_num_threads would only affect the calling thread).
int num_threads();
void set_num_threads(int n);  // n >= 1; validated in the binding
bool openmp_enabled();

// This thread's number inside a parallel region (0 outside one): indexes per-thread scratch.
inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// When a region is worth its threads. Waking a team and joining it costs microseconds on a
// quiet machine and much more on a busy one (measured: batch-1 predict of the small model was
// 1.5-4x slower on 2 threads than on 1 while every product took the threads), so work below
// kParallelMinWork runs on the calling thread. Work is counted in multiply-adds of a
// vectorised kernel (about 10-20 us of one core at this threshold); element loops count
// their elements times kElementWork (a memory-bound element costs about as much as that many
// multiply-adds). The thread count never changes a result (each index writes its own memory
// and every sum has a fixed order), so where this rule falls changes speed only.
constexpr std::int64_t kParallelMinWork = std::int64_t(1) << 20;
constexpr std::int64_t kElementWork = 32;  // 32768 elements reach the threshold
inline bool worth_threads(std::int64_t work) { return work >= kParallelMinWork; }

namespace detail {
// The one compiled copy of a parallel_for loop: both the threaded and the plain path run
// this, so an iteration is computed by the same instructions whatever the thread count (two
// inlined copies may be optimised differently, e.g. FMA contraction in a row reduction, and
// round differently: seen in LayerNormalization).
template <class Body>
__attribute__((noinline)) void run_range(const Body& body, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) body(i);
}
}  // namespace detail

// body(i) for every i in [0, n), on the library's threads when `parallel` holds and more than
// one thread is set (contiguous static ranges; each i must write its own memory), else as a
// plain loop. Never a one-thread OpenMP region: libgomp allocates and frees a team for every
// serialised region (`if(false)` or num_threads(1)), and the steady-state training step must
// not allocate (tests/test_allocations.py).
template <class Body>
inline void parallel_for(std::int64_t n, bool parallel, const Body& body) {
#ifdef _OPENMP
  if (parallel && n > 1 && num_threads() > 1) {
#pragma omp parallel num_threads(num_threads())
    {
      const std::int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      const std::int64_t per = n / nt, extra = n % nt;
      const std::int64_t begin = t * per + (t < extra ? t : extra);
      detail::run_range(body, begin, begin + per + (t < extra ? 1 : 0));
    }
    return;
  }
#endif
  detail::run_range(body, 0, n);
}

// body(begin, end) over fixed blocks [b*block, min((b+1)*block, n)) of [0, n), in parallel
// as parallel_for. For element loops: copy captured pointers into locals inside the body
// before looping. A lambda's by-reference captures are loads through the closure, and a
// byte store in the loop (a dropout keep mask) may alias them, which keeps GCC from
// vectorising (measured 6x slower on Dropout's forward).
template <class Body>
inline void parallel_for_blocks(std::int64_t n, std::int64_t block, bool parallel,
                                const Body& body) {
  const std::int64_t nb = (n + block - 1) / block;
  parallel_for(nb, parallel, [&](std::int64_t b) {
    body(b * block, b * block + block < n ? b * block + block : n);
  });
}

// A team of threads running one body together, for a kernel whose steps must run in
// lockstep (the GEMM packs B panels, then multiplies its tiles, once per k block; every
// thread must see all panels packed before any reads them). parallel_region(threads, body)
// runs body(team) on each thread of one OpenMP region when threads > 1, else once as a plain
// call: never a one-thread region (see parallel_for), and a team of one inside another
// parallel loop (the GEMM's split-k parts) shares nothing, so it has no orphaned `omp for`.
// All of the library's OpenMP pragmas live in this header.
class Team {
 public:
  explicit Team(int threads) : threads_(threads) {}
  int size() const { return threads_; }
  // This thread's number in the team (0 in a team of one, wherever it runs).
  int id() const { return threads_ > 1 ? thread_id() : 0; }
  // body(i) for every i in [0, count), shared out in contiguous static ranges (`omp for
  // schedule(static)`), then a barrier: every thread of the team returns once all are done.
  // Every thread of the team must call it, with the same count.
  template <class Body>
  void for_each(std::int64_t count, const Body& body) const {
#ifdef _OPENMP
    if (threads_ > 1) {
#pragma omp for schedule(static)
      for (std::int64_t i = 0; i < count; ++i) body(i);
      return;  // (the implicit barrier of `omp for`)
    }
#endif
    for (std::int64_t i = 0; i < count; ++i) body(i);
  }

 private:
  int threads_;
};

template <class Body>
inline void parallel_region(int threads, const Body& body) {
#ifdef _OPENMP
  if (threads > 1) {
    const Team team(threads);
#pragma omp parallel num_threads(threads)
    body(team);
    return;
  }
#endif
  body(Team(1));
}

}  // namespace seqattn
