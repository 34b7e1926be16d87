#!/usr/bin/env bash
# Heap allocations per forward in the steady state: runs `dit bench` with
# R1 and R2 timed repeats under an LD_PRELOAD malloc counter and divides the
# difference by R2 − R1 (set-up, warm-up and the sgemm peak cancel out).
#   bench/allocs.sh                      # S/2 batch 1, threads 1 and 2
#   PRESET=XL/2 BATCH=8 bench/allocs.sh
#   GEMM=openblas bench/allocs.sh       # per GEMM backend (default auto)
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET=${PRESET:-S/2}; BATCH=${BATCH:-1}; GEMM=${GEMM:-auto}; THREADS=${THREADS:-1 2}; R1=${R1:-5}; R2=${R2:-25}
DIT=${DIT:-.build/release/dit}
lib=$(mktemp --suffix=.so); trap 'rm -f "$lib"' EXIT
cc -O2 -shared -fPIC bench/malloc_count.c -o "$lib"
count() {  # threads repeats; the spin settings are set so that dit does not re-execute itself
    OPENBLAS_THREAD_TIMEOUT=4 GOMP_SPINCOUNT=30000 LD_PRELOAD="$lib" "$DIT" bench --presets "$PRESET" --batches "$BATCH" \
        --threads "$1" --repeats "$2" --gemm "$GEMM" 2>&1 >/dev/null | awk '/^malloc-count/ { print $2 }'
}
for t in $THREADS; do
    a=$(count "$t" "$R1"); b=$(count "$t" "$R2")
    echo "$PRESET batch $BATCH, $t thread(s): $(( (b - a) / (R2 - R1) )) allocations per forward ($a → $b calls for $R1 → $R2 repeats)"
done
