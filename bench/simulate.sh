#!/usr/bin/env bash
# Schedule study with real mpirun on any machine: block compute replaced by
# a sleep. Prints the measured bubble against (S−1)/(T·M+S−1).
#   bench/simulate.sh [STAGES...]        (default 4 8 28; M = 2S, 10 steps)
# The preset is DiT-L/8 (24 blocks) when S divides 24, else DiT-XL/8 (28
# blocks), so that stages are equal, as the prediction assumes; patch 8 keeps
# messages small (16 tokens) so 28 ranks' copies fit on 2 cores — the study
# is of the schedule, not of memory bandwidth.
# M = 2S leaves the ring slack to hide each hop's transfer (~1 ms for a
# 2.4 MB XL/2 activation); with M = S every hop's latency adds to every step.
set -euo pipefail
cd "$(dirname "$0")/.."
DIT=${DIT:-.build/release/dit}
BLOCK=${BLOCK_SECONDS:-0.05}
STEPS=${STEPS:-10}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)
for S in "${@:-4 8 28}"; do
  for S in $S; do
    M=$((${MB_PER_STAGE:-2} * S))
    model=DiT-XL/8; [ $((24 % S)) = 0 ] && model=DiT-L/8
    classes=$(python3 -c "print(','.join(['1'] * $M))")
    timeout 600 mpirun -np "$S" --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1 "$DIT" sample \
      --checkpoint none --model "$model" --stages "$S" --simulate --simulate-block-seconds "$BLOCK" \
      --steps "$STEPS" --classes "$classes" --microbatch-size 1 --trace "$out/s$S/t.json" 2>&1 | grep -v '^-' | tail -1
    echo "S=$S ($model, block ${BLOCK}s, $STEPS steps, M=$M):"
    "$DIT" report "$out"/s$S/t.rank*.json | tail -2
  done
done
