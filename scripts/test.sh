#!/usr/bin/env bash
# The whole test suite, from a fresh machine: sets up .venv and runs every test, then builds
# seqattn again with OpenMP switched off (.venv-noomp) and runs the C++-facing tests against that
# build (scripts/cpp_facing_ignores.txt lists the others and why), then builds it with
# AddressSanitizer + UBSan (.venv-asan) and runs the C++-facing tests under them
# (scripts/sanitize.sh). About 13 minutes on 2 idle cores.
# Optional oracles (PyTorch, Keras) are used when installed in .venv; their tests skip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh .venv
.venv/bin/python -m pytest -q
echo "--- the C++-facing tests against a build without OpenMP ---"
bash scripts/setup.sh .venv-noomp -Ccmake.define.SEQATTN_OPENMP=OFF
.venv-noomp/bin/python -c "import seqattn, sys; sys.exit(seqattn.build_info()['openmp'])"
# shellcheck disable=SC2046  # the C++-facing files: scripts/cpp_facing_ignores.txt says why
.venv-noomp/bin/python -m pytest -q $(grep -v '^#' scripts/cpp_facing_ignores.txt)
echo "--- the C++-facing tests under AddressSanitizer + UndefinedBehaviorSanitizer ---"
bash scripts/sanitize.sh
