"""The report's plots, each drawn from the CSVs (and traces) in the output
folder. Every function returns the PNG's file name, or None when its data
is missing."""
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from common import read_csv  # noqa: E402

COLORS = {"compute": "#4a90d9", "sampler": "#7bc96f", "wait": "#e07a5f", "send": "#f2cc8f", "receive": "#b8a1d9",
          "idle": "#dddddd"}


def save(fig, report, name):
    fig.tight_layout()
    fig.savefig(report.path(name), dpi=110)
    plt.close(fig)
    return name


def case_label(r):
    return f"{r['preset']} b{r['batch']} t{r['threads']}"


def baseline_rows(report):
    """(variant, case label, ms per image, GFLOP/s, threads) from dit.csv and torch.csv."""
    rows = []
    for r in read_csv(report.path("dit.csv")):
        rows.append((dit_variant(r), case_label(r), float(r["median_ms"]) / int(r["batch"]),
                     float(r["gflops"]), int(r["threads"])))
    for r in read_csv(report.path("torch.csv")):
        rows.append((f"PyTorch {r['variant']}", case_label(r), float(r["median_ms"]) / int(r["batch"]),
                     float(r["gflops"]), int(r["threads"])))
    return rows


def dit_variant(r):
    return f"dit-pipe {r['version']} {r['gemm']}" + (" bf16" if r["precision"] == "bf16" else "")


def fma_peak(report):
    """The FMA peak per thread count, as `dit bench` measured it (best over its runs)."""
    best = {}
    for r in read_csv(report.path("dit.csv")):
        if r["fma_peak_gflops"]:
            best[int(r["threads"])] = max(best.get(int(r["threads"]), 0.0), float(r["fma_peak_gflops"]))
    return best


def grouped(ax, rows, value, ylabel, log=False):
    cases = list(dict.fromkeys(r[1] for r in rows))
    variants = list(dict.fromkeys(r[0] for r in rows))
    width = 0.8 / max(len(variants), 1)
    for i, v in enumerate(variants):
        xs, ys = [], []
        for r in rows:
            if r[0] == v:
                xs.append(cases.index(r[1]) + (i - (len(variants) - 1) / 2) * width)
                ys.append(value(r))
        ax.bar(xs, ys, width, label=v)
    ax.set_xticks(range(len(cases)), cases, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)


def baseline_ms(report):
    rows = baseline_rows(report)
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(11, 4.5))
    grouped(ax, rows, lambda r: r[2], "ms per image (log)", log=True)
    ax.set_title("Forward latency per image, random weights (lower is better)")
    return save(fig, report, "baseline_ms.png")


def baseline_peak(report):
    rows, peak = baseline_rows(report), fma_peak(report)
    if not rows or not peak:
        return None
    fig, ax = plt.subplots(figsize=(11, 4.5))
    grouped(ax, rows, lambda r: 100 * r[3] / (peak[r[4]]), "% of measured FMA peak")
    ax.set_title("GFLOP/s as % of the FMA peak at the same thread count (dit bench)")
    return save(fig, report, "baseline_peak.png")


def profile_ops(report):
    rows = read_csv(report.path("profile.csv"))
    if not rows:
        return None
    cases = list(dict.fromkeys((r["preset"], r["batch"], r["threads"]) for r in rows))
    ops = list(dict.fromkeys(r["op"] for r in rows))
    cmap = plt.get_cmap("tab20")
    fig, ax = plt.subplots(figsize=(10, 5))
    bottoms = [0.0] * len(cases)
    for j, op in enumerate(ops):
        vals = []
        for c in cases:
            v = [float(r["share_pct"]) for r in rows if (r["preset"], r["batch"], r["threads"]) == c and r["op"] == op]
            vals.append(max(v[0], 0) if v else 0)
        ax.bar(range(len(cases)), vals, 0.6, bottom=bottoms, label=op, color=cmap(j % 20))
        bottoms = [b + v for b, v in zip(bottoms, vals)]
    labels = []
    for c in cases:
        ms = [float(r["forward_ms"]) for r in rows if (r["preset"], r["batch"], r["threads"]) == c][0]
        labels.append(f"{c[0]} b{c[1]} t{c[2]}\n{ms:.0f} ms")
    ax.set_xticks(range(len(cases)), labels, fontsize=8)
    ax.set_ylabel("% of the forward pass")
    ax.set_title("Time per op kind (dit profile)")
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    return save(fig, report, "profile_ops.png")


