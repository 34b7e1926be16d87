#!/usr/bin/env bash
# Installs the report's pinned Python packages (bench/report/requirements.txt)
# unless they are already there at those versions.
set -euo pipefail
cd "$(dirname "$0")"
python3 - <<'PY' 2>/dev/null && exit 0
import importlib.metadata as m, re
for line in open("requirements.txt"):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, op, want = re.match(r"([\w.-]+)\s*(==|>=)\s*(\S+)", line).groups()
    have = m.version(name).split("+")[0]
    if op == "==" and have != want:
        raise SystemExit(1)
PY
echo "report setup: pip installing bench/report/requirements.txt" >&2
python3 -m pip install -q -r requirements.txt
