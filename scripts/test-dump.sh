#!/usr/bin/env bash
# End-to-end tests of activation dumps (issue 5) with the release `dit`
# binary: 1-stage vs 4-stage dumps, a perturbed weight and perturbed noise
# found at the right block and step, h5py reading every dataset and
# attribute, killed ranks leaving readable data, bad input, and the PyTorch
# reference dump. Every run is under `timeout`.
set -uo pipefail
cd "$(dirname "$0")/.."
DIT=${DIT:-.build/release/dit}
T=$(mktemp -d)
cleanup() { mountpoint -q "$T/small" 2>/dev/null && umount "$T/small"; rm -rf "$T"; }
trap cleanup EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN=(timeout 120 mpirun --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1)
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }

CK=checkpoints/digits-dit.safetensors
RUN=(--checkpoint $CK --steps 6 --classes 0,1,2,3,4,5,6 --cfg-scale 4 --microbatch-size 2 --threads 1)

# 1. One stage and four stages dump the same values.
timeout 120 $DIT sample "${RUN[@]}" --output-dir $T/o1 --dump $T/one.h5 --dump-steps all >$T/one.log 2>&1 \
  && [ -f $T/one.rank0.h5 ] && [ ! -e $T/one.rank0.h5.partial ] && ok "1-stage dump written" || bad "1-stage dump" "$(tail -3 $T/one.log)"
"${MPIRUN[@]}" -np 4 $DIT sample "${RUN[@]}" --stages 4 --output-dir $T/o4 --dump $T/four.h5 --dump-steps all >$T/four.log 2>&1 \
  && [ "$(ls $T/four.rank*.h5 | wc -l)" = 4 ] && ok "4-stage dump: 4 rank files" || bad "4-stage dump" "$(tail -3 $T/four.log)"
out=$($DIT dump compare $T/one.h5 $T/four.h5 --rtol 0 --atol 0 2>&1)
grep -q "OK: every compared value is identical" <<<"$out" && grep -q "compared 378 entries" <<<"$out" \
  && ok "1-stage and 4-stage dumps compare equal ($(grep -o 'compared [0-9]* entries' <<<"$out"))" || bad "1 vs 4 stages" "$out"
timeout 60 $DIT dump merge $T/merged.h5 $T/four.h5 >/dev/null 2>&1 && out=$($DIT dump compare $T/merged.h5 $T/one.rank0.h5 --rtol 0 --atol 0 2>&1) \
  && grep -q "identical" <<<"$out" && ok "merged 4-stage file compares equal to the 1-stage file" || bad "merge" "$out"

# 2. A perturbed weight is found at its block, step 0; perturbed noise at the next step's x_t.
python3 - "$T" <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file, save_file
from safetensors import safe_open
T = sys.argv[1]
with safe_open("checkpoints/digits-dit.safetensors", "np") as f: meta = f.metadata()
w = {k: v.copy() for k, v in load_file("checkpoints/digits-dit.safetensors").items()}
w["blocks.2.mlp.fc2.weight"][5, 7] += 0.05
save_file(w, f"{T}/perturbed.safetensors", metadata=meta)
g = np.random.default_rng(1)
z = g.standard_normal((7, 1, 16, 16)).astype(np.float32); noise = g.standard_normal((6, 7, 1, 16, 16)).astype(np.float32)
save_file({"z": z, "noise": noise}, f"{T}/noise.safetensors")
noise[3, 4, 0, 5, 5] += 0.5
save_file({"z": z, "noise": noise}, f"{T}/noise-perturbed.safetensors")
PY
timeout 120 $DIT sample "${RUN[@]}" --checkpoint $T/perturbed.safetensors --output-dir $T/op --dump $T/pert.h5 --dump-steps all >$T/pert.log 2>&1
out=$($DIT dump compare $T/one.h5 $T/pert.h5 2>&1); rc=$?
[ $rc = 1 ] && grep -q "FIRST DIVERGENCE: step 0 (t=999), block 2, image 0" <<<"$out" \
  && ok "perturbed weight: $(grep FIRST <<<"$out" | cut -c1-80)" || bad "perturbed weight" "rc $rc: $out"