def roofline(report):
    rows, peak, fma = read_csv(report.path("profile.csv")), read_csv(report.path("peak.csv")), fma_peak(report)
    if not rows or not peak or not fma:
        return None
    limits = {int(p["threads"]): (fma[int(p["threads"])], float(p["copy_gbs"])) for p in peak if int(p["threads"]) in fma}
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    threads = sorted({int(r["threads"]) for r in rows})
    for t in threads:
        fma, bw = limits[t]
        xs = [0.05 * 1.2 ** i for i in range(60)]
        ax.plot(xs, [min(fma, bw * x) for x in xs], "--", label=f"roof, {t} thread(s): {fma:.0f} GFLOP/s, {bw:.0f} GB/s")
    markers = "osD^v<>p*h"
    for i, c in enumerate(dict.fromkeys((r["preset"], r["batch"], r["threads"]) for r in rows)):
        pts = [r for r in rows if (r["preset"], r["batch"], r["threads"]) == c and r["gflops"] and r["bytes"]]
        for r in pts:
            ms = float(r["ms"])
            flops = float(r["gflops"]) * ms * 1e6
            ax.scatter(flops / float(r["bytes"]), float(r["gflops"]), marker=markers[i % len(markers)], s=30,
                       label=f"{c[0]} b{c[1]} t{c[2]}" if r is pts[0] else None)
            if c == next(iter(dict.fromkeys((q["preset"], q["batch"], q["threads"]) for q in rows))):
                ax.annotate(r["op"].replace("GEMM ", ""), (flops / float(r["bytes"]), float(r["gflops"])), fontsize=6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity, FLOP per byte moved (float32, each operand once)")
    ax.set_ylabel("achieved GFLOP/s")
    ax.set_title("GEMMs and attention against the FMA and copy roofs")
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3, which="both")
    memory_ops = [r for r in rows if not r["gflops"] and r["bytes"] and float(r["ms"]) > 0]
    cases = list(dict.fromkeys((r["preset"], r["batch"], r["threads"]) for r in memory_ops))
    names = list(dict.fromkeys(r["op"] for r in memory_ops))
    width = 0.8 / max(len(cases), 1)
    for i, c in enumerate(cases):
        xs, ys = [], []
        for r in memory_ops:
            if (r["preset"], r["batch"], r["threads"]) == c:
                xs.append(names.index(r["op"]) + (i - (len(cases) - 1) / 2) * width)
                ys.append(float(r["bytes"]) / float(r["ms"]) / 1e6)
        bx.bar(xs, ys, width, label=f"{c[0]} b{c[1]} t{c[2]}")
    for t in threads:
        bx.axhline(limits[t][1], ls="--", lw=1, color="gray")
        bx.annotate(f"copy, {t} thread(s)", (len(names) - 0.5, limits[t][1]), fontsize=7, ha="right", va="bottom")
    bx.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
    bx.set_ylabel("achieved GB/s (bytes moved / time)")
    bx.set_title("Elementwise ops against memory bandwidth")
    bx.legend(fontsize=6)
    return save(fig, report, "profile_roofline.png")


def load_trace(path):
    with open(path) as f:
        events = json.load(f)["traceEvents"]
    return [(e["name"], e.get("cat", ""), e["ts"] / 1e6, e["dur"] / 1e6) for e in events if e.get("ph") == "X"]


