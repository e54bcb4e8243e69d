#!/usr/bin/env bash
# The C++-facing tests against an AddressSanitizer + UndefinedBehaviorSanitizer build.
#
# Builds seqattn into its own virtualenv .venv-asan (build dir build/.venv-asan) with
# -Ccmake.define.SEQATTN_SANITIZE=address,undefined (CMakeLists.txt adds -fsanitize=...,
# -fno-sanitize-recover=undefined, -fno-omit-frame-pointer -g and -O1), then runs pytest on
# the test files that exercise the C++ core. Any sanitizer report ends the run with a non-zero
# status: ASan and UBSan both halt on the first error (UBSan's cannot be recovered from, by
# the compile flag), and the report, with its stack, is printed.
#
# Usage: bash scripts/sanitize.sh                       # build, then the default selection below
#        bash scripts/sanitize.sh -k attention -x       # options only: added to the selection
#        bash scripts/sanitize.sh tests/test_x.py -k y  # a test path: replaces the selection
#        SEQATTN_SANITIZE=address bash scripts/sanitize.sh    # another -fsanitize= list
#        SEQATTN_SANITIZE_NO_BUILD=1 bash scripts/sanitize.sh ...  # reuse .venv-asan as built
# A report names the C++ frame (file:line); pytest's faulthandler then prints the Python stack
# down to the test that was running.
#
# Why the environment below:
# * LD_PRELOAD=libasan.so: the interpreter is not instrumented, only _core is. The ASan runtime
#   must be the first library in the process (it replaces malloc and friends before anything
#   allocates); loaded later, with the extension, it refuses to run ("ASan runtime does not
#   come first in initial library list").
# * LD_PRELOAD=libstdc++.so too: python itself does not link libstdc++, so when ASan starts,
#   the real __cxa_throw that its interceptor forwards to is not loaded yet, and the first C++
#   exception (every ValueError the core raises) aborts in the interceptor: "AddressSanitizer:
#   CHECK failed: asan_interceptors.cpp:320 "((__interception::real___cxa_throw)) != (0)"".
#   Preloading libstdc++ makes it resolvable at ASan's start (numpy's and scipy's recipe too).
# * ASAN_OPTIONS: detect_leaks=0 because CPython deliberately leaks at exit (LeakSanitizer
#   would report the interpreter, not us; benchmarks/leak_check.py and tests/test_leaks.py
#   check growth instead); abort_on_error=1 so a report stops the process at once;
#   allocator_may_return_null=1 so that an impossibly large malloc (NumPy, Python) returns
#   NULL, as glibc's does, and Python raises MemoryError, instead of ASan aborting with
#   allocation-size-too-big (a C++ `new` that cannot be met is still reported by ASan, and
#   every other error kind still halts).
# * UBSAN_OPTIONS: print_stacktrace=1 (a UBSan report has no stack otherwise), halt_on_error=1.
# * pytest --capture=sys: pytest's default (fd) capture points fd 2 at a temporary file that
#   is lost when the sanitizer aborts the process; with sys capture the report reaches the log.
# * OpenMP stays on (libgomp works under ASan; no false positives were seen, so no suppressions).
#
# Tests left out of the default selection: those listed in scripts/cpp_facing_ignores.txt (no
# build-dependent C++ in them, or slow end-to-end runs the layer and model tests cover), and
# test_allocations (its own LD_PRELOAD malloc probe cannot sit beside ASan's malloc).
# The property suite (tests/test_properties.py) stays in: its random arrays under ASan are
# the fuzzing of the boundary (about a minute; its children skip their address-space limit,
# which ASan's reservations would break).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-asan
sanitize="${SEQATTN_SANITIZE:-address,undefined}"

# GCC's runtimes: the module is built with g++ and run with GCC's libasan preloaded (a clang
# build would need clang's runtime instead).
export CXX=g++
asan_lib="$(gcc -print-file-name=libasan.so)"
stdcxx_lib="$(gcc -print-file-name=libstdc++.so)"
for lib in "$asan_lib" "$stdcxx_lib"; do
  if [ ! -e "$lib" ]; then
    echo "scripts/sanitize.sh: gcc does not find $lib (Debian/Ubuntu: apt-get install g++," \
         "which brings libasan)" >&2
    exit 1
  fi
done

start=$(date +%s)
if [ -z "${SEQATTN_SANITIZE_NO_BUILD:-}" ]; then
  # Not scripts/setup.sh: its closing `import seqattn` would need the preload below.
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  # Debug: keeps assert() and Eigen's bounds checks, and pybind11 then checks that the GIL is
  # held whenever a Python reference count changes; the sanitizer block makes it -O1.
  "$venv/bin/python" -m pip install --quiet ".[test]" -Cbuild-dir="build/$(basename "$venv")" \
    -Ccmake.build-type=Debug -Ccmake.define.SEQATTN_SANITIZE="$sanitize"
fi
built=$(date +%s)

export LD_PRELOAD="$asan_lib $stdcxx_lib"
# A caller's own options come last, so they win.
asan_options="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"
export ASAN_OPTIONS="$asan_options${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
ubsan_options="print_stacktrace=1:halt_on_error=1:abort_on_error=1"
export UBSAN_OPTIONS="$ubsan_options${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

"$venv/bin/python" - "$sanitize" <<'EOF'
import sys, seqattn
info = seqattn.build_info()
print("seqattn", seqattn.__version__, info)
assert f"-fsanitize={sys.argv[1]}" in info["flags"], "the sanitizer flags are missing"
EOF

selection=default prev=
for arg in "$@"; do
  case "$prev" in  # the value of an option is not a test path
    --deselect|--ignore|--ignore-glob|-k|-m|-p|-o|-c|--rootdir|--basetemp|--confcutdir) ;;
    *) case "$arg" in -*) ;; *) if [ -e "${arg%%::*}" ]; then selection=given; fi ;; esac ;;
  esac
  prev=$arg
done
if [ "$selection" = default ]; then
  # shellcheck disable=SC2046  # one --ignore per line of the list
  set -- tests $(grep -v '^#' scripts/cpp_facing_ignores.txt) \
    --ignore=tests/test_allocations.py "$@"
fi
status=0
"$venv/bin/python" -m pytest -q -p no:cacheprovider --capture=sys "$@" || status=$?
echo "sanitizer run ($sanitize): build $((built - start)) s," \
     "tests $(($(date +%s) - built)) s, status $status"
if [ "$status" -gt 128 ]; then
  echo "pytest was killed by signal $((status - 128)): look for 'ERROR: AddressSanitizer' or" \
       "'runtime error:' above" >&2
fi
exit "$status"