timeout 120 $DIT sample "${RUN[@]}" --noise $T/noise.safetensors --output-dir $T/on --dump $T/n.h5 --dump-steps all >/dev/null 2>&1
timeout 120 $DIT sample "${RUN[@]}" --noise $T/noise-perturbed.safetensors --output-dir $T/onp --dump $T/np.h5 --dump-steps all >/dev/null 2>&1
out=$($DIT dump compare $T/n.h5 $T/np.h5 2>&1); rc=$?
[ $rc = 1 ] && grep -q "FIRST DIVERGENCE: step 4 (t=.*), x_t, image 4" <<<"$out" \
  && ok "perturbed noise of step 3: $(grep FIRST <<<"$out" | cut -c1-60)" || bad "perturbed noise" "rc $rc: $out"

# 3. h5py reads every dataset and attribute; h5dump reads the files.
python3 - $T/one.rank0.h5 $T/four.rank*.h5 $T/merged.h5 <<'PY' && ok "h5py reads every dataset and attribute of 6 files" || bad "h5py"
import sys, h5py, json, numpy as np
root_keys = {"format", "format_version", "layout", "program", "program_version", "model_config", "checkpoint",
             "checkpoint_sha256", "checkpoint_size", "checkpoint_mtime", "sampler", "steps", "cfg_scale", "seed", "timesteps"}
for path in sys.argv[1:]:
    with h5py.File(path, "r") as f:
        missing = root_keys - set(f.attrs)
        assert not missing, (path, missing)
        json.loads(f.attrs["model_config"])
        merged = f.attrs["layout"] == "merged"
        if not merged:
            assert f.attrs["format_version"] == 2 and {"rank", "stage", "blocks"} <= set(f.attrs), path
        n = 0
        def visit(name, obj):
            global n
            attrs = dict(obj.attrs)
            if isinstance(obj, h5py.Dataset):
                a = obj[()]
                assert a.dtype == np.float32 and np.isfinite(a).all(), name
                assert obj.chunks is None, name  # contiguous when not compressed
                if merged:
                    need = {"point", "step", "timestep", "doubled", "stage", "rank", "microbatch", "image"}
                    if attrs["point"] == "block": need.add("block")
                    assert need <= set(attrs), (path, name, set(attrs))
                else:  # /step_k/mb_m/{point} or blocks_{first}: attributes on the groups
                    step, mb, leaf = name.split("/")
                    g = obj.parent
                    assert {"images", "doubled", "microbatch", "microbatches"} <= set(g.attrs), (path, name, set(g.attrs))
                    assert g.attrs["microbatch"] == int(mb[3:].split("_")[0]) == min(g.attrs["microbatches"]), name
                    assert len(g.attrs["microbatches"]) == len(g.attrs["images"]) and {"step", "timestep"} <= set(f[step].attrs), name
                    rows = a.shape[1] if leaf.startswith("blocks_") else a.shape[0]
                    assert rows in (len(g.attrs["images"]), 2 * len(g.attrs["images"])), (name, a.shape)
                    if leaf.startswith("blocks_"):
                        first = int(leaf[7:])
                        assert set(range(first, first + a.shape[0])) <= set(f.attrs["blocks"]), (name, a.shape)
                    else:
                        assert leaf in {"x_t", "embed", "c", "final", "model_out"}, name
                n += 1
            else:
                assert {"step", "timestep"} <= set(attrs) or "/" in name, (name, attrs)
        f.visititems(visit)
        assert n > 0, path
PY
h5dump -H $T/one.rank0.h5 >/dev/null 2>&1 && ok "h5dump reads the rank file" || bad "h5dump"

# 4. A rank killed after step 3 leaves a readable .partial file with steps 0-2
# (--dump-test-kill-after-step K[:RANK], hidden from --help, exists for this test).
# Steps over the pending limit, written one group per micro-batch, are
# tested in Tests/LauncherTests (DumpFileTests).
check_partial() {  # FILE REFERENCE: steps 0-2 complete and equal to the full run
  python3 - "$1" <<'PY' || return 1
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    steps = sorted(int(k[5:]) for k in f if k.startswith("step_"))
    assert steps[:3] == [0, 1, 2], steps
    for k in range(3):
        for g in f[f"step_{k}"].values():
            for d in g.values(): d[()]
PY
  $DIT dump compare "$1" "$2" --rtol 0 --atol 0 >$T/cmp.log 2>&1 && grep -q identical $T/cmp.log
}
timeout 120 $DIT sample "${RUN[@]}" --dump-test-kill-after-step 3 --output-dir $T/ok1 --dump $T/k1.h5 --dump-steps all >/dev/null 2>&1; rc=$?
[ $rc = 137 ] && [ -f $T/k1.rank0.h5.partial ] && [ ! -e $T/ok1/samples.h5 ] && check_partial $T/k1.rank0.h5.partial $T/one.h5 \
  && ok "1 rank killed after step 3: .partial file opens, steps 0-2 equal the full run" || bad "killed 1 rank" "rc $rc $(cat $T/cmp.log 2>/dev/null | tail -2)"
