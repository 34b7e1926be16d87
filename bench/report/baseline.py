"""Section 1's measurements: the machine's copy bandwidth, our current
forward on each GEMM backend (`dit bench --gemm openblas,onednn`, which also
measures the FMA peak), our first version (the first commit with `dit bench`,
built once into .build-report/), and upstream's model in PyTorch eager fp32,
bf16 autocast and torch.compile (bench/torch_baseline.py)."""
import os
import re
import shutil
import subprocess
import sys

from common import ROOT, read_csv, write_csv

PEAK_SRC = os.path.join(ROOT, "bench", "report", "copy_bandwidth.c")
CACHE = os.path.join(ROOT, ".build-report")
RELEASE = ["-c", "release", "-Xswiftc", "-target-cpu", "-Xswiftc", "native"]


def copy_bandwidth(report, threads):
    report.start("peak.csv")
    exe = os.path.join(CACHE, "copy_bandwidth")
    os.makedirs(CACHE, exist_ok=True)
    report.run("peak.csv", ["cc", "-O2", "-march=native", "-pthread", PEAK_SRC, "-o", exe], log="peak-build",
               shown="cc -O2 -march=native -pthread bench/report/copy_bandwidth.c -o copy_bandwidth")
    _, out, _ = report.run("peak.csv", [exe, str(max(threads))], log="peak", shown=f"copy_bandwidth {max(threads)}")
    with open(report.path("peak.csv"), "w") as f:
        f.write(out[out.index("threads,"):])


def first_commit():
    """The first commit that has `dit bench` (the repository's first commit has only `dit forward`)."""
    out = subprocess.run(["git", "-C", ROOT, "log", "--diff-filter=A", "--format=%h", "--",
                          "Sources/Launcher/BenchCommand.swift"], capture_output=True, text=True, check=True).stdout
    return out.split()[-1]


def build_first(report, allow_build):
    """Path of the first version's dit binary, building it if allowed; None if not built."""
    commit = first_commit()
    root = os.path.join(CACHE, f"first-{commit}")
    exe = os.path.join(root, "build", "release", "dit")
    if os.path.exists(exe):
        report.note("first", f"first version: commit `{commit}` (the first with `dit bench`), built earlier into "
                             f"`.build-report/first-{commit}` with `swift build {' '.join(RELEASE)}`")
        return exe, commit
    if not allow_build:
        report.note("first", f"first version (`{commit}`) not measured: not built yet and this mode does not build it "
                             "(the default mode does, once)")
        return None, commit
    src = os.path.join(root, "src")
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    report.run("first", ["bash", "-c", f"git archive {commit} | tar -x -C {src}"], log="first-extract",
               shown=f"git archive {commit} | tar -x -C .build-report/first-{commit}/src")
    if os.path.exists(os.path.join(ROOT, "Package.resolved")):
        shutil.copy(os.path.join(ROOT, "Package.resolved"), src)
    # git keeps no empty folders; that commit's manifest names an empty test target.
    with open(os.path.join(src, "Package.swift")) as f:
        for name in re.findall(r'\.testTarget\(name: "(\w+)"', f.read()):
            folder = os.path.join(src, "Tests", name)
            if not os.path.isdir(folder):
                os.makedirs(folder)
                with open(os.path.join(folder, "Empty.swift"), "w") as f:
                    f.write("// An empty test target, as committed.\n")
    rc, _, wall = report.run("first", ["swift", "build", *RELEASE, "--scratch-path", os.path.join(root, "build")],
                             cwd=src, log="first-build", check=False, timeout=3600,
                             shown=f"(cd .build-report/first-{commit}/src && swift build {' '.join(RELEASE)} --scratch-path ../build)")
    if rc != 0:
        report.note("first", f"first version (`{commit}`) did not build (exit {rc}, logs/first-build.txt); "
                             "section 1 compares current against PyTorch only")
        return None, commit
    report.note("first", f"first version: commit `{commit}` (the first with `dit bench`), built in {wall:.0f} s")
    return exe, commit


