#!/usr/bin/env bash
# One image's latency on 2 ranks against 1 (issue 13): DiT-S/2 (random
# weights, 256 px), one image, cfg 4, 50 DDPM steps, 1 BLAS thread per rank,
# all runs in one invocation so they see the same machine load:
#   1 rank, CFG-parallel 2, Ulysses SP 2, and PP 2 (for contrast: a pipeline
#   does not cut one image's latency).
# Prints the sampling wall time (dit's own "N images in X s") and speed-ups,
# and checks each 2-rank sample against the 1-rank one.
set -euo pipefail
cd "$(dirname "$0")/.."
DIT=${DIT:-.build/release/dit}
MODEL=${MODEL:-DiT-S/2}
STEPS=${STEPS:-50}
REPEAT=${REPEAT:-1}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
python3 tools/make_random_checkpoint.py "$t/model.safetensors" --preset "$MODEL"
args=(--checkpoint "$t/model.safetensors" --steps "$STEPS" --cfg-scale 4 --classes 207 --microbatch-size 1 --seed 0 --threads 1)
seconds() { grep -oE 'images in [0-9.]+ s' "$1" | grep -oE '[0-9.]+'; }
run() {  # NAME NP FLAGS...: best of REPEAT runs
  local name=$1 np=$2 best=; shift 2
  for _ in $(seq "$REPEAT"); do
    mpirun --bind-to none -np "$np" -x OPENBLAS_NUM_THREADS=1 "$DIT" sample "${args[@]}" "$@" --output-dir "$t/$name" 2>"$t/$name.log"
    s=$(seconds "$t/$name.log")
    best=$(python3 -c "print(min(float('$s'), float('${best:-inf}')))")
  done
  echo "$best"
}
one=$(run one 1)
cfg=$(run cfg 2 --cfg-parallel 2)
sp=$(run sp 2 --sequence-parallel 2)
pp=$(run pp 2 --stages 2)
echo "$MODEL, 1 image, cfg 4, $STEPS steps, 1 thread per rank, best of $REPEAT; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
python3 - "$t" "$one" "$cfg" "$sp" "$pp" <<'PY'
import sys, h5py, numpy as np
t, one, cfg, sp, pp = sys.argv[1], *map(float, sys.argv[2:])
ref = h5py.File(f"{t}/one/samples.h5")["samples"][:]
for name, s in [("1 rank", one), ("CFG-parallel 2", cfg), ("Ulysses SP 2", sp), ("pipeline 2 stages", pp)]:
    d = {"1 rank": "one", "CFG-parallel 2": "cfg", "Ulysses SP 2": "sp", "pipeline 2 stages": "pp"}[name]
    b = h5py.File(f"{t}/{d}/samples.h5")["samples"][:]
    print(f"{name:18s} {s:7.2f} s  {one / s:5.2f}×  samples: {'bitwise equal' if np.array_equal(ref, b) else f'max diff {np.abs(ref - b).max():.3g}'}")
PY
