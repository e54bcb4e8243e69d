// Thread control. One level of parallelism: our own OpenMP loops, each thread writing disjoint
// memory; Eigen's products inside them run single-threaded (EIGEN_DONT_PARALLELIZE).
#pragma once

#ifdef _OPENMP
#include <omp.h>
#endif

namespace seqattn {

// Library-wide thread count, passed as num_threads(...) to every parallel region (setting
// omp_set_num_threads would only affect the calling thread).
int num_threads();
void set_num_threads(int n);  // n >= 1; validated in the binding
bool openmp_enabled();

}  // namespace seqattn

#define SEQATTN_STR2(x) #x
#define SEQATTN_STR(x) SEQATTN_STR2(x)
// `parallel for` over independent iterations; deterministic because writes are disjoint.
#define SEQATTN_PARALLEL_FOR _Pragma("omp parallel for schedule(static) num_threads(seqattn::num_threads())")
// The same, only when `cond` holds (small loops are cheaper than waking the threads).
#define SEQATTN_PARALLEL_FOR_IF(cond) \
  _Pragma(SEQATTN_STR(omp parallel for schedule(static) num_threads(seqattn::num_threads()) if (cond)))