"${MPIRUN[@]}" -np 4 $DIT sample "${RUN[@]}" --dump-test-kill-after-step 3:2 --stages 4 --output-dir $T/ok4 --dump $T/k4.h5 --dump-steps all >$T/k4.log 2>&1; rc=$?
[ $rc != 0 ] && [ $rc != 124 ] && [ -f $T/k4.rank2.h5.partial ] && check_partial $T/k4.rank2.h5.partial $T/four.rank2.h5 \
  && ok "rank 2 of 4 killed after step 3: its .partial file holds steps 0-2 (rc $rc)" || bad "killed rank 2 of 4" "rc $rc $(tail -2 $T/k4.log)"

# 5. Bad input: named errors, no files left behind.
expect_error() {  # NAME PATTERN LEFTOVER_GLOB -- command...
  local name=$1 pattern=$2 left=$3; shift 4
  local msg rc; msg=$("$@" 2>&1); rc=$?
  if [ $rc = 0 ]; then bad "$name" "exit 0"; return; fi
  if ! grep -qE "$pattern" <<<"$msg"; then bad "$name" "message: $msg"; return; fi
  if compgen -G "$left" >/dev/null; then bad "$name" "left $(compgen -G "$left" | head -1)"; return; fi
  ok "$name: $(grep -E "$pattern" <<<"$msg" | head -1 | cut -c1-140)"
}
touch $T/afile
expect_error "unwritable dump path" "afile.*cannot create" "$T/afile/*" -- timeout 60 $DIT sample "${RUN[@]}" --output-dir $T/e1 --dump $T/afile/d.h5
expect_error "dump path in /proc" "cannot create the HDF5 file" "/proc/d.rank0*" -- timeout 60 $DIT sample "${RUN[@]}" --output-dir $T/e1 --dump /proc/d.h5
mkdir -p $T/small
if mount -t tmpfs -o size=256k tmpfs $T/small 2>/dev/null; then
  expect_error "disk full (256k tmpfs)" "disk full" "$T/small/d.rank0.h5*" -- timeout 60 $DIT sample "${RUN[@]}" --output-dir $T/e2 --dump $T/small/d.h5 --dump-steps all
else
  expect_error "disk full (ulimit -f 256)" "disk full" "$T/small/d.rank0.h5*" -- bash -c "trap '' XFSZ; ulimit -f 256; exec timeout 60 $DIT sample ${RUN[*]} --output-dir $T/e2 --dump $T/small/d.h5 --dump-steps all"
fi
expect_error "unknown point" "unknown point 'blok'; allowed: x_t, embed, c, block, block_internals, final, model_out, all" "$T/e3.rank*" -- $DIT sample "${RUN[@]}" --output-dir $T/e3o --dump $T/e3.h5 --dump-points block,blok
expect_error "block internals under Ulysses" "sequence_parallel: 1" "$T/e4.rank*" -- $DIT sample "${RUN[@]}" --output-dir $T/e4o --dump $T/e4.h5 --dump-points block_internals --sequence-parallel 2
expect_error "step out of range" "step 9 is out of range; this run has 6 steps" "$T/e5.rank*" -- $DIT sample "${RUN[@]}" --output-dir $T/e5o --dump $T/e5.h5 --dump-steps 0,9
timeout 60 $DIT sample --checkpoint Tests/Fixtures/fwd-tiny-p2.safetensors --steps 2 --classes 1,2 --output-dir $T/ot --dump $T/tiny.h5 >/dev/null 2>&1
expect_error "different models" "different models" "$T/none" -- $DIT dump compare $T/one.h5 $T/tiny.h5
expect_error "missing dump" "no such file, and no rank files" "$T/none" -- $DIT dump compare $T/one.h5 $T/nothing.h5
expect_error "merge of different models" "different model" "$T/bad-merge.h5*" -- $DIT dump merge $T/bad-merge.h5 $T/one.rank0.h5 $T/tiny.rank0.h5