def traces(report, prefix):
    paths, i = [], 0
    while os.path.exists(report.path(f"{prefix}.rank{i}.json")):
        paths.append(report.path(f"{prefix}.rank{i}.json"))
        i += 1
    return [load_trace(p) for p in paths]


def run_breakdown(report):
    """Per rank of the 2-stage trace: compute, sampler, wait, send/receive, idle; and the dump's extra time."""
    ranks, dump = traces(report, "trace-pp2"), read_csv(report.path("dump_io.csv"))
    if not ranks:
        return None
    work = [s for r in ranks for s in r if s[1] in ("compute", "sampler")]
    start, end = min(s[2] for s in work), max(s[2] + s[3] for s in work)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
    for i, spans in enumerate(ranks):
        bottom = 0.0
        for cat in ("compute", "sampler", "wait", "send", "receive"):
            v = sum(max(0, min(s[2] + s[3], end) - max(s[2], start)) for s in spans if s[1] == cat)
            ax.bar(i, 100 * v / (end - start), 0.5, bottom=bottom, color=COLORS[cat], label=cat if i == 0 else None)
            bottom += 100 * v / (end - start)
        ax.bar(i, max(0, 100 - bottom), 0.5, bottom=bottom, color=COLORS["idle"], label="idle (bubble)" if i == 0 else None)
    ax.set_xticks(range(len(ranks)), [f"rank {i}" for i in range(len(ranks))])
    ax.set_ylabel("% of the run's wall time")
    ax.set_title("DiT-S/2 sampling on 2 stages (trace)")
    ax.legend(fontsize=7)
    if dump:
        for j, key in enumerate(("wall_s", "cpu_s")):
            base = float(dump[0][key])
            extra = float(dump[1][key]) - base if len(dump) > 1 else 0
            bx.bar(j, base, 0.5, color=COLORS["compute"], label="sampling" if j == 0 else None)
            bx.bar(j, max(extra, 0), 0.5, bottom=base, color=COLORS["wait"], label="dump I/O (extra)" if j == 0 else None)
        bx.set_xticks([0, 1], ["wall", "CPU (user + sys)"])
        bx.set_ylabel("seconds")
        bx.set_title(f"digits model, {dump[0]['steps']} steps: dump every point")
        bx.legend(fontsize=7)
    return save(fig, report, "profile_run.png")


KERNEL_CHAIN = [  # (change, kernel before, kernel after, per-block kernel → ×28)
    ("GELU: scalar tanhf → 16-lane exp", "GELU, scalar tanhf loop (before)", "GELU, 16-lane exp, rows split over threads", 28),
    ("softmax: scalar expf → 16-lane exp", "softmax 128×(256×256), scalar expf (before)", "softmax 128×(256×256), 16-lane exp", 28),
    ("attention: heads split over threads", "attention, heads in turn, OpenBLAS threads inside", "attention, heads split over threads, OpenBLAS", 28),
    ("attention: fused TileGemm", "attention, heads split over threads, OpenBLAS", "attention, heads split over threads, fused TileGemm", 28),
    ("adaLN ×28: OpenBLAS → few-rows stream", "adaLN ×28, 8 rows, OpenBLAS sgemm (before)", "adaLN ×28, 8 rows, few-rows stream (Gemm.linear)", 1),
]


def waterfall_steps(report, threads):
    """(start ms, [(change, saved ms)], end ms) per XL/2 batch-8 forward for the kernels dit bench --kernels times."""
    ms = {r["kernel"]: float(r["ms"]) for r in read_csv(report.path("kernels.csv")) if int(r["threads"]) == threads}
    if not ms or any(k not in ms for _, a, b, _ in KERNEL_CHAIN for k in (a, b)):
        return None
    steps = [(name, times * (ms[a] - ms[b])) for name, a, b, times in KERNEL_CHAIN]
    start = 28 * ms[KERNEL_CHAIN[0][1]] + 28 * (ms[KERNEL_CHAIN[2][1]] + ms[KERNEL_CHAIN[1][1]] - ms[KERNEL_CHAIN[1][2]]) \
        + ms[KERNEL_CHAIN[4][1]]
    end = 28 * ms[KERNEL_CHAIN[0][2]] + 28 * ms[KERNEL_CHAIN[3][2]] + ms[KERNEL_CHAIN[4][2]]
    return start, steps, end


