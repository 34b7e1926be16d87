#!/usr/bin/env bash
# Python packages for the test-side checks (digits classifier, h5py readers, PIL for PNGs).
# torch is NOT needed: it is only for regenerating fixtures (tools/).
set -euo pipefail
python3 - <<'PY' 2>/dev/null && exit 0
import numpy, sklearn, h5py, safetensors, PIL
PY
echo "setup: pip installing numpy scikit-learn h5py safetensors pillow" >&2
python3 -m pip install -q numpy scikit-learn h5py safetensors pillow
