#!/usr/bin/env bash
# The whole test suite, from a fresh machine: sets up .venv, runs pytest, then builds seqattn
# again with OpenMP switched off (.venv-noomp) and runs the suite against that build too, then
# builds it with AddressSanitizer + UBSan (.venv-asan) and runs the C++-facing tests under them
# (scripts/sanitize.sh; about 4 minutes of the total on 2 cores, most of it compiling).
# Optional oracles (PyTorch, Keras) are used when installed in .venv; their tests skip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh .venv
.venv/bin/python -m pytest -q
echo "--- the same suite against a build without OpenMP ---"
bash scripts/setup.sh .venv-noomp -Ccmake.define.SEQATTN_OPENMP=OFF
.venv-noomp/bin/python -c "import seqattn, sys; sys.exit(seqattn.build_info()['openmp'])"
.venv-noomp/bin/python -m pytest -q
echo "--- the C++-facing tests under AddressSanitizer + UndefinedBehaviorSanitizer ---"
bash scripts/sanitize.sh
