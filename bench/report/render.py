"""REPORT.md from the output folder's CSVs, JSON and plots. Every number in
it is read from those files or computed from them here; the prose says what
was measured and how, never how much."""
import statistics

import figures
from common import read_csv, write_atomic


class Doc:
    def __init__(self, report):
        self.report, self.lines, self.pictures, self.shown = report, [], {}, set()

    def add(self, *lines):
        self.lines.extend(lines)

    def section(self, title):
        self.shown = set()
        self.add(f"## {title}", "")

    def commands(self, *artifacts):
        """The commands behind artifacts; ones already listed in this section are referred to."""
        cmds = list(dict.fromkeys(c for a in artifacts for c in self.report.commands.get(a, [])))
        new = [c for c in cmds if c not in self.shown]
        if new:
            self.add("Produced by" + (" the commands above and" if len(new) < len(cmds) else "") + ":", "",
                     "```sh", *new, "```", "")
        elif cmds:
            self.add("Produced by the commands above.", "")
        self.shown.update(cmds)

    def notes(self, *artifacts):
        for a in artifacts:
            for n in self.report.notes.get(a, []):
                self.add(f"> Note: {n}", "")

    def picture(self, name, caption, *artifacts):
        if not self.pictures.get(name):
            self.add(f"*({caption}: no data in this run.)*", "")
            return
        self.add(f"![{caption}]({self.pictures[name]})", "", f"*Figure: {caption}.*", "")
        self.commands(*artifacts)

    def table(self, header, rows):
        self.add("| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|")
        for r in rows:
            self.add("| " + " | ".join(str(c) for c in r) + " |")
        self.add("")


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "—"


def spread(values):
    values = [v for v in values if v]
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.2f}×"
    return f"median {statistics.median(values):.2f}× (range {min(values):.2f}–{max(values):.2f}×, {len(values)} cases)"


def machine_block(d, r):
    rows = read_csv(r.path("machine.csv"))
    peak = read_csv(r.path("peak.csv"))
    mode = r.read_json("mode.json") or {}
    d.section("Machine")
    d.table(["", ""], [(x["key"], x["value"]) for x in rows]
            + [(f"measured FMA peak, {t} thread(s)", f"{g:.1f} GFLOP/s") for t, g in sorted(figures.fma_peak(r).items())]
            + [(f"measured copy bandwidth, {p['threads']} thread(s)", f"{p['copy_gbs']} GB/s") for p in peak]
            + [("report mode", mode.get("mode", "?"))])
    d.commands("machine.csv", "peak.csv")
    d.add("The FMA peak (`dit bench`, section 1's commands) and the copy bandwidth (bench/report/copy_bandwidth.c) "
          "are timed per thread on its own CPU clock, "
          "so other load lowers neither; every other time is wall clock unless its table says `cpu` (the calling "
          "thread's CPU time, used for 1-thread runs so that other jobs on the shared cores do not count). "
          "Load averages above the number of cores mean other jobs shared the machine during wall-clock runs.", "")