def waterfall(report):
    threads = sorted({int(r["threads"]) for r in read_csv(report.path("kernels.csv"))})
    data = [(t, waterfall_steps(report, t)) for t in threads]
    data = [(t, d) for t, d in data if d]
    if not data:
        return None
    fig, axes = plt.subplots(1, len(data), figsize=(6 * len(data), 4.6), squeeze=False)
    for ax, (t, (start, steps, end)) in zip(axes[0], data):
        labels = ["before (first kernels)"] + [s[0] for s in steps] + ["now"]
        level = start
        ax.bar(0, start / 1e3, color="#999999")
        for i, (name, saved) in enumerate(steps, 1):
            ax.bar(i, -saved / 1e3, bottom=level / 1e3, color="#2e9e5b" if saved >= 0 else "#c0392b")
            ax.annotate(f"−{saved / 1e3:.2f} s", (i, (level - saved / 2) / 1e3), ha="center", fontsize=7)
            level -= saved
        ax.bar(len(steps) + 1, end / 1e3, color="#4a90d9")
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=7)
        ax.set_ylabel("seconds per DiT-XL/2 batch-8 forward in these ops")
        ax.set_title(f"Kept kernel changes, {t} thread(s) (dit bench --kernels)", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    return save(fig, report, "opt_waterfall.png")


def schedule(report):
    sets = [(p, traces(report, p)) for p in ("trace-pp2", "trace-sim4")]
    sets = [(p, t) for p, t in sets if t]
    if not sets:
        return None
    fig, axes = plt.subplots(len(sets), 1, figsize=(12, 1.2 + 0.7 * sum(len(t) for _, t in sets)), squeeze=False)
    for ax, (prefix, ranks) in zip(axes[:, 0], sets):
        work = [s for r in ranks for s in r if s[1] in ("compute", "sampler")]
        start = min(s[2] for s in work)
        for i, spans in enumerate(ranks):
            for cat in ("compute", "sampler", "wait", "send", "receive"):
                bars = [(s[2] - start, s[3]) for s in spans if s[1] == cat and s[3] > 0]
                if bars:
                    ax.broken_barh(bars, (i - 0.4, 0.8), color=COLORS[cat], label=cat if i == 0 else None)
        ax.set_yticks(range(len(ranks)), [f"rank {i}" for i in range(len(ranks))])
        ax.invert_yaxis()
        ax.set_xlabel("seconds from stage 0's first forward")
        ax.set_title({"trace-pp2": "DiT-S/2, 2 stages, real compute (dit sample --trace)",
                      "trace-sim4": "4 stages, --simulate (sleep per block), M = 8"}[prefix], fontsize=9)
        ax.legend(fontsize=7, ncol=5, loc="lower right")
    return save(fig, report, "design_schedule.png")


def messages(report):
    rows = [r for r in read_csv(report.path("messages.csv")) if int(r["bytes_per_step"]) > 0]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(9, 4.2))
    names = list(dict.fromkeys(r["strategy"] for r in rows))
    for i, n in enumerate(names):
        pts = [r for r in rows if r["strategy"] == n]
        ax.plot([int(r["degree"]) for r in pts], [int(r["bytes_per_step"]) / 2**20 for r in pts], "o-", label=n)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("degree (ranks)")
    ax.set_ylabel("MiB sent per denoising step, all ranks")
    ax.set_title("DiT-XL/2, 8 images in micro-batches of 2 with CFG: bytes per step (DP sends none)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return save(fig, report, "design_messages.png")


def memory(report):
    rows = read_csv(report.path("memory.csv"))
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(8, 4))
    for name in dict.fromkeys(r["layout"] for r in rows):
        pts = [r for r in rows if r["layout"] == name]
        ax.plot([int(r["ranks"]) for r in pts], [int(r["weight_bytes_per_rank"]) / 2**20 for r in pts], "o-", label=name)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("ranks")
    ax.set_ylabel("MiB of float32 weights on the fullest rank")
    ax.set_title("DiT-XL/2 weights per rank")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, report, "design_memory.png")


