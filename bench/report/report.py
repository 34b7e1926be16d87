#!/usr/bin/env python3
"""Regenerates docs/report: runs the benchmarks, writes their CSVs, draws the
plots and writes REPORT.md from those files only (no number is typed in).

    python3 bench/report/report.py --mode smoke|default|full [--out docs/report] [--dit .build/release/dit]
    python3 bench/report/report.py --render-only        # redraw plots and REPORT.md from the CSVs

`make report` (REPORT=smoke|default|full) builds dit and installs the pinned
Python packages first (bench/report/setup.sh)."""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import ROOT, Report  # noqa: E402

ALL, B1_8 = ["S/2", "B/2", "XL/2"], [1, 8]

MODES = {
    # A couple of minutes: every step runs, on the smallest shapes.
    "smoke": dict(threads=[1, 2], repeats=1, build_first=False,
                  bench_cases=[(["S/2"], [1], [1, 2])], first_cases=[(["S/2"], [1], [1, 2])], dit_bf16_cases=[(["S/2"], [1], [1])], bf16_cases=[(["S/2"], [1], [1])], compile_cases=[],
                  profile_cases=[("S/2", 1, 1)], profile_repeats=1, dump_steps=10,
                  kernel_repeats=1, timeout_repeats=3, timeout_rounds=1,
                  pipeline_steps=2, pipeline_images=4, sim_stages=[2, 4], sim_steps=2, sim_block=0.01),
    # Under 20 minutes on 2 quiet cores: XL/2 at batch 1 only, the first version on 1 thread.
    "default": dict(threads=[1, 2], repeats=3, build_first=True,
                    bench_cases=[(["S/2", "B/2"], B1_8, [1, 2]), (["XL/2"], [1], [1, 2])],
                    first_cases=[(["S/2", "B/2"], B1_8, [1]), (["XL/2"], [1], [1])],
                    dit_bf16_cases=[(["S/2"], B1_8, [1, 2])],
                    bf16_cases=[(["S/2", "B/2"], B1_8, [1, 2]), (["XL/2"], [1], [1, 2])],
                    compile_cases=[(["S/2"], [1], [1, 2])],
                    profile_cases=[("S/2", 1, 1), ("B/2", 1, 1), ("XL/2", 1, 1), ("S/2", 8, 2)], profile_repeats=2,
                    dump_steps=50, kernel_repeats=3, timeout_repeats=7, timeout_rounds=2,
                    pipeline_steps=10, pipeline_images=8, sim_stages=[2, 4, 8, 28], sim_steps=5, sim_block=0.05),
    # Adds XL/2 batch 8 and longer runs.
    "full": dict(threads=[1, 2], repeats=5, build_first=True,
                 bench_cases=[(ALL, B1_8, [1, 2])], first_cases=[(ALL, B1_8, [1, 2])], dit_bf16_cases=[(ALL, B1_8, [1, 2])], bf16_cases=[(ALL, B1_8, [1, 2])],
                 compile_cases=[(["S/2", "B/2"], B1_8, [1, 2])],
                 profile_cases=[("S/2", 1, 1), ("B/2", 1, 1), ("XL/2", 1, 1), ("XL/2", 8, 1), ("S/2", 8, 2)],
                 profile_repeats=3, dump_steps=250, kernel_repeats=5, timeout_repeats=9, timeout_rounds=3,
                 pipeline_steps=20, pipeline_images=8, sim_stages=[2, 4, 8, 16, 28], sim_steps=10, sim_block=0.05),
}

STEPS = ["machine", "dit", "torch", "profile", "optimizations", "design", "results"]


def measure(report, mode, steps):
    import baseline
    import design
    import machine
    import optimizations
    import profiling
    import results
    timings = report.read_json("timings.json") or {}
    failed = []
    with tempfile.TemporaryDirectory(prefix="dit-report-") as tmp:
        for step in steps:
            start = time.monotonic()
            print(f"report: {step} …", file=sys.stderr, flush=True)
            report.notes.pop(f"step {step}", None)
            try:
                {"machine": lambda: machine.measure(report),
                 "dit": lambda: baseline.measure_dit(report, mode),
                 "torch": lambda: baseline.measure_torch(report, mode),
                 "profile": lambda: profiling.measure(report, mode),
                 "optimizations": lambda: optimizations.measure(report, mode),
                 "design": lambda: design.measure(report, mode),
                 "results": lambda: results.measure(report, mode, tmp)}[step]()
            except (RuntimeError, OSError, ValueError, KeyError, AttributeError) as e:
                # One failed step must not lose the others: say so in the report and fail at the end.
                print(f"report: step {step} failed: {e}", file=sys.stderr)
                report.note(f"step {step}", f"this step failed in the last run: {str(e).splitlines()[0][:300]}")
                failed.append(step)
            timings[step] = round(time.monotonic() - start, 1)
            report.save()
            report.write_json("timings.json", timings)
    machine.add_end_load(report)
    report.save()
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=sorted(MODES), default="default")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "report"))
    ap.add_argument("--dit", default=os.path.join(ROOT, ".build", "release", "dit"))
    ap.add_argument("--steps", default=",".join(STEPS), help=f"measurement steps to run (of {','.join(STEPS)})")
    ap.add_argument("--render-only", action="store_true", help="only redraw the plots and REPORT.md from the CSVs")
    args = ap.parse_args()
    dit = os.path.abspath(args.dit)
    if not args.render_only and not os.access(dit, os.X_OK):
        sys.exit(f"report: no dit binary at {dit}; build it with `make release` or pass --dit PATH")
    report = Report(os.path.abspath(args.out), args.mode, dit)
    if not args.render_only:
        steps = [s.strip() for s in args.steps.split(",")]
        unknown = [s for s in steps if s not in STEPS]
        if unknown:
            sys.exit(f"report: unknown step(s) {', '.join(unknown)}; use some of {','.join(STEPS)}")
        report.write_json("mode.json", {"mode": args.mode, "settings": MODES[args.mode]})
        failed = measure(report, MODES[args.mode], steps)
    import render
    render.write(report)
    print(f"report: wrote {os.path.join(report.out, 'REPORT.md')}", file=sys.stderr)
    if not args.render_only and failed:
        sys.exit(f"report: step(s) {', '.join(failed)} failed; REPORT.md says so where their data would be")


if __name__ == "__main__":
    main()
