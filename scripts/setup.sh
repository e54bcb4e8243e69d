#!/usr/bin/env bash
# Creates (or reuses) the virtualenv .venv and installs seqattn into it with its test extras.
# Needs only Python >= 3.10 with venv and a C++17 compiler; everything else (scikit-build-core,
# pybind11, the Eigen headers, NumPy, pytest) comes from PyPI.
# Usage: bash scripts/setup.sh [VENV_DIR] [extra pip args, e.g. -Ccmake.define.SEQATTN_OPENMP=OFF]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv}"
shift || true
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# build-dir per variant, so an OpenMP-off build never reuses the OpenMP build's objects.
"$venv/bin/python" -m pip install --quiet ".[test]" -Cbuild-dir="build/$(basename "$venv")" "$@"
"$venv/bin/python" -c "import seqattn; print('seqattn', seqattn.__version__, seqattn.build_info())"
