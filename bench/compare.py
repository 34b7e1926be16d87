#!/usr/bin/env python3
"""Joins `dit bench --csv` and `bench/torch_baseline.py --csv` into one
markdown table: ours (per GEMM backend and precision), torch, our % of the
backend's sgemm peak and of the FMA peak, and the speed-up."""
import csv
import sys


def load(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def main(ours_path, torch_path):
    ours = load(ours_path)
    torch = {(r["preset"], r["batch"], r["threads"]): r for r in load(torch_path)}
    print("| preset | batch | threads | gemm | precision | dit-pipe ms | torch ms | dit-pipe GFLOP/s | % sgemm peak "
          "| % FMA peak | torch % FMA peak | speed-up |")
    print("|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for o in ours:
        key = (o["preset"], o["batch"], o["threads"])
        t = torch.get(key)
        fma = float(o.get("fma_peak_gflops") or "nan")
        tms = float(t["median_ms"]) if t else float("nan")
        tpct = 100 * float(t["gflops"]) / fma if t else float("nan")
        print(f"| {key[0]} | {key[1]} | {key[2]} | {o.get('gemm', 'openblas')} | {o.get('precision', 'fp32')} "
              f"| {float(o['median_ms']):.1f} | {tms:.1f} | {float(o['gflops']):.1f} | {float(o['pct_peak']):.1f} % "
              f"| {float(o.get('pct_fma_peak') or 'nan'):.1f} % | {tpct:.1f} % | {tms / float(o['median_ms']):.2f}× |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
