#!/usr/bin/env python3
"""Joins `dit bench --csv` and `bench/torch_baseline.py --csv` into one
markdown table: ours, torch, our % of the sgemm peak, and the speed-up."""
import csv
import sys


def load(path):
    with open(path) as f:
        return {(r["preset"], r["batch"], r["threads"]): r for r in csv.DictReader(f)}


def main(ours_path, torch_path):
    ours, torch = load(ours_path), load(torch_path)
    print("| preset | batch | threads | dit-pipe ms | torch ms | dit-pipe GFLOP/s | % sgemm peak | torch % peak | speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, o in ours.items():
        t = torch.get(key)
        peak = float(o["peak_gflops"])
        tms = float(t["median_ms"]) if t else float("nan")
        tpct = 100 * float(t["gflops"]) / peak if t else float("nan")
        print(f"| {key[0]} | {key[1]} | {key[2]} | {float(o['median_ms']):.1f} | {tms:.1f} | {float(o['gflops']):.1f} "
              f"| {float(o['pct_peak']):.1f} % | {tpct:.1f} % | {tms / float(o['median_ms']):.2f}× |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
