"""Section 5's measurements: images/s of DiT-S/2 sampling (random weights)
on 1 and 2 ranks as pipeline stages and as replicas, with each rank's peak
memory and a trace; CFG-parallel and sequence-parallel latency where the
binary has those flags; the bubble against S under --simulate; quality
against steps where a script for it exists."""
import glob
import os
import re
import shutil
import sys

from common import MPI_ENV, ROOT, mpirun, write_csv

RATE = re.compile(r"(\d+) images in ([\d.]+) s \(([\d.]+) images/s\)")
RSS = re.compile(r"maxrss_kb (\d+)")
BUBBLE = re.compile(r"mean bubble ([\d.]+) % \(predicted \(S−1\)/\(T·M\+S−1\) = ([\d.]+) %\)")
CACHE = os.path.join(ROOT, ".build-report")


def checkpoint(report, preset="DiT-S/2"):
    path = os.path.join(CACHE, f"{preset.replace('DiT-', '').replace('/', '')}-random.safetensors")
    if not os.path.exists(path):
        os.makedirs(CACHE, exist_ok=True)
        report.run("scaling.csv", [sys.executable, "tools/make_random_checkpoint.py", path, "--preset", preset],
                   log="random-checkpoint", shown=f"python3 tools/make_random_checkpoint.py S2.safetensors --preset {preset}")
    return path


def sample(report, artifact, name, ranks, threads, args, out_dir, log):
    argv = mpirun(ranks, threads, ["/usr/bin/time", "-f", "maxrss_kb %M", report.dit, "sample", *args,
                                   "--threads", str(threads), "--output-dir", out_dir])
    shown = (f"mpirun -np {ranks} -x OPENBLAS_NUM_THREADS={threads} dit sample "
             + " ".join(a if not a.startswith(("/", CACHE)) else "…" for a in args) + f" --threads {threads}")
    rc, out, _ = report.run(artifact, argv, env=MPI_ENV, log=log, timeout=3600, check=False, shown=shown)
    m = RATE.search(out)
    if rc != 0 or not m:
        report.note(artifact, f"{name}: did not run (exit {rc}; logs/{log}.txt)")
        return None
    rss = [int(v) for v in RSS.findall(out)]
    return dict(images=int(m.group(1)), seconds=float(m.group(2)), rate=float(m.group(3)), rss_kb=max(rss) if rss else 0)


def identical(a, b):
    import h5py
    import numpy as np
    with h5py.File(a) as fa, h5py.File(b) as fb:
        return bool(np.array_equal(fa["samples"][:], fb["samples"][:]))


def scaling(report, mode, tmp):
    report.start("scaling.csv")
    ckpt = checkpoint(report)
    images = mode["pipeline_images"]
    base = ["--checkpoint", ckpt, "--steps", str(mode["pipeline_steps"]), "--cfg-scale", "4", "--classes",
            ",".join(str(1 + i % 9) for i in range(images)), "--microbatch-size", "2", "--seed", "0"]
    layouts = [("1 rank × 1 thread", "1", 1, 1, ["--stages", "1"]),
               ("PP: 2 stages × 1 thread", "PP", 2, 1, ["--stages", "2", "--trace", f"{tmp}/trace-pp2/t.json"]),
               ("DP: 2 replicas × 1 thread", "DP", 2, 1, ["--stages", "1", "--replicas", "2"]),
               ("1 rank × 2 threads", "threads", 1, 2, ["--stages", "1"])]
    rows = []
    for name, kind, ranks, threads, extra in layouts:
        out_dir = f"{tmp}/{kind}-{ranks}"
        r = sample(report, "scaling.csv", name, ranks, threads, base + extra, out_dir, f"scaling-{kind}-{ranks}")
        if r is None:
            continue
        same = identical(f"{tmp}/1-1/samples.h5", f"{out_dir}/samples.h5") if kind != "1" else True
        rows.append([name, kind, ranks, threads, r["images"], r["seconds"], r["rate"], r["rss_kb"], same])
    write_csv(report.path("scaling.csv"), ["layout", "kind", "ranks", "threads", "images", "seconds", "images_per_s",
                                            "max_rss_kb", "samples_bitwise_equal_to_1_rank"], rows)
    traces = sorted(glob.glob(f"{tmp}/trace-pp2/t.rank*.json"))
    for i, t in enumerate(traces):
        shutil.copy(t, report.path(f"trace-pp2.rank{i}.json"))
    if traces:
        report.commands["trace-pp2"] = [c for c in report.commands["scaling.csv"] if "--stages 2" in c]
        _, out, _ = report.run("trace-pp2", [report.dit, "report", *[report.path(f"trace-pp2.rank{i}.json") for i in range(len(traces))]],
                               log="report-pp2", shown="dit report trace-pp2.rank*.json")


def has_flag(report, flag):
    _, out, _ = report.run("flags", [report.dit, "sample", "--help"], log="sample-help", shown="dit sample --help")
    return flag in out


