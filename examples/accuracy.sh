#!/usr/bin/env bash
# Reproduces the README's "Accuracy on real data" table: `python -m seqattn train` with its
# defaults (no tuning flags), the attention model (--model small) and the bag of n-grams
# (--model bow) on IMDB, SST-2 and MR, seeds 0, 1 and 2; then mean and spread per row.
# Usage: bash examples/accuracy.sh [DATA_DIR]   (default: ../shared/data beside the project)
# Needs seqattn installed (bash scripts/setup.sh, then . .venv/bin/activate). About 10 minutes
# on 2 idle cores.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR="${1:-../shared/data}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
for data in imdb sst2 mr; do
  for model in small bow; do
    for seed in 0 1 2; do
      python -m seqattn train --data-dir "$DATA_DIR" --data "$data" --model "$model" \
        --seed "$seed" --threads 2 --out "$OUT/model.seqattn" --verbose 0 \
        | grep "validation:" | sed "s/^/$data $model seed $seed: /"
    done
  done
done | tee "$OUT/runs.txt"
# mean [min-max] of the three seeds, and the time per epoch, per dataset and model
python - "$OUT/runs.txt" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    key = tuple(line.split()[:2])
    accuracy = float(re.search(r"accuracy ([\d.]+)", line).group(1))
    seconds = float(re.search(r"([\d.]+) s per epoch", line).group(1))
    rows.setdefault(key, []).append((accuracy, seconds))
print("\n| data | model | accuracy, seeds 0 / 1 / 2 | mean [min-max] | s/epoch |")
print("|---|---|---|---|---|")
for (data, model), runs in rows.items():
    accs = [a for a, _ in runs]
    print(f"| {data} | {model} | {' / '.join(f'{a:.4f}' for a in accs)} | "
          f"{statistics.mean(accs):.3f} [{min(accs):.3f}-{max(accs):.3f}] | "
          f"{min(s for _, s in runs):.1f}-{max(s for _, s in runs):.1f} |")
PY
