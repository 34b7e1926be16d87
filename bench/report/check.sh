#!/usr/bin/env bash
# Checks a generated report (not part of `make test`: it runs the benchmarks):
# REPORT.md has the machine block and the five named sections, at least 6
# plots, and every file it links exists and is a PNG or CSV that parses.
#   bench/report/check.sh              # make report REPORT=smoke into a temp folder, then check it
#   bench/report/check.sh docs/report  # check an existing report only
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-}
if [ -z "$dir" ]; then
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  make report REPORT=smoke REPORT_OUT="$dir"
fi
python3 - "$dir" <<'PY'
import csv, os, re, sys
d = sys.argv[1]
md = open(os.path.join(d, "REPORT.md")).read()
fails = []
for h in ["## Machine", "## 1 Baseline", "## 2 Profile", "## 3 Optimizations", "## 4 Design", "## 5 Results"]:
    if not re.search(rf"^{re.escape(h)}", md, re.M):
        fails.append(f"missing section '{h}'")
links = re.findall(r"\]\(([^)\s]+)\)", md)
pngs = [l for l in links if l.endswith(".png")]
if len(set(pngs)) < 6:
    fails.append(f"only {len(set(pngs))} plots linked (need at least 6)")
for l in links:
    p = os.path.join(d, l)
    if not os.path.isfile(p):
        fails.append(f"linked file {l} does not exist")
    elif l.endswith(".png") and open(p, "rb").read(8) != b"\x89PNG\r\n\x1a\n":
        fails.append(f"{l} is not a PNG")
for f in os.listdir(d):
    if f.endswith(".csv"):
        rows = list(csv.reader(open(os.path.join(d, f))))
        if not rows:
            fails.append(f"{f} is empty")
if "Produced by" not in md:
    fails.append("no table or plot names its command")
print(f"report check: {len(set(pngs))} plots, {len(links)} links, {len(fails)} problem(s)")
for x in fails:
    print("  " + x)
sys.exit(1 if fails else 0)
PY
