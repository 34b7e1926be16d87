#!/usr/bin/env bash
# Pipeline scaling on this machine: DiT-S/2 (random weights, 256 px = 32×32
# latents), 20 DDPM steps, cfg 4, 8 images in micro-batches of 2 (M = 4):
#   1 rank × 1 thread, 2 ranks (2 stages) × 1 thread, 1 rank × 2 threads.
# Prints images/s for each and the speed-up; all three runs' samples must be
# bitwise identical per thread count.
set -euo pipefail
cd "$(dirname "$0")/.."
DIT=${DIT:-.build/release/dit}
MODEL=${MODEL:-DiT-S/2}
STEPS=${STEPS:-20}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
t=$(mktemp -d)
python3 tools/make_random_checkpoint.py "$t/model.safetensors" --preset "$MODEL"
args=(--checkpoint "$t/model.safetensors" --steps "$STEPS" --cfg-scale 4 --classes 1,2,3,4,5,6,7,8 --microbatch-size 2 --seed 0)
rate() { grep -oE '[0-9.]+ images/s' "$1" | grep -oE '^[0-9.]+'; }
mpirun --bind-to none -np 1 -x OPENBLAS_NUM_THREADS=1 "$DIT" sample "${args[@]}" --output-dir "$t/r1" 2>"$t/l1"
mpirun --bind-to none -np 2 -x OPENBLAS_NUM_THREADS=1 "$DIT" sample "${args[@]}" --stages 2 --output-dir "$t/r2" \
  --trace "$t/trace/t.json" 2>"$t/l2"
mpirun --bind-to none -np 1 -x OPENBLAS_NUM_THREADS=2 "$DIT" sample "${args[@]}" --output-dir "$t/r3" 2>"$t/l3"
r1=$(rate "$t/l1"); r2=$(rate "$t/l2"); r3=$(rate "$t/l3")
echo "$MODEL, $STEPS steps, 8 images, M=4 micro-batches of 2 (+ null twins)"
echo "1 rank  × 1 thread : $r1 images/s"
echo "2 ranks × 1 thread : $r2 images/s  ($(python3 -c "print(f'{$r2/$r1:.2f}')")× 1 rank × 1 thread)"
echo "1 rank  × 2 threads: $r3 images/s  ($(python3 -c "print(f'{$r3/$r1:.2f}')")× 1 rank × 1 thread)"
python3 -c "
import h5py, numpy as np
a = h5py.File('$t/r1/samples.h5')['samples'][:]; b = h5py.File('$t/r2/samples.h5')['samples'][:]
print('1 stage vs 2 stages bitwise identical:', np.array_equal(a, b))"
"$DIT" report "$t"/trace/t.rank*.json | tail -4
rm -rf "$t"