# 6. ls and show.
out=$($DIT dump ls $T/one.rank0.h5 2>&1)
grep -qE "mb_0/  doubled=1 images=\[0, 1, 2, 3, 4, 5, 6\] microbatch=0 microbatches=\[0, 0, 1, 1, 2, 2, 3\]" <<<"$out" && grep -qE "blocks_0  float32 4×14×16×[0-9]+" <<<"$out" && ok "dump ls shows shapes and attributes" || bad "dump ls" "$(head -5 <<<"$out")"
out=$($DIT dump show $T/one.h5 final --step 5 --image 6 2>&1)
grep -qE "step 5 image 6 final .*NaN 0  Inf 0" <<<"$out" && ok "dump show: $(cut -c1-90 <<<"$out")" || bad "dump show" "$out"

# 7. Swift against the PyTorch reference, block by block.
# PyTorch runs each step's forward on Swift's x_t (--x-t-from), so the comparison measures
# the forward, not the drift of two samplers (their parity: SamplingGoldenTests).
if python3 -c "import torch, h5py" 2>/dev/null; then
  timeout 60 $DIT dump merge $T/n-merged.h5 $T/n.h5 >/dev/null 2>&1 || bad "merge for the torch comparison"
  timeout 300 python3 tools/torch_dump.py --x-t-from $T/n-merged.h5 --checkpoint $CK --classes 0,1,2,3,4,5,6 --steps 6 --cfg-scale 4 \
    --noise $T/noise.safetensors --dump-steps all --output $T/torch.h5 >$T/torch.log 2>&1
  out=$($DIT dump compare $T/n.h5 $T/torch.h5 --rtol 1e-3 --atol 1e-4 2>&1)
  grep -q "OK:" <<<"$out" && grep -q "compared 378 entries" <<<"$out" \
    && ok "Swift and PyTorch dumps agree, forward on the same x_t (rtol 1e-3, atol 1e-4): $(grep block_3 <<<"$out")" || bad "torch compare" "$(tail -5 $T/torch.log) $out"
  # Inside the blocks: adaLN modulation, attention and MLP branches (6 steps × 7 images × 4 blocks × 3).
  timeout 300 python3 tools/torch_dump.py --x-t-from $T/n-merged.h5 --checkpoint $CK --classes 0,1,2,3,4,5,6 --steps 6 --cfg-scale 4 \
    --noise $T/noise.safetensors --dump-steps all --dump-points block_internals --output $T/torch-in.h5 >$T/torch-in.log 2>&1
  timeout 120 $DIT sample "${RUN[@]}" --noise $T/noise.safetensors --output-dir $T/oin --dump $T/in.h5 --dump-steps all \
    --dump-points block_internals >$T/in.log 2>&1
  out=$($DIT dump compare $T/in.h5 $T/torch-in.h5 --rtol 1e-3 --atol 1e-4 2>&1)
  grep -q "OK:" <<<"$out" && grep -q "compared 504 entries" <<<"$out" && grep -q "block_3_mlp" <<<"$out" \
    && ok "Swift and PyTorch block internals agree (rtol 1e-3, atol 1e-4): $(grep -E 'block_3_(adaLN|attn|mlp)' <<<"$out" | tr -s ' ' | paste -sd ';')" \
    || bad "torch compare of block internals" "$(tail -3 $T/torch-in.log) $(tail -3 $T/in.log) $out"
else
  echo "skip PyTorch comparison (no torch/h5py)"
fi

# 8. Block internals of 4 stages equal those of 1 stage, bitwise.
"${MPIRUN[@]}" -np 4 $DIT sample "${RUN[@]}" --stages 4 --output-dir $T/oin4 --dump $T/in4.h5 --dump-steps first,last \
  --dump-points block,block_internals >$T/in4.log 2>&1
timeout 120 $DIT sample "${RUN[@]}" --output-dir $T/oin1 --dump $T/in1.h5 --dump-steps first,last --dump-points block,block_internals >$T/in1.log 2>&1
out=$($DIT dump compare $T/in1.h5 $T/in4.h5 --rtol 0 --atol 0 2>&1)
if grep -q "OK: every compared value is identical" <<<"$out" && grep -q "compared 224 entries" <<<"$out"; then
  ok "1-stage and 4-stage block internals identical ($(grep -o 'compared [0-9]* entries' <<<"$out"))"
else
  bad "block internals, 1 vs 4 stages" "$(tail -3 $T/in4.log) $out"
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
