#!/usr/bin/env bash
# How far --precision bf16 lands from fp32 (writes $OUT/bf16_accuracy.csv):
#  - the forward of random-weight S/2 and XL/2 (batch 2, 256-px latents):
#    max|bf16 − fp32| / max|fp32| of the model output;
#  - the shipped digits model sampled as `make demo` does: classifier accuracy
#    with each precision, and the PSNR of the bf16 images against fp32's;
#  - a latent model (random S/2) sampled 10 DDIM steps and decoded by the
#    tiny test VAE: PSNR of the decoded bf16 images against fp32's.
#   bench/bf16_accuracy.sh            (PRESETS="S/2" to skip XL/2's 2.7 GB checkpoint)
set -euo pipefail
cd "$(dirname "$0")/.."
DIT=${DIT:-.build/release/dit}
OUT=${OUT:-out/bench}
PRESETS=${PRESETS:-S/2 XL/2}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$OUT"
echo "case,metric,value" > "$T/acc.csv"
for p in $PRESETS; do
  n=${p//\//}
  python3 tools/make_random_checkpoint.py "$T/$n.safetensors" --preset "DiT-$p" >/dev/null
  python3 - "$T/in.safetensors" <<'PY'
import sys, json, struct, numpy as np
r = np.random.default_rng(0)
t = {"x": r.standard_normal((2, 4, 32, 32)).astype(np.float32), "t": np.array([999, 250], np.int64), "y": np.array([3, 1000], np.int64)}
h, off, blobs = {}, 0, []
for k, a in t.items():
    h[k] = {"dtype": "F32" if a.dtype == np.float32 else "I64", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}; off += a.nbytes; blobs.append(a.tobytes())
j = json.dumps(h).encode(); j += b" " * (-len(j) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(j)) + j + b"".join(blobs))
PY
  for prec in fp32 bf16; do
    "$DIT" forward --checkpoint "$T/$n.safetensors" --input "$T/in.safetensors" --output "$T/$n-$prec.h5" --precision $prec
  done
  python3 - "$T/$n-fp32.h5" "$T/$n-bf16.h5" "$p" >> "$T/acc.csv" <<'PY'
import sys, h5py, numpy as np
a = h5py.File(sys.argv[1])["out"][:]; b = h5py.File(sys.argv[2])["out"][:]
print(f"DiT-{sys.argv[3]} forward,max_rel_error,{np.abs(a - b).max() / np.abs(a).max():.3e}")
PY
done
for prec in fp32 bf16; do
  "$DIT" sample experiments/digits-1stage.yaml --precision $prec --output-dir "$T/digits-$prec" 2>/dev/null
  acc=$(python3 tools/digits_classifier_check.py "$T/digits-$prec/samples.h5" --min-accuracy 0 | grep -o '([0-9.]* %)' | tr -d '()% ')
  echo "digits $prec,classifier_accuracy_pct,$acc" >> "$T/acc.csv"
done
python3 tools/make_random_checkpoint.py "$T/latent.safetensors" --hidden 64 --depth 4 --heads 4 --input-size 8 --channels 4 --classes 10 --seed 3 >/dev/null
for prec in fp32 bf16; do
  "$DIT" sample --checkpoint "$T/latent.safetensors" --sampler ddim --steps 10 --classes 1,2,3,4 --seed 1 \
    --vae Tests/Fixtures/vae-tiny.safetensors --precision $prec --output-dir "$T/latent-$prec" 2>/dev/null
done
python3 - "$T" >> "$T/acc.csv" <<'PY'
import sys, glob, numpy as np
from PIL import Image
def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)
T = sys.argv[1]
for case in ["digits", "latent"]:
    fs = sorted(glob.glob(f"{T}/{case}-fp32/0*.png"))
    vals = [psnr(np.asarray(Image.open(f)), np.asarray(Image.open(f.replace("-fp32/", "-bf16/")))) for f in fs]
    print(f"{case} images bf16 vs fp32,min_psnr_db,{min(vals):.1f}")
PY
cp "$T/acc.csv" "$OUT/bf16_accuracy.csv"
column -s, -t "$OUT/bf16_accuracy.csv"