def baseline(d, r):
    d.section("1 Baseline")
    d.add("The forward pass alone (embedders, all blocks, final layer) on random weights of each preset's shapes, "
          "256 px (32×32 latents), median of the repeats after a warm-up. dit-pipe runs it as a pipeline stage does "
          "(`dit bench`); PyTorch runs tools/dit_reference.py's upstream DiT (`bench/torch_baseline.py`). "
          "GFLOP/s counts every GEMM, attention's two per head included, for both.", "")
    ours, torch = read_csv(r.path("dit.csv")), read_csv(r.path("torch.csv"))
    peak = figures.fma_peak(r)
    key = lambda x: (x["preset"], x["batch"], x["threads"])
    variants = list(dict.fromkeys([figures.dit_variant(x) for x in ours] + [f"PyTorch {x['variant']}" for x in torch]))
    ms = {(figures.dit_variant(x),) + key(x): float(x["median_ms"]) / int(x["batch"]) for x in ours}
    ms.update({(f"PyTorch {x['variant']}",) + key(x): float(x["median_ms"]) / int(x["batch"]) for x in torch})
    clock = {key(x): x["clock"] for x in ours}
    cases = list(dict.fromkeys(key(x) for x in ours))
    fp32_now = [v for v in variants if v.startswith("dit-pipe current") and not v.endswith("bf16")]
    best = {k: min((ms[(v,) + k], v) for v in fp32_now if (v,) + k in ms) for k in cases
            if any((v,) + k in ms for v in fp32_now)}
    rows = []
    for k in cases:
        row = [k[0], k[1], k[2], clock[k]] + [f"{ms[(v,) + k]:.1f}" if (v,) + k in ms else "—" for v in variants]
        b = best.get(k)
        row.append(f"{100 * _gflops(ours, k, b[1]) / peak[int(k[2])]:.1f} %" if b and int(k[2]) in peak else "—")
        rows.append(row)
    d.add("Milliseconds per image:", "")
    d.table(["preset", "batch", "threads", "clock"] + variants + ["best fp32 now, % FMA peak"], rows)
    claims = []
    for v in variants:
        if v in fp32_now:
            continue
        vals = [ms[(v,) + k] / best[k][0] for k in best if (v,) + k in ms]
        if vals:
            claims.append(f"- {v} over dit-pipe now (best fp32 backend per case): {spread(vals)}.")
    for a, b in (("dit-pipe current openblas", "dit-pipe current onednn"),):
        vals = [ms[(a,) + k] / ms[(b,) + k] for k in cases if (a,) + k in ms and (b,) + k in ms]
        if vals:
            claims.append(f"- {a} over {b}: {spread(vals)}.")
    d.add("Ratios are the other variant's time over ours (above 1: dit-pipe now is faster).", "")
    core = next((x["value"] for x in read_csv(r.path("machine.csv")) if x["key"] == "OpenBLAS core"), "?")
    mm = torch_mm_peaks(r)
    for t, g in sorted(mm.items()):
        sg = {b: max(float(x["peak_gflops"]) for x in ours if x["version"] == "current" and x["gemm"] == b
                     and x["precision"] == "fp32" and int(x["threads"]) == t)
              for b in ("openblas", "onednn") if any(x["gemm"] == b and int(x["threads"]) == t for x in ours)}
        if sg:
            claims.append(f"- GEMM libraries on {t} thread(s), DiT-XL/2 block shapes at M = 2048 (`dit bench`'s sgemm "
                          f"peak, `bench/torch_baseline.py`'s torch.mm): " +
                          ", ".join(f"{b}{' (core ' + core + ')' if b == 'openblas' else ''} {v:.1f} GFLOP/s"
                                    for b, v in sg.items()) + f", torch.mm {g:.1f} GFLOP/s" +
                          "".join(f"; torch.mm / {b} = {ratio(g, v)}" for b, v in sg.items()) + ".")
    pct = [100 * _gflops(ours, k, v) / peak[int(k[2])] for k, (_, v) in best.items() if int(k[2]) in peak]
    if pct:
        claims.append(f"- dit-pipe now (best fp32 backend) reaches {min(pct):.1f}–{max(pct):.1f} % of the measured FMA peak.")
    d.add(*claims, "")
    d.commands("dit.csv", "torch.csv")
    d.notes("first", "torch.csv")
    d.picture("baseline_ms.png", "ms per image, every variant and case", "dit.csv", "torch.csv")
    d.picture("baseline_peak.png", "% of the measured FMA peak", "dit.csv", "torch.csv", "peak.csv")


