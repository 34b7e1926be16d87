"""Section 2's measurements: `dit profile` per preset (time per op kind),
each op's bytes moved for the roofline, and the time of a sampling run that
the forward profile does not see (sampler, communication, dump I/O)."""
import os
import re
import sys
import tempfile

from common import ROOT, write_csv

sys.path.insert(0, os.path.join(ROOT, "tools"))
from make_random_checkpoint import PRESETS  # noqa: E402  (depth, hidden, heads) by size

LINE = re.compile(r"^(\S.*?)\s+(-?[\d.]+)\s+(-?[\d.]+)%\s*([\d.]*)\s*$")
HEAD = re.compile(r"([\d.]+) ms per forward")
ENGINE = re.compile(r"batch \d+, (.*?): [\d.]+ ms per forward")


def shape(preset, batch, input_size=32):
    size, patch = preset.replace("DiT-", "").split("/")
    depth, hidden, heads = PRESETS[size]
    tokens = (input_size // int(patch)) ** 2
    return dict(depth=depth, d=hidden, heads=heads, t=tokens, n=batch, rows=batch * tokens, m=4 * hidden,
                p2=int(patch) ** 2)


def op_bytes(op, s):
    """Bytes one forward moves through each op kind at least once (float32): inputs, weights, outputs."""
    r, d, m, L, n, t = s["rows"], s["d"], s["m"], s["depth"], s["n"], s["t"]
    gemm = lambda rows, k, cols: 4 * (rows * k + k * cols + rows * cols)
    table = {
        "GEMM adaLN_modulation": L * gemm(n, d, 6 * d) + gemm(n, d, 2 * d),
        "LayerNorm + modulate": L * 2 * 4 * 2 * r * d,
        "GEMM attn.qkv": L * gemm(r, d, 3 * d),
        "attention (QKᵀ, softmax, PV)": L * 4 * 4 * r * d,
        "GEMM attn.proj": L * gemm(r, d, d),
        "gated residual": L * 2 * 4 * 3 * r * d,
        "GEMM mlp.fc1": L * gemm(r, d, m),
        "GELU (tanh)": L * 4 * 2 * r * m,
        "GEMM mlp.fc2": L * gemm(r, m, d),
        "GEMM final_layer.linear": gemm(r, d, 2 * 4 * s["p2"]),
    }
    return table.get(op)


def parse_profile(text):
    """(ms per forward, the GEMM backend and precision it names, [(op, ms, share %, GFLOP/s)])."""
    wall = float(HEAD.search(text).group(1))
    engine = ENGINE.search(text)
    ops = []
    for line in text.splitlines():
        m = LINE.match(line)
        if m and not line.startswith("op "):
            ops.append((m.group(1).strip(), float(m.group(2)), float(m.group(3)), m.group(4)))
    return wall, engine.group(1) if engine else "", ops


def forward_profiles(report, cases, repeats):
    report.start("profile.csv")
    rows = []
    for preset, batch, threads in cases:
        clock = ["--cpu-clock"] if threads == 1 else []
        _, out, _ = report.run("profile.csv", [report.dit, "profile", "--preset", preset, "--batch", str(batch),
                                               "--threads", str(threads), "--repeats", str(repeats), *clock],
                               log=f"profile-{preset.replace('/', '')}-b{batch}-t{threads}", timeout=3600,
                               shown=f"dit profile --preset {preset} --batch {batch} --threads {threads} --repeats {repeats} {' '.join(clock)}")
        wall, engine, ops = parse_profile(out)
        s = shape(preset, batch)
        for name, ms, share, gflops in ops:
            b = op_bytes(name, s)
            rows.append([preset, batch, threads, "cpu" if clock else "wall", engine, wall, name, ms, share, gflops,
                         b if b is not None else ""])
    write_csv(report.path("profile.csv"), ["preset", "batch", "threads", "clock", "engine", "forward_ms", "op", "ms",
                                            "share_pct", "gflops", "bytes"], rows)


def dump_io(report, steps):
    """Wall and CPU time (best of 2) of the shipped digits model with and without dumping every point of every step."""
    report.start("dump_io.csv")
    base = ["sample", "experiments/digits-1stage.yaml", "--steps", str(steps), "--threads", "1"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in (("no dump", []), ("dump all points, all steps", ["--dump", f"{tmp}/d/x.h5", "--dump-steps", "all",
                                                                             "--dump-points", "all"])):
            times, cpu = [], []
            for i in range(2):
                _, _, wall = report.run("dump_io.csv", [report.dit, *base, "--output-dir", f"{tmp}/o{i}", *extra],
                                        env={"OPENBLAS_NUM_THREADS": "1"}, log=f"dump-{len(extra)}-{i}",
                                        shown="dit " + " ".join(base + ["--output-dir", "…"] + [e if not e.startswith(tmp) else "…/x.h5" for e in extra]))
                times.append(wall)
                cpu.append(report.last_cpu)
                if extra:
                    for f in os.listdir(f"{tmp}/d"):
                        os.remove(os.path.join(tmp, "d", f))
            rows.append([name, steps, f"{min(times):.3f}", f"{min(cpu):.3f}"])
    write_csv(report.path("dump_io.csv"), ["run", "steps", "wall_s", "cpu_s"], rows)


def measure(report, mode):
    forward_profiles(report, mode["profile_cases"], mode["profile_repeats"])
    dump_io(report, mode["dump_steps"])
