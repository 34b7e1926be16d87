#!/usr/bin/env bash
# Schedule study with real mpirun on any machine: block compute replaced by
# a sleep. Prints the measured bubble against (S−1)/(T·M+S−1).
#   bench/simulate.sh [STAGES...]        (default 4 8 28; DiT-XL/2 preset, M = S, 10 steps)
set -euo pipefail
cd "$(dirname "$0")/.."
DIT=${DIT:-.build/release/dit}
BLOCK=${BLOCK_SECONDS:-0.004}
STEPS=${STEPS:-10}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)
for S in "${@:-4 8 28}"; do
  for S in $S; do
    classes=$(python3 -c "print(','.join(['1'] * $S))")
    timeout 600 mpirun -np "$S" --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1 "$DIT" sample \
      --checkpoint none --model DiT-XL/2 --stages "$S" --simulate --simulate-block-seconds "$BLOCK" \
      --steps "$STEPS" --classes "$classes" --microbatch-size 1 --trace "$out/s$S/t.json" 2>&1 | grep -v '^-' | tail -1
    echo "S=$S (block ${BLOCK}s, $STEPS steps, M=$S):"
    "$DIT" report "$out"/s$S/t.rank*.json | tail -2
  done
done
