#!/usr/bin/env python3
"""Quality versus steps with the shipped digits model: accuracy, Frechet distance, time per image.

    python3 bench/quality_vs_steps.py [--dit .build/release/dit] [--per-class 30] \\
        [--csv out/quality/quality_vs_steps.csv] [--svg docs/quality_vs_steps.svg]

For every row (DDPM 250/100/50/25, DDIM 50/25/10, DPM-Solver++ 25/15/10/5; override with
--rows ddpm:250,dpm-solver++:10) this runs `dit sample` on checkpoints/digits-dit.safetensors at
cfg 4 (upstream guidance) for per-class images of each digit, seed 0, one process, then scores
the samples with tools/digits_classifier_check.py's models, both fit on the 1797 real digits:

  accuracy  the RBF SVM's (the CI check's classifier) share of samples classified as their label;
  fd        the Frechet distance between Gaussians fit to the generated and the real digits'
            features, the features being the 64-unit hidden layer (the penultimate layer) of an
            MLP classifier -- FID's recipe with a digits classifier in place of Inception;
  s/image   dit's own sampling wall time (model load and output excluded) over the image count;
  cpu s/image  the dit process's user + system CPU time over the image count (steadier than wall
            time on a shared machine; includes loading the model and writing the output).
Every run is one process with OPENBLAS_NUM_THREADS=1.

Writes one CSV line per row (sampler, steps, images, accuracy_pct, fd, seconds_per_image,
model_evals_per_image), prints a Markdown table, and with --svg draws FD and accuracy against
steps.  The CSV is what docs/performance.md's table and the report generator read.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import resource
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
import digits_classifier_check as C  # noqa: E402

ROWS = [("ddpm", 250), ("ddpm", 100), ("ddpm", 50), ("ddpm", 25), ("ddim", 50), ("ddim", 25), ("ddim", 10),
        ("dpm-solver++", 25), ("dpm-solver++", 15), ("dpm-solver++", 10), ("dpm-solver++", 5)]
FIELDS = ["sampler", "steps", "images", "accuracy_pct", "fd", "seconds_per_image", "cpu_seconds_per_image",
          "model_evals_per_image"]


def sample(dit, checkpoint, sampler, steps, labels, seed, out):
    cmd = [dit, "sample", "--checkpoint", checkpoint, "--sampler", sampler, "--steps", str(steps),
           "--cfg-scale", "4", "--classes", ",".join(map(str, labels)), "--seed", str(seed),
           "--microbatch-size", "50", "--output-dir", out]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    m = re.search(r"dit: (\d+) images in ([0-9.]+) s", r.stderr)
    import h5py
    with h5py.File(os.path.join(out, "samples.h5"), "r") as f:
        samples = np.asarray(f["samples"][...], dtype=np.float32)
    return samples, float(m.group(2)) / int(m.group(1)), cpu / int(m.group(1))


def svg(rows, path):
    """FD (left) and accuracy (right) against steps, log-x, one polyline per sampler."""
    w, h, pad = 360, 240, 44
    colors = {"ddpm": "#1f77b4", "ddim": "#ff7f0e", "dpm-solver++": "#2ca02c"}
    xs = [np.log10(r["steps"]) for r in rows]
    x0, x1 = min(xs) - 0.05, max(xs) + 0.05

    def panel(ox, key, label, lo, hi):
        def px(s): return ox + pad + (np.log10(s) - x0) / (x1 - x0) * (w - 1.5 * pad)
        def py(v): return h - pad + (pad - h + pad * 0.5) * (v - lo) / (hi - lo or 1)
        out = [f'<rect x="{ox + pad}" y="{pad / 2}" width="{w - 1.5 * pad}" height="{h - 1.5 * pad}" fill="none" stroke="#999"/>',
               f'<text x="{ox + w / 2}" y="{h - 8}" text-anchor="middle" font-size="11">steps (log scale)</text>',
               f'<text x="{ox + 10}" y="{h / 2}" font-size="11" transform="rotate(-90 {ox + 10} {h / 2})" text-anchor="middle">{label}</text>']
        for s in sorted({r["steps"] for r in rows}):
            out.append(f'<text x="{px(s):.1f}" y="{h - pad + 14}" text-anchor="middle" font-size="9">{s}</text>')
        for v in np.linspace(lo, hi, 5):
            out.append(f'<text x="{ox + pad - 4}" y="{py(v) + 3:.1f}" text-anchor="end" font-size="9">{v:.3g}</text>')
        for name, color in colors.items():
            pts = sorted((r["steps"], r[key]) for r in rows if r["sampler"] == name)
            if pts:
                coords = " ".join(f"{px(s):.1f},{py(v):.1f}" for s, v in pts)
                out.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>')
                out += [f'<circle cx="{px(s):.1f}" cy="{py(v):.1f}" r="3" fill="{color}"/>' for s, v in pts]
        return out

    fds, accs = [r["fd"] for r in rows], [r["accuracy_pct"] for r in rows]
    body = panel(0, "fd", "Frechet distance (lower is better)", 0, max(fds) * 1.05)
    body += panel(w, "accuracy_pct", "classifier accuracy %", min(accs) - 1, 100)
    for i, (name, color) in enumerate(colors.items()):
        body.append(f'<text x="{w * 2 - 100}" y="{pad + 14 * i}" font-size="11" fill="{color}">{name}</text>')
    with open(path, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * w}" height="{h}" font-family="sans-serif">'
                + "".join(body) + "</svg>\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dit", default=os.path.join(ROOT, ".build", "release", "dit"))
    ap.add_argument("--checkpoint", default=os.path.join(ROOT, "checkpoints", "digits-dit.safetensors"))
    ap.add_argument("--per-class", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows", help="comma list of sampler:steps (default: the documented eleven)")
    ap.add_argument("--csv", default=os.path.join(ROOT, "out", "quality", "quality_vs_steps.csv"))
    ap.add_argument("--svg")
    args = ap.parse_args()
    rows = [(s, int(n)) for s, n in (r.rsplit(":", 1) for r in args.rows.split(","))] if args.rows else ROWS

    real_x, real_y = C.real_digits_16()
    svm = C.make_classifier().fit(real_x, real_y)
    features = C.penultimate_features(real_x, real_y)
    real_f = features(real_x)
    half = np.random.default_rng(0).permutation(len(real_x))
    a, b = half[: len(half) // 2], half[len(half) // 2:]
    print(f"reference: FD between two random halves of the real digits = {C.frechet_distance(real_f[a], real_f[b]):.3f}")
    labels = [c for c in range(10) for _ in range(args.per_class)]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for sampler, steps in rows:
            s, spi, cpi = sample(args.dit, args.checkpoint, sampler, steps, labels, args.seed, os.path.join(tmp, f"{sampler}{steps}"))
            x = s.reshape(len(s), -1)
            acc = 100.0 * float((svm.predict(np.clip(x, -1, 1)) == np.array(labels)).mean())
            fd = C.frechet_distance(features(x), real_f)
            results.append({"sampler": sampler, "steps": steps, "images": len(s), "accuracy_pct": round(acc, 1),
                            "fd": round(fd, 3), "seconds_per_image": round(spi, 5), "cpu_seconds_per_image": round(cpi, 5),
                            "model_evals_per_image": steps})
            print(f"{sampler} {steps}: accuracy {acc:.1f} %, FD {fd:.3f}, {1000 * spi:.2f} ms/image "
                  f"({1000 * cpi:.2f} ms CPU)", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.csv)), exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(results)
    print("\n| sampler | steps | accuracy | FD | wall ms / image | CPU ms / image |\n|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['sampler']} | {r['steps']} | {r['accuracy_pct']:.1f} % | {r['fd']:.3f} | "
              f"{1000 * r['seconds_per_image']:.2f} | {1000 * r['cpu_seconds_per_image']:.2f} |")
    if args.svg:
        svg(results, args.svg)
    print(f"wrote {args.csv}" + (f" and {args.svg}" if args.svg else ""))


if __name__ == "__main__":
    main()
