#!/usr/bin/env bash
# Writes the PyTorch reference tensors the C tests compare against (skipped
# when present with the same script version). Needs python3-torch.
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
mkdir -p tests/data/ref
for s in tests/ref_*.py; do
  [ -e "$s" ] || continue
  "$PY" "$s" tests/data/ref
done
