#include "parallel.hpp"

#include <atomic>

namespace seqattn {

namespace {
int initial_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();  // honours OMP_NUM_THREADS
#else
  return 1;
#endif
}
std::atomic<int> g_threads{initial_threads()};
}  // namespace

int num_threads() { return g_threads.load(std::memory_order_relaxed); }
void set_num_threads(int n) {
#ifdef _OPENMP
  g_threads.store(n < 1 ? 1 : n, std::memory_order_relaxed);
#else
  (void)n;  // single-threaded build: stays 1
#endif
}
bool openmp_enabled() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

}  // namespace seqattn