def profile(d, r):
    d.section("2 Profile")
    d.add("`dit profile` laps a timer after each op of each block (GEMMs by layer, attention, norms, residuals, GELU) "
          "and around the embedders and the final layer. Bytes per op are each operand read or written once "
          "(float32; weights, inputs, outputs), so the GB/s are lower bounds on the traffic.", "")
    rows = read_csv(r.path("profile.csv"))
    cases = list(dict.fromkeys((x["preset"], x["batch"], x["threads"], x["clock"], x["forward_ms"], x["engine"]) for x in rows))
    for c in cases:
        ops = [x for x in rows if (x["preset"], x["batch"], x["threads"], x["clock"], x["forward_ms"], x["engine"]) == c]
        d.add(f"**{c[0]} batch {c[1]}, {c[2]} thread(s), {c[3]} clock ({c[5]}): {float(c[4]):.1f} ms per forward**", "")
        d.table(["op", "ms / forward", "share", "GFLOP/s", "GB/s"],
                [(x["op"], x["ms"], f"{x['share_pct']} %", x["gflops"] or "",
                  f"{float(x['bytes']) / float(x['ms']) / 1e6:.1f}" if x["bytes"] and float(x["ms"]) > 0 else "") for x in ops])
        gemm = sum(float(x["share_pct"]) for x in ops if x["op"].startswith("GEMM"))
        attn = sum(float(x["share_pct"]) for x in ops if x["op"].startswith("attention"))
        d.add(f"GEMMs take {gemm:.1f} % of this forward and attention {attn:.1f} %; the rest "
              f"(norms, residuals, GELU, embedding, untimed) {100 - gemm - attn:.1f} %.", "")
    d.commands("profile.csv")
    d.picture("profile_ops.png", "time per op kind, stacked, per preset", "profile.csv")
    d.picture("profile_roofline.png", "roofline: each op's GFLOP/s or GB/s against the measured limits", "profile.csv", "peak.csv")
    d.add("### Sampling, communication and dump I/O", "")
    d.add("What a forward profile does not see comes from a real sampling run's trace (`dit sample --trace`, "
          "section 5's 2-stage run): compute, the sampler's update, waiting for messages, send/receive, and idle "
          "time; and from the shipped digits model run with and without a dump of every point of every step.", "")
    report_out = _log(r, "report-pp2")
    if report_out:
        d.add("```", *report_out, "```", "")
        d.commands("trace-pp2")
    dump = read_csv(r.path("dump_io.csv"))
    if len(dump) == 2:
        d.table(["run", "steps", "wall s", "CPU s"], [(x["run"], x["steps"], x["wall_s"], x["cpu_s"]) for x in dump])
        d.add(f"Dumping everything costs {ratio(float(dump[1]['wall_s']), float(dump[0]['wall_s']))} the wall time and "
              f"{ratio(float(dump[1]['cpu_s']), float(dump[0]['cpu_s']))} the CPU time of the same run without it.", "")
        d.commands("dump_io.csv")
    d.picture("profile_run.png", "a sampling run's time by kind per rank, and the dump's extra time", "trace-pp2", "dump_io.csv")


def optimizations(d, r):
    d.section("3 Optimizations")
    d.add("Each kept kernel is timed against the implementation it replaced, in one process "
          "(`dit bench --kernels`, DiT-XL/2 batch-8 shapes: one block's GELU, softmax and attention, all 28 blocks' "
          "adaLN). The waterfall scales per-block kernels by 28 to a whole forward: it starts at the replaced "
          "kernels' time and steps down by each change's measured saving.", "")
    kern = read_csv(r.path("kernels.csv"))
    for t in sorted({int(x["threads"]) for x in kern}):
        w = figures.waterfall_steps(r, t)
        if w:
            start, steps, end = w
            d.table(["change", f"saved per XL/2 b8 forward, {t} thread(s), ms", "before → after (kernel)"],
                    [(n, f"{s:.1f}", ratio(float(_kernel(kern, t, a)), float(_kernel(kern, t, b))) + " faster")
                     for (n, s), (_, a, b, _) in zip(steps, figures.KERNEL_CHAIN)])
            d.add(f"On {t} thread(s) these ops took {start / 1e3:.2f} s per XL/2 batch-8 forward with the replaced "
                  f"kernels and {end / 1e3:.2f} s now: {ratio(start, end)} less.", "")
    d.commands("kernels.csv")
    d.picture("opt_waterfall.png", "waterfall of the kept kernel changes", "kernels.csv")
    tt = read_csv(r.path("thread_timeout.csv"))
    if tt:
        settings = list(dict.fromkeys(x["setting"] for x in tt))
        d.add("**OpenBLAS's spinning workers.** `dit` re-executes itself with `OPENBLAS_THREAD_TIMEOUT=4` so "
              "OpenBLAS's idle workers stop spinning over our own threaded kernels; an explicit value is kept, "
              "which lets the old behaviour be measured (S/2 batch 1, 2 threads, rounds alternated):", "")
        med = {s: statistics.median(float(x["median_ms"]) for x in tt if x["setting"] == s) for s in settings}
        d.table(["setting", "median ms per round", "median"],
                [(s, ", ".join(x["median_ms"] for x in tt if x["setting"] == s), f"{med[s]:.1f}") for s in settings])
        if len(settings) == 2:
            d.add(f"With the timeout this forward runs {ratio(med[settings[0]], med[settings[1]])} as fast as with "
                  "OpenBLAS's default (wall clock on 2 threads: the machine block's load average applies).", "")
        d.commands("thread_timeout.csv")
    ours = read_csv(r.path("dit.csv"))
    first = {(x["preset"], x["batch"], x["threads"]): float(x["median_ms"]) for x in ours if x["version"] == "first"}
    for gemm in ("openblas", "onednn"):
        vals = [(k, first[k] / float(x["median_ms"])) for x in ours
                if x["version"] == "current" and x["gemm"] == gemm and x["precision"] == "fp32"
                for k in [(x["preset"], x["batch"], x["threads"])] if k in first]
        if vals:
            d.add(f"**First version (OpenBLAS) to now on {gemm}, whole forward** (section 1's runs, first's time over "
                  "now's): " + "; ".join(f"{k[0]} b{k[1]} t{k[2]} {v:.2f}×" for k, v in vals) + ".", "")
    h = r.read_json("history.json") or {}
    for t in h.get("optimisations", []):
        d.add(f"**Recorded history** (quoted from {h['source']}, section \"{t['heading']}\"; measured on the machine "
              f"that file describes, not this one, with the command it gives:)", "")
        if t["commands"]:
            d.add("> " + " ".join(t["commands"]), "")
        d.table(t["rows"][0], t["rows"][1:])
    if h.get("dropped"):
        d.add(f"**Dropped experiments** (quoted from {h['source']}, with the numbers recorded there):", "")
        for x in h["dropped"]:
            d.add(f"> {x.lstrip('- ')}", ">")
        d.lines.pop()
        d.add("")