def dit_bench(report, artifact, exe, label, cases, repeats, log, engine=()):
    """Runs `dit bench` per (presets, batches, threads) group; 1 thread on the CPU clock, 2 on the wall clock."""
    rows = []
    for presets, batches, threads in cases:
        for t in threads:
            clock = ["--cpu-clock"] if t == 1 else []
            csv_path = report.path(f"logs/{log}.tmp.csv")
            args = ["--presets", ",".join(presets), "--batches", ",".join(map(str, batches)), "--threads", str(t),
                    "--repeats", str(repeats), *engine, *clock]
            report.run(artifact, [exe, "bench", *args, "--csv", csv_path],
                       log=f"{log}-{'-'.join(p.replace('/', '') for p in presets)}-t{t}", timeout=7200,
                       shown=f"{label} bench {' '.join(args)} --csv …")
            for r in read_csv(csv_path):
                r["clock"] = "cpu" if t == 1 else "wall"
                rows.append(r)
            os.remove(csv_path)
    return rows


def torch_runs(report, variants, repeats):
    """variants: (name, extra flags, cases). Writes torch.csv (variant, preset, batch, threads, ms, GFLOP/s, clock)."""
    report.start("torch.csv")
    rows = []
    for name, flags, cases in variants:
        for presets, batches, threads in cases:
            for t in threads:
                clock = ["--cpu-clock"] if t == 1 else []
                tmp = report.path("logs/torch.tmp.csv")
                argv = [sys.executable, "bench/torch_baseline.py", "--presets", ",".join(presets), "--batches",
                        ",".join(map(str, batches)), "--threads", str(t), "--repeats", str(repeats), *flags, *clock,
                        "--csv", tmp]
                rc, out, _ = report.run("torch.csv", argv, log=f"torch-{name}-{'-'.join(p.replace('/', '') for p in presets)}-t{t}",
                                        check=False, timeout=7200,
                                        shown=" ".join(["python3"] + argv[1:-2] + ["--csv", "…"]))
                if rc != 0:
                    last = [l for l in out.strip().splitlines() if l.strip()][-1:] or ["(no output)"]
                    report.note("torch.csv", f"{name} {','.join(presets)} threads {t} did not run (exit {rc}): {last[0][:200]}")
                    continue
                for r in read_csv(tmp):
                    rows.append([name, r["preset"], r["batch"], r["threads"], r["median_ms"], r["gflops"],
                                 "cpu" if clock else "wall"])
                os.remove(tmp)
    write_csv(report.path("torch.csv"), ["variant", "preset", "batch", "threads", "median_ms", "gflops", "clock"], rows)


def ours(report, mode, first_exe, commit):
    """dit.csv: the current build on both GEMM backends (and bf16 where the mode asks), the first version on OpenBLAS."""
    report.start("dit.csv")
    header = ["version", "preset", "batch", "threads", "gemm", "precision", "median_ms", "gflops", "peak_gflops",
              "fma_peak_gflops", "clock"]
    runs = [("current", report.dit, "dit", mode["bench_cases"], ["--gemm", "openblas,onednn"]),
            ("current", report.dit, "dit", mode["dit_bf16_cases"], ["--gemm", "onednn", "--precision", "bf16"]),
            ("first", first_exe, f"dit@{commit}", mode["first_cases"], [])]
    rows, fma = [], {}
    for version, exe, label, cases, engine in runs:
        if exe is None or not cases:
            continue
        try:
            measured = dit_bench(report, "dit.csv", exe, label, cases, mode["repeats"], f"bench-{version}", engine)
        except RuntimeError as e:
            report.note("dit.csv", f"`{label} bench {' '.join(engine)}` failed: {str(e).splitlines()[-1][:200]}")
            continue
        for r in measured:
            if "fma_peak_gflops" in r:
                fma[r["threads"]] = r["fma_peak_gflops"]
            rows.append([version, r["preset"], r["batch"], r["threads"], r.get("gemm", "openblas"),
                         r.get("precision", "fp32"), r["median_ms"], r["gflops"], r["peak_gflops"],
                         r.get("fma_peak_gflops") or fma.get(r["threads"], ""), r["clock"]])
        write_csv(report.path("dit.csv"), header, rows)


def measure_dit(report, mode):
    copy_bandwidth(report, mode["threads"])
    first_exe, commit = build_first(report, mode["build_first"])
    ours(report, mode, first_exe, commit)


def measure_torch(report, mode):
    torch_runs(report, [("eager fp32", [], mode["bench_cases"]),
                        ("eager bf16 autocast", ["--precision", "bf16"], mode["bf16_cases"]),
                        ("torch.compile fp32", ["--compile"], mode["compile_cases"])], mode["repeats"])
