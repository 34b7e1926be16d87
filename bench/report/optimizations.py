"""Section 3's measurements: each kept kernel against the one it replaced
(`dit bench --kernels`, one process), OpenBLAS's worker spin on and off, and
the recorded history (docs/performance.md's tables and its dropped
experiments, quoted with the commands written there)."""
import csv
import os
import re

from common import ROOT, write_csv

KERNEL_LINE = re.compile(r"^(\S.*?)\s+(\d+)\s+([\d.]+)\s*$")
PERFORMANCE_MD = os.path.join(ROOT, "docs", "performance.md")


def kernels(report, threads, repeats):
    report.start("kernels.csv")
    rows = []
    for t in threads:
        clock = ["--cpu-clock"] if t == 1 else []
        _, out, _ = report.run("kernels.csv", [report.dit, "bench", "--kernels", "--threads", str(t), "--repeats",
                                               str(repeats), *clock], log=f"kernels-t{t}", timeout=3600,
                               shown=f"dit bench --kernels --threads {t} --repeats {repeats} {' '.join(clock)}")
        for line in out.splitlines():
            m = KERNEL_LINE.match(line)
            if m and not line.startswith("kernel "):
                rows.append([t, "cpu" if clock else "wall", m.group(1).strip(), m.group(3)])
    write_csv(report.path("kernels.csv"), ["threads", "clock", "kernel", "ms"], rows)


def thread_timeout(report, repeats, rounds):
    """S/2 batch 1 on 2 threads, OpenBLAS backend, with its default worker spin (2^28 cycles) and dit's 2^4, alternated."""
    report.start("thread_timeout.csv")
    rows = []
    for i in range(rounds):
        for label, env in (("OpenBLAS default spin (OPENBLAS_THREAD_TIMEOUT=28)", {"OPENBLAS_THREAD_TIMEOUT": "28"}),
                           ("dit's setting (OPENBLAS_THREAD_TIMEOUT=4)", {"OPENBLAS_THREAD_TIMEOUT": "4"})):
            tmp = report.path("logs/tt.tmp.csv")
            report.run("thread_timeout.csv", [report.dit, "bench", "--presets", "S/2", "--batches", "1", "--threads", "2",
                                              "--gemm", "openblas", "--repeats", str(repeats), "--csv", tmp], env=env,
                       log=f"thread-timeout-{env['OPENBLAS_THREAD_TIMEOUT']}-{i}",
                       shown=f"dit bench --presets S/2 --batches 1 --threads 2 --gemm openblas --repeats {repeats}")
            with open(tmp) as f:
                ms = next(csv.DictReader(f))["median_ms"]
            os.remove(tmp)
            rows.append([i, label, ms])
    write_csv(report.path("thread_timeout.csv"), ["round", "setting", "median_ms"], rows)


def markdown_tables(text):
    """(heading, the paragraph before it, table rows) for each table in a markdown text."""
    out, heading, para, prev, rows = [], "", [], [], []
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                rows.append(cells)
            continue
        if rows:
            out.append((heading, prev, rows))
            rows = []
        if line.strip():
            para.append(line)
        elif para:
            prev, para = para, []
    return out


def history(report):
    """The optimisation table and the dropped experiments, quoted from docs/performance.md with their commands."""
    report.start("history")
    with open(PERFORMANCE_MD) as f:
        text = f.read()
    tables = [t for t in markdown_tables(text) if t[0] == "What each optimisation bought"]
    dropped = [p.strip() for p in re.split(r"\n(?=- )", text) if re.search(r"[Tt]ried and dropped", p)]
    report.write_json("history.json", {
        "source": "docs/performance.md",
        "optimisations": [{"heading": h, "commands": c, "rows": r} for h, c, r in tables],
        "dropped": [re.sub(r"\s+", " ", d.split("\n\n")[0]) for d in dropped],
    })
    report.commands["history"] = ["(quoted from docs/performance.md, section \"What each optimisation bought\")"]


def measure(report, mode):
    kernels(report, mode["threads"], mode["kernel_repeats"])
    thread_timeout(report, mode["timeout_repeats"], mode["timeout_rounds"])
    history(report)