def design(d, r):
    d.section("4 Design")
    plan = r.read_json("plan.json") or {}
    m = plan.get("model", {})
    d.add("How each strategy fits DiT, and what it costs in messages and memory, for the DiT-XL/2 experiment "
          f"`{plan.get('experiment', '?')}` as `dit plan` reads it: depth {m.get('depth')}, hidden {m.get('d')}, "
          f"{m.get('t')} tokens, {m.get('steps')} steps, {m.get('images')} images in micro-batches of {m.get('mb')} "
          f"({m.get('rows')} rows with the null-class twins).", "")
    d.add("- **PP (pipeline parallel, built):** consecutive blocks per rank; each micro-batch's tokens pass stage to "
          "stage and its model output returns to stage 0, which owns the sampler. Exact: the same ops in the same "
          "order as one process. It needs micro-batches to fill the ring; the bubble is (S−1)/(T·M+S−1) for S stages, "
          "T steps and M micro-batches, since only the first forward of the first step and the last of the last step "
          "leave stages idle.",
          "- **DP (replicas, built):** whole copies of the pipeline on disjoint images; no message per step.",
          "- **CFG-parallel:** the conditional and the null-class rows of a micro-batch on two rank groups; per step "
          "one model output and one x_t cross; halves one image's latency at most.",
          "- **SP (Ulysses sequence parallel):** tokens split over P ranks; two all-to-alls per block turn the token "
          "split into a head split for attention and back. Cuts one image's latency, but its messages grow with every "
          "block.",
          "- **Why not TP (tensor parallel):** two all-reduces of all rows·T·D activations per block, the largest "
          "traffic of all (table), for weights that already fit in one node's memory.",
          "- **Why not PipeFusion or DistriFusion:** both reuse activations from the previous denoising step for "
          "the patches other ranks own (stale, displaced patches), so their images differ from one process's; this "
          "project's rule is bitwise equality with a single process.", "")
    msgs = read_csv(r.path("messages.csv"))
    peak = {int(p["threads"]): p for p in read_csv(r.path("peak.csv"))}
    xl = [x for x in read_csv(r.path("dit.csv")) if x["version"] == "current" and x["preset"] == "XL/2" and x["threads"] == "1"]
    if msgs:
        bw = float(peak[1]["copy_gbs"]) if 1 in peak else None
        step_s = (m.get("rows", 0) * m.get("micro", 0) * float(xl[0]["median_ms"]) / int(xl[0]["batch"]) / 1e3) if xl else None
        header = ["strategy", "degree", "MiB per step", "what"]
        if bw:
            header.append("ms at the measured copy bandwidth")
        if step_s:
            header.append("% of one step's compute on 1 core")
        rows = []
        for x in msgs:
            b = int(x["bytes_per_step"])
            row = [x["strategy"], x["degree"], f"{b / 2**20:.2f}", x["what"]]
            if bw:
                row.append(f"{b / bw / 1e6:.2f}")
            if step_s:
                row.append(f"{100 * b / bw / 1e9 / step_s:.3f} %" if bw else "")
            rows.append(row)
        d.table(header, rows)
        if step_s:
            d.add(f"One step's compute is {m.get('rows', 0) * m.get('micro', 0)} XL/2 rows through the whole model, "
                  f"{step_s:.1f} s on one core at the measured XL/2 batch-1 rate (section 1). The copy bandwidth is a "
                  "shared-memory bound; across nodes divide by the link's rate instead.", "")
        sp = {int(x["degree"]): int(x["bytes_per_step"]) for x in msgs if x["strategy"].startswith("SP")}
        pp = {int(x["degree"]): int(x["bytes_per_step"]) for x in msgs if x["strategy"].startswith("PP")}
        tp = {int(x["degree"]): int(x["bytes_per_step"]) for x in msgs if x["strategy"].startswith("TP")}
        if 2 in sp and 2 in pp and 2 in tp:
            d.add(f"At degree 2, SP sends {ratio(sp[2], pp[2])} and TP {ratio(tp[2], pp[2])} the bytes of PP per step.", "")
        d.commands("messages.csv", "design")
    d.picture("design_messages.png", "bytes per denoising step against degree, per strategy", "messages.csv")
    for s, p in sorted((plan.get("plans") or {}).items()):
        d.add(f"`dit plan` with {s} stages: {p['partition']}; predicted bubble {p['bubble_pct']} %.", "", "```",
              *p["grid"], "```", "")
    mem = read_csv(r.path("memory.csv"))
    if mem:
        d.table(["layout", "ranks", "MiB of weights on the fullest rank"],
                [(x["layout"], x["ranks"], f"{int(x['weight_bytes_per_rank']) / 2**20:.0f}") for x in mem])
        params = plan.get("params", {})
        d.add(f"Parameters (upstream layout): {params.get('block')} per block, {params.get('embed')} in the embedders "
              f"(stage 0), {params.get('final')} in the final layer (last stage), {params.get('total')} in all.", "")
    scal = read_csv(r.path("scaling.csv"))
    if scal:
        d.add("Measured peak resident memory per rank (DiT-S/2 sampling, `/usr/bin/time`, section 5's runs): " +
              "; ".join(f"{x['layout']}: {int(x['max_rss_kb']) / 1024:.0f} MiB" for x in scal) + ".", "")
    d.picture("design_memory.png", "DiT-XL/2 weights per rank", "memory.csv")
    d.picture("design_schedule.png", "rank × time schedule from real traces", "trace-pp2", "trace-sim4")