def latency(report, mode, tmp):
    """One image's latency on 1 rank and on 2 ranks with --cfg-parallel 2 / --sequence-parallel 2, if present."""
    report.start("latency.csv")
    ckpt = checkpoint(report)
    base = ["--checkpoint", ckpt, "--steps", str(mode["pipeline_steps"]), "--cfg-scale", "4", "--classes", "1",
            "--microbatch-size", "1", "--seed", "0"]
    rows = []
    one = sample(report, "latency.csv", "1 rank", 1, 1, base + ["--stages", "1"], f"{tmp}/lat-1", "latency-1")
    if one:
        rows.append(["1 rank", 1, one["seconds"], True])
    for flag, label in (("--cfg-parallel", "CFG-parallel"), ("--sequence-parallel", "SP (Ulysses)")):
        if not has_flag(report, flag):
            report.note("latency.csv", f"{label}: skipped, this build of dit has no `{flag}` flag (issue 13 adds it)")
            continue
        r = sample(report, "latency.csv", f"{label} 2", 2, 1, base + ["--stages", "1", flag, "2"],
                   f"{tmp}/lat-{flag[2:]}", f"latency{flag[1:]}")
        if r:
            same = identical(f"{tmp}/lat-1/samples.h5", f"{tmp}/lat-{flag[2:]}/samples.h5") if one else ""
            rows.append([f"{label} 2", 2, r["seconds"], same])
    write_csv(report.path("latency.csv"), ["layout", "ranks", "seconds_one_image", "samples_bitwise_equal_to_1_rank"], rows)


def bubble(report, mode, tmp):
    """bench/simulate.sh's study: S ranks, sleep per block, M = 2S micro-batches of one image."""
    report.start("bubble.csv")
    rows = []
    for s in mode["sim_stages"]:
        m = 2 * s
        model = "DiT-L/8" if 24 % s == 0 else "DiT-XL/8"
        trace = f"{tmp}/sim{s}/t.json"
        args = ["--checkpoint", "none", "--model", model, "--stages", str(s), "--simulate", "--simulate-block-seconds",
                str(mode["sim_block"]), "--steps", str(mode["sim_steps"]), "--classes", ",".join(["1"] * m),
                "--microbatch-size", "1"]
        rc, out, _ = report.run("bubble.csv", mpirun(s, 1, [report.dit, "sample", *args, "--trace", trace]), env=MPI_ENV,
                                log=f"simulate-s{s}", check=False, timeout=900,
                                shown=f"mpirun -np {s} dit sample {' '.join(args)} --trace sim{s}/t.json")
        if rc != 0:
            report.note("bubble.csv", f"S={s}: the simulated run failed (exit {rc}; logs/simulate-s{s}.txt)")
            continue
        _, rep, _ = report.run("bubble.csv", [report.dit, "report", *sorted(glob.glob(f"{tmp}/sim{s}/t.rank*.json"))],
                               log=f"report-sim-s{s}", shown=f"dit report sim{s}/t.rank*.json")
        b = BUBBLE.search(rep)
        rows.append([s, m, mode["sim_steps"], model, mode["sim_block"], b.group(1), b.group(2)])
        if s == 4:
            for i, t in enumerate(sorted(glob.glob(f"{tmp}/sim{s}/t.rank*.json"))):
                shutil.copy(t, report.path(f"trace-sim4.rank{i}.json"))
            report.commands["trace-sim4"] = [report.commands["bubble.csv"][-2]]
    write_csv(report.path("bubble.csv"), ["stages", "microbatches", "steps", "model", "block_seconds",
                                           "measured_bubble_pct", "predicted_bubble_pct"], rows)


def quality(report):
    """Quality against steps: a CSV with sampler/steps columns made by the issue-14 script, if it is in the tree."""
    report.start("quality")
    found = [p for p in glob.glob(os.path.join(ROOT, "**", "*quality*.csv"), recursive=True)
             if "/docs/report/" not in p and "/.build" not in p]
    scripts = [p for pat in ("tools/*quality*", "bench/*quality*", "scripts/*quality*") for p in glob.glob(os.path.join(ROOT, pat))]
    report.write_json("quality.json", {"csv": [os.path.relpath(p, ROOT) for p in found],
                                       "scripts": [os.path.relpath(p, ROOT) for p in scripts]})
    if found:
        shutil.copy(found[0], report.path("quality.csv"))
        report.commands["quality"] = [f"copied from {os.path.relpath(found[0], ROOT)}"
                                      + (f" (made by {', '.join(os.path.relpath(s, ROOT) for s in scripts)})" if scripts else "")]
    else:
        report.note("quality", "skipped: no quality-versus-steps CSV in the tree (issue 14's script writes one)"
                    + (f"; scripts found: {', '.join(os.path.relpath(s, ROOT) for s in scripts)}" if scripts else ""))


def measure(report, mode, tmp):
    scaling(report, mode, tmp)
    latency(report, mode, tmp)
    bubble(report, mode, tmp)
    quality(report)
