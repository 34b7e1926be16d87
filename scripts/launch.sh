#!/usr/bin/env bash
# Launches an experiment with the right mpirun flags:
#   scripts/launch.sh experiments/digits-4stages.yaml [extra dit sample flags]
# Every flag goes on to `dit sample`; --stages, --replicas, --microbatch-size
# and --threads also to `dit plan`, so the rank count follows them.
# Ranks = replicas × cfg_parallel × sequence_parallel × stages from the file and those flags; --bind-to none (else mpirun pins
# each of ≤2 ranks to one core and OpenBLAS silently runs one thread);
# --oversubscribe when ranks exceed cores; OPENBLAS_NUM_THREADS per rank;
# root allowed. Extra mpirun arguments go in MPIRUN_ARGS (e.g. a hostfile:
# MPIRUN_ARGS="--hostfile hosts --mca btl tcp,self --mca btl_tcp_if_include eth0").
set -euo pipefail
cfg=${1:?usage: scripts/launch.sh CONFIG.yaml [dit sample flags]}
shift
dit=${DIT:-.build/release/dit}
plan=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --stages=* | --replicas=* | --microbatch-size=* | --threads=*) plan+=("${args[i]}") ;;
    --stages | --replicas | --microbatch-size | --threads) plan+=("${args[i]}" "${args[i + 1]:-}"); i=$((i + 1)) ;;
  esac
done
np=$("$dit" plan "$cfg" ${plan[@]+"${plan[@]}"} --world-size)
threads=$("$dit" plan "$cfg" ${plan[@]+"${plan[@]}"} --print-threads)
flags=(--bind-to none -x "OPENBLAS_NUM_THREADS=$threads")
[ "$np" -gt "$(nproc)" ] && flags+=(--oversubscribe)
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec mpirun -np "$np" "${flags[@]}" ${MPIRUN_ARGS:-} "$dit" sample "$cfg" "$@"
