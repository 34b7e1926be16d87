#!/usr/bin/env bash
# Runs `dit bench` and the PyTorch baseline on the same shapes and threads,
# one after the other in one invocation, and prints the joined table.
#   bench/run.sh                                  # S/2, B/2, XL/2 × batch 1,2,8 × threads 1,2
#   PRESETS=S/2 BATCHES=1 THREADS=2 bench/run.sh  # a subset
# Take numbers on a quiet machine (check `uptime`): 2 cores are shared.
set -euo pipefail
cd "$(dirname "$0")/.."
PRESETS=${PRESETS:-S/2,B/2,XL/2}
BATCHES=${BATCHES:-1,2,8}
THREADS=${THREADS:-1,2}
REPEATS=${REPEATS:-5}
GEMM=${GEMM:-auto}              # e.g. GEMM=openblas,onednn to compare backends
PRECISION=${PRECISION:-fp32}    # e.g. PRECISION=fp32,bf16
CLOCK_FLAG=${CPU_CLOCK:+--cpu-clock}   # CPU_CLOCK=1 with THREADS=1: per-thread CPU time, robust to other load
SCRATCH=${SCRATCH:-.build-perf}
OUT=${OUT:-out/bench}
mkdir -p "$OUT"
ISA=(); grep -qw avx512bw /proc/cpuinfo && ISA=(-Xswiftc -DAVX512)   # as `make release`
[ -n "${NO_BUILD:-}" ] || swift build -c release -Xswiftc -target-cpu -Xswiftc native "${ISA[@]}" --scratch-path "$SCRATCH" >&2
echo "# $(grep -m1 'model name' /proc/cpuinfo)"
echo "# $(date -u +%FT%TZ)  $(uptime)"
echo "## dit bench"
"$SCRATCH/release/dit" bench --presets "$PRESETS" --batches "$BATCHES" --threads "$THREADS" \
  --repeats "$REPEATS" --gemm "$GEMM" --precision "$PRECISION" $CLOCK_FLAG --csv "$OUT/dit.csv"
echo "## torch"
python3 bench/torch_baseline.py --presets "$PRESETS" --batches "$BATCHES" --threads "$THREADS" \
  --repeats "$REPEATS" $CLOCK_FLAG --csv "$OUT/torch.csv"
echo "## side by side"
python3 bench/compare.py "$OUT/dit.csv" "$OUT/torch.csv"
