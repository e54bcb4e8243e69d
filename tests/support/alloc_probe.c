/* Counts heap allocations made while no thread of this process holds Python's GIL on the
 * calling thread: exactly the C++ core's work, which runs with the GIL released (pybind11
 * gil_scoped_release) on the calling thread and on OpenMP workers that never take it.
 *
 * Loaded with LD_PRELOAD by tests/test_allocations.py. It forwards to glibc's __libc_*
 * entry points (no dlsym, which itself allocates). PyGILState_Check is resolved from the
 * running interpreter (weak: when absent, nothing is counted and the test skips).
 *
 *   alloc_probe_count()  allocations counted since the last reset
 *   alloc_probe_reset()
 * With ALLOC_PROBE_ABORT=1 in the environment, a counted allocation after the first reset
 * aborts, so a debugger shows where it came from:
 *   ALLOC_PROBE_ABORT=1 gdb -batch -ex run -ex bt --args env LD_PRELOAD=... python script.py
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdlib.h>
#include <errno.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern int PyGILState_Check(void) __attribute__((weak));

static volatile long counted = 0;
static int abort_on_count = -1;
static __thread int busy = 0;

long alloc_probe_count(void) { return counted; }
static int armed = 0;  /* aborting starts at the first reset (after warm-up) */
void alloc_probe_reset(void) { counted = 0; armed = 1; }
int alloc_probe_active(void) { return PyGILState_Check != 0; }

static void note(void) {
  if (busy || !PyGILState_Check) return;
  busy = 1;
  if (!PyGILState_Check()) {
    __atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);
    if (abort_on_count < 0) {
      const char* e = getenv("ALLOC_PROBE_ABORT");
      abort_on_count = e && e[0] == '1';
    }
    if (abort_on_count && armed) abort();
  }
  busy = 0;
}

void* malloc(size_t n) { note(); return __libc_malloc(n); }
void* calloc(size_t a, size_t b) { note(); return __libc_calloc(a, b); }
void* realloc(void* p, size_t n) { note(); return __libc_realloc(p, n); }
void* memalign(size_t al, size_t n) { note(); return __libc_memalign(al, n); }
void* aligned_alloc(size_t al, size_t n) { note(); return __libc_memalign(al, n); }
int posix_memalign(void** out, size_t al, size_t n) {
  note();
  void* p = __libc_memalign(al, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
