#!/usr/bin/env bash
# Multi-host tests on 3 fake hosts (network namespaces, ../shared/tools/netns-cluster.sh,
# plain Open MPI defaults over TCP): samples bitwise equal to one process, and a
# killed rank, a killed host, a cut link and a stopped host each end the job
# within 30 s of the fault, non-zero, with the silent rank or host named and no
# samples.h5 left. Skips with a message where namespaces are not allowed.
set -uo pipefail
cd "$(dirname "$0")/.."
DIT=$(readlink -f "${DIT:-.build/release/dit}")
NETNS=${NETNS_TOOL:-../shared/tools/netns-cluster.sh}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }

if [ ! -x "$NETNS" ]; then echo "skip netns tests: $NETNS not found"; exit 0; fi
if [ "$(id -u)" != 0 ] || ! ip netns add dit-probe-$$ 2>/dev/null; then
  echo "skip netns tests: network namespaces are not allowed here (needs root and ip netns)"; exit 0
fi
ip netns del dit-probe-$$
if "$NETNS" status 2>/dev/null | grep -q dpnode; then echo "skip netns tests: a fake cluster is already up (another user?)"; exit 0; fi
trap '"$NETNS" down >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
"$NETNS" up 3 >/dev/null 2>&1 || { echo "skip netns tests: the fake cluster did not come up"; exit 0; }

# What makes OpenBLAS pick the same kernels on every host (remote hosts get a clean environment).
XS=(-x OPENBLAS_NUM_THREADS=1)
for v in OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; do [ -n "${!v:-}" ] && XS+=(-x $v); done
CK=$PWD/checkpoints/digits-dit.safetensors
A=(sample --checkpoint $CK --classes 0,1,2,3,4,5 --microbatch-size 2 --seed 5)
AF=(sample --checkpoint $CK --classes 0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3 --microbatch-size 2 --seed 5)

echo "== 3 hosts, 3 stages: bitwise equal to one process"
OPENBLAS_NUM_THREADS=1 $DIT "${A[@]}" --steps 20 --output-dir $T/one 2>/dev/null
"$NETNS" run 3 --timeout 120 -- -np 3 "${XS[@]}" $DIT "${A[@]}" --steps 20 --stages 3 --output-dir $T/three >$T/three.log 2>&1
if python3 -c "
import h5py, numpy as np, sys
a, b = (h5py.File(f'{d}/samples.h5')['samples'][:] for d in sys.argv[1:])
sys.exit(0 if np.array_equal(a, b) else 1)" $T/one $T/three; then ok "3 hosts over TCP == 1 process (bitwise)"
else bad "3 hosts vs 1 process" "$(grep -a 'dit:\|exit=' $T/three.log | tail -3)"; fi

echo "== faults: each ends the job within 30 s, non-zero, naming the silent rank or host"
for fault in ${FAULTS:-rank kill link stop}; do
  d=$T/f-$fault
  # 24 images x 1000 steps: ~16 s on a Zen 5 core (6 images ended before the fault there), minutes on older CPUs.
  "$NETNS" run 3 --timeout 90 --fault 1:$fault:5 -- -np 3 "${XS[@]}" $DIT "${AF[@]}" --steps 1000 --stages 3 --peer-timeout 5 \
    --output-dir $d >$T/$fault.log 2>&1
  rc=$?
  after=$(grep -aoE 'mpirun ended [0-9.]+ s after' $T/$fault.log | grep -oE '[0-9.]+' | head -1)
  named=$(grep -aoE 'from rank 1 \(host dpnode1\)|process rank 1 with PID [0-9]+ on node dpnode1|Peer host: +dpnode1|dpnode1[^ ]* .*(lost|unreach|fail)[^.]*' $T/$fault.log | head -1)
  if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then bad "$fault: mpirun rc $rc" "$(grep -a 'dit:\|netns-cluster: fault' $T/$fault.log | tail -4)"
  elif [ -z "$after" ] || ! awk -v a="$after" 'BEGIN { exit !(a <= 30) }'; then bad "$fault: ended ${after:-?} s after the fault (> 30 s)"
  elif [ -z "$named" ]; then bad "$fault: the silent rank 1 / dpnode1 is not named" "$(grep -a 'dit:' $T/$fault.log | tail -3)"
  elif [ -e $d/samples.h5 ]; then bad "$fault: left samples.h5"
  else ok "$fault on host 1: job ended ${after} s after the fault, rc $rc: $named"; fi
done

echo "netns: $pass passed, $fail failed"
[ $fail -eq 0 ]