def results(d, r):
    d.section("5 Results (scaling)")
    scal = read_csv(r.path("scaling.csv"))
    if scal:
        one = float(scal[0]["images_per_s"])
        d.add("DiT-S/2 (random weights), CFG scale 4, micro-batches of 2 images (4 rows), 1 thread per rank unless "
              "named; images/s as `dit sample` reports it (the sampling loop, not process start-up).", "")
        d.table(["layout", "ranks", "threads", "images", "s", "images/s", "vs 1 rank × 1 thread", "samples bitwise equal to 1 rank"],
                [(x["layout"], x["ranks"], x["threads"], x["images"], x["seconds"], x["images_per_s"],
                  ratio(float(x["images_per_s"]), one), x["samples_bitwise_equal_to_1_rank"]) for x in scal])
        rate = {x["kind"]: float(x["images_per_s"]) for x in scal}
        parts = [f"{label} {ratio(rate[k], one)}" for k, label in (("PP", "2 pipeline stages give"), ("DP", "2 replicas"),
                                                                    ("threads", "2 threads on 1 rank")) if k in rate]
        d.add("Against 1 rank × 1 thread: " + ", ".join(parts) + " the images/s.", "")
        d.commands("scaling.csv")
    d.notes("scaling.csv")
    d.picture("results_scaling.png", "images/s against ranks for PP and DP", "scaling.csv")
    d.add("No CSV from a larger machine (4–16 real cores) is in the repository yet; this machine has "
          f"{next((x['value'] for x in read_csv(r.path('machine.csv')) if x['key'].startswith('cores')), '?')} cores.", "")
    lat = read_csv(r.path("latency.csv"))
    d.add("**Latency of one image against ranks (CFG-parallel, SP):**", "")
    if lat:
        base = float(lat[0]["seconds_one_image"])
        d.table(["layout", "ranks", "s for one image", "vs 1 rank", "samples bitwise equal to 1 rank"],
                [(x["layout"], x["ranks"], x["seconds_one_image"], ratio(base, float(x["seconds_one_image"])),
                  x["samples_bitwise_equal_to_1_rank"]) for x in lat])
        d.commands("latency.csv")
    d.notes("latency.csv")
    d.picture("results_latency.png", "one image's latency against ranks", "latency.csv")
    bub = read_csv(r.path("bubble.csv"))
    d.add("**Bubble against S** (`--simulate`: each block's compute replaced by a sleep, S ranks on the 2 cores, "
          "M = 2S micro-batches of one image; DiT-L/8 where S divides 24, else DiT-XL/8; measured by `dit report` "
          "from stage 0's first forward to the last update):", "")
    if bub:
        d.table(["S", "M", "steps", "model", "s per block", "measured %", "predicted %", "measured / predicted"],
                [(x["stages"], x["microbatches"], x["steps"], x["model"], x["block_seconds"], x["measured_bubble_pct"],
                  x["predicted_bubble_pct"], ratio(float(x["measured_bubble_pct"]), float(x["predicted_bubble_pct"])))
                 for x in bub])
        rs = [float(x["measured_bubble_pct"]) / float(x["predicted_bubble_pct"]) for x in bub if float(x["predicted_bubble_pct"])]
        d.add(f"Measured over predicted bubble: {spread(rs)}.", "")
        d.commands("bubble.csv")
    d.notes("bubble.csv")
    d.picture("results_bubble.png", "bubble against S, measured and predicted", "bubble.csv")
    d.add("**Quality against steps (samplers):**", "")
    d.notes("quality")
    if r.commands.get("quality"):
        q = read_csv(r.path("quality.csv"))
        if q:
            d.table(list(q[0].keys()), [list(x.values()) for x in q])
    d.picture("results_quality.png", "quality against steps per sampler", "quality")


