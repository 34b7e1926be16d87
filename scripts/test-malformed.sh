#!/usr/bin/env bash
# The malformed-file corpus (tools/make_malformed.py): every bad checkpoint,
# input or noise file must get a named error, a non-zero exit that is not a
# signal, in under 10 s, with no output left; every valid variant (F16,
# BF16, mixed dtypes, header padding, unaligned data, shuffled buffer) must
# give a forward output bitwise equal to its plain-F32 reference.
set -uo pipefail
cd "$(dirname "$0")/.."
DIT=${DIT:-.build/release/dit}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }

python3 tools/make_malformed.py $T/corpus >/dev/null || { echo "FAIL corpus generator"; exit 1; }
CK=Tests/Fixtures/fwd-tiny-p2.safetensors IO=Tests/Fixtures/fwd-tiny-p2-io.safetensors
mkdir -p $T/corpus/dir.safetensors
python3 - $T/corpus <<'PY'
import json, sys
d = sys.argv[1]; m = json.load(open(f"{d}/manifest.json"))
m += [{"name": "directory", "role": "checkpoint", "file": f"{d}/dir.safetensors", "error": "is a directory, not a file"},
      {"name": "missing", "role": "checkpoint", "file": f"{d}/absent.safetensors", "error": "no such file"}]
json.dump(m, open(f"{d}/manifest.json", "w"))
PY

while IFS=$'\x1f' read -r name role file pattern ref; do
  out=$T/out-$name
  case $role in
    checkpoint|valid) cmd=($DIT forward --checkpoint "$file" --input $IO --output $out.h5) ;;
    input) cmd=($DIT forward --checkpoint $CK --input "$file" --output $out.h5) ;;
    noise) cmd=($DIT sample --checkpoint $CK --steps 4 --classes 1,2,3 --noise "$file" --output-dir $out) ;;
  esac
  start=$(date +%s%N)
  msg=$(timeout 20 "${cmd[@]}" 2>&1); rc=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  if [ $role = valid ]; then
    if [ $rc -ne 0 ]; then bad "$name loads" "rc $rc: $msg"; continue; fi
    $DIT forward --checkpoint "$ref" --input $IO --output $out-ref.h5 2>/dev/null
    if python3 -c "
import h5py, numpy as np, sys
a, b = h5py.File(sys.argv[1])['out'][:], h5py.File(sys.argv[2])['out'][:]
sys.exit(0 if a.shape == b.shape and np.array_equal(a, b) else 1)" $out.h5 $out-ref.h5; then
      ok "$name: loads, forward output bitwise equal to the F32 reference"
    else bad "$name: forward output differs from the F32 reference"; fi
    continue
  fi
  if [ $rc -eq 0 ]; then bad "$name" "exit 0"
  elif [ $rc -ge 124 ]; then bad "$name" "exit $rc (a signal or the timeout): $(head -c 300 <<<"$msg")"
  elif [ $ms -ge 10000 ]; then bad "$name" "took $ms ms"
  elif ! grep -qE "$pattern" <<<"$msg"; then bad "$name" "message lacks /$pattern/: $msg"
  elif [ -e $out.h5 ] || [ -n "$(ls -A $out 2>/dev/null)" ]; then bad "$name" "left output behind"
  else ok "$name ($ms ms): $(grep -E "$pattern" <<<"$msg" | head -1 | cut -c1-140)"; fi
done < <(python3 -c "
import json, sys
for c in json.load(open(sys.argv[1])):
    print('\x1f'.join([c['name'], c['role'], c['file'], c.get('error', ''), c.get('reference', '')]))" $T/corpus/manifest.json)

echo "malformed: $pass passed, $fail failed"
[ $fail -eq 0 ]