def scaling(report):
    rows = read_csv(report.path("scaling.csv"))
    if not rows:
        return None
    one = [float(r["images_per_s"]) for r in rows if r["kind"] == "1"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for kind, label in (("PP", "pipeline stages"), ("DP", "replicas"), ("threads", "threads on 1 rank")):
        pts = [r for r in rows if r["kind"] == kind]
        if pts and one:
            xs = [1] + [int(r["ranks"]) if kind != "threads" else int(r["threads"]) for r in pts]
            ys = one + [float(r["images_per_s"]) for r in pts]
            ax.plot(xs, ys, "o-", label=label)
    if one:
        ax.plot([1, 2], [one[0], 2 * one[0]], ":", color="gray", label="linear")
    ax.set_xticks([1, 2])
    ax.set_xlabel("ranks (or threads), 1 thread per rank")
    ax.set_ylabel("images/s")
    ax.set_title("DiT-S/2 sampling throughput")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, report, "results_scaling.png")


def latency(report):
    rows = read_csv(report.path("latency.csv"))
    if len(rows) < 2:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(range(len(rows)), [float(r["seconds_one_image"]) for r in rows], 0.5)
    ax.set_xticks(range(len(rows)), [r["layout"] for r in rows])
    ax.set_ylabel("seconds for one image")
    ax.set_title("Latency of one DiT-S/2 image against ranks")
    return save(fig, report, "results_latency.png")


def bubble(report):
    rows = read_csv(report.path("bubble.csv"))
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    s = [int(r["stages"]) for r in rows]
    ax.plot(s, [float(r["measured_bubble_pct"]) for r in rows], "o-", label="measured (dit report)")
    ax.plot(s, [float(r["predicted_bubble_pct"]) for r in rows], "s--",
            label=f"predicted (S−1)/(T·M+S−1) (dit report), T={rows[0]['steps']}, M=2S")
    ax.set_xscale("log", base=2)
    ax.set_xticks(s, [str(v) for v in s])
    ax.set_xlabel("stages S")
    ax.set_ylabel("bubble, % of the run")
    ax.set_title(f"Bubble against S (--simulate, {rows[0]['block_seconds']} s per block)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, report, "results_bubble.png")


def quality(report):
    rows = read_csv(report.path("quality.csv"))
    if not rows:
        return None
    keys = rows[0].keys()
    sampler = next((k for k in keys if "sampler" in k.lower()), None)
    steps = next((k for k in keys if k.lower().startswith("steps")), None)
    metrics = [k for k in keys if k not in (sampler, steps) and all(_number(r[k]) for r in rows)]
    if not sampler or not steps or not metrics:
        return None
    fig, axes = plt.subplots(1, len(metrics[:3]), figsize=(5 * len(metrics[:3]), 4), squeeze=False)
    for ax, m in zip(axes[0], metrics[:3]):
        for name in dict.fromkeys(r[sampler] for r in rows):
            pts = sorted(((float(r[steps]), float(r[m])) for r in rows if r[sampler] == name))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=name)
        ax.set_xscale("log")
        ax.set_xlabel("steps")
        ax.set_ylabel(m)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return save(fig, report, "results_quality.png")


def _number(v):
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


ALL = [baseline_ms, baseline_peak, profile_ops, roofline, run_breakdown, waterfall, schedule, messages, memory,
       scaling, latency, bubble, quality]
