#!/usr/bin/env bash
# Installs the Debian packages dit-pipe builds and runs against (idempotent).
set -euo pipefail
pkgs=(libopenblas-dev libdnnl-dev libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools zlib1g-dev pkg-config)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
