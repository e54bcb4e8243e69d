#!/usr/bin/env bash
# Reproduces the README's "Accuracy on real data" table: each row's command for seeds 0, 1, 2.
# Usage: bash examples/accuracy.sh [DATA_DIR]   (default: ../shared/data beside the project)
# Needs seqattn installed (bash scripts/setup.sh, then . .venv/bin/activate). About 3 minutes
# on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR="${1:-../shared/data}"
OUT="$(mktemp -d)"
run() {
  for seed in 0 1 2; do
    echo "== $* --seed $seed"
    python -m seqattn train --data-dir "$DATA_DIR" "$@" --seed "$seed" --threads 2 \
      --out "$OUT/model.seqattn" --verbose 0 | grep "validation:"
  done
}
run --data imdb --epochs 2                     # 20,000 / 5,000 shuffled split of train.csv
run --data sst2 --epochs 2                     # GLUE train / dev
run --data mr --epochs 3 --vocab-size 10000    # fixed stratified 90% / 10% split (seed 113)
rm -rf "$OUT"
