#!/usr/bin/env bash
# From a fresh machine: sets up .venv and trains the sentiment classifier on the built-in
# corpus, next to a bag-of-words baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh .venv
.venv/bin/python examples/train_sentiment.py "$@"