def _gflops(ours, k, variant):
    return next(float(x["gflops"]) for x in ours if figures.dit_variant(x) == variant
                and (x["preset"], x["batch"], x["threads"]) == k)


def torch_mm_peaks(r):
    """torch.mm GFLOP/s per thread count, as bench/torch_baseline.py printed it (best over its runs)."""
    import glob
    import re
    best = {}
    for path in glob.glob(r.path("logs/torch-eager fp32-*.txt")):
        with open(path) as f:
            for t, g in re.findall(r"torch\.mm \(MKL\) on the same shapes, (\d+) threads?: ([\d.]+)", f.read()):
                best[int(t)] = max(best.get(int(t), 0.0), float(g))
    return best


def _kernel(rows, threads, name):
    return next(x["ms"] for x in rows if int(x["threads"]) == threads and x["kernel"] == name)


def _log(r, name):
    try:
        with open(r.path(f"logs/{name}.txt")) as f:
            return f.read().splitlines()[2:]
    except FileNotFoundError:
        return None


def write(report):
    d = Doc(report)
    d.pictures = {f.__name__: None for f in figures.ALL}
    names = {}
    for f in figures.ALL:
        name = f(report)
        if name:
            names[name] = name
    d.pictures = names
    timings = report.read_json("timings.json") or {}
    d.add("# dit-pipe: performance report", "",
          "Generated by `make report` (bench/report/report.py) from the measurements in this folder: the CSV files "
          "beside this page, the traces, and `logs/` (each command's full output). No number on this page is typed "
          "by hand; each table and plot names the command that produced it. Regenerate with `make report` "
          "(`REPORT=full` adds XL/2 batch 8 and longer runs; `REPORT=smoke` is a quick check).", "")
    if timings:
        order = ["machine", "dit", "torch", "profile", "optimizations", "design", "results"]
        d.add("Measurement time per section: " + ", ".join(f"{k} {timings[k]:.0f} s" for k in order if k in timings)
              + f"; {sum(timings.values()) / 60:.1f} min in all.", "")
    for step in ("machine", "dit", "torch", "profile", "optimizations", "design", "results"):
        d.notes(f"step {step}")
    machine_block(d, report)
    baseline(d, report)
    profile(d, report)
    optimizations(d, report)
    design(d, report)
    results(d, report)
    write_atomic(report.path("REPORT.md"), "\n".join(d.lines).rstrip() + "\n")
