"""Section 4's numbers: `dit plan` on the XL/2 experiments, and, from the
architecture it prints, the bytes each parallel strategy sends per denoising
step and the weights each rank holds. Formulas only; the measured rates they
are weighed against come from sections 1 and 2."""
import re

from common import write_csv

PLAN_MODEL = re.compile(r"model: depth (\d+), hidden (\d+), (\d+) tokens; (\d+) steps, (\d+) images, "
                        r"micro-batches of (\d+) \((\d+) rows\)")
PLAN_BUBBLE = re.compile(r"predicted bubble \(S−1\)/\(T·M\+S−1\) = ([\d.]+) %")
PLAN_PARTITION = re.compile(r"partition: (.*)")
EXPERIMENT = "experiments/dit-xl2-2stages.yaml"


def plan(report, stages):
    _, out, _ = report.run("design", [report.dit, "plan", EXPERIMENT, "--stages", str(stages)],
                           log=f"plan-xl2-s{stages}", shown=f"dit plan {EXPERIMENT} --stages {stages}")
    depth, hidden, tokens, steps, images, mb, rows = map(int, PLAN_MODEL.search(out).groups())
    return dict(depth=depth, d=hidden, t=tokens, steps=steps, images=images, mb=mb, rows=rows,
                micro=images // mb, bubble=float(PLAN_BUBBLE.search(out).group(1)),
                partition=PLAN_PARTITION.search(out).group(1), text=out)


def parameters(a, channels=4, patch=2, classes=1000):
    """Float32 parameters: per block, embedders (stage 0) and final layer (last stage), upstream's layout."""
    d, t = a["d"], a["t"]
    block = (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d) + (d * 6 * d + 6 * d)
    embed = channels * patch * patch * d + d + (256 * d + d + d * d + d) + (classes + 1) * d + t * d
    final = (d * 2 * d + 2 * d) + d * patch * patch * 2 * channels + patch * patch * 2 * channels
    return block, embed, final


def messages(a, channels=4, out_channels=8, hw=32 * 32):
    """Bytes per denoising step (all micro-batches), summed over ranks, per strategy and degree."""
    rows, t, d, depth, micro, images = a["rows"], a["t"], a["d"], a["depth"], a["micro"], a["mb"]
    act = 4 * (rows * t * d + rows * d)                      # tokens + c, one hop (MessageKind.activations)
    model_out = 4 * images * out_channels * hw               # guided output back to stage 0 (MessageKind.modelOutput)
    out = []
    for p in (2, 4, 8):
        out.append(("PP (pipeline)", p, micro * ((p - 1) * act + model_out),
                    f"{p - 1} activation hop(s) of rows·T·D + rows·D floats and one model output per micro-batch"))
    for p in (2, 4, 8):
        out.append(("DP (replicas)", p, 0, "none per step; the final latents are gathered once"))
    out.append(("CFG-parallel", 2, micro * 4 * (images * out_channels * hw + images * channels * hw),
                "null-class model output to the sampler's group, x_t back, per micro-batch"))
    for p in (2, 4, 8):
        per_block = 4 * 4 * rows * t * d * (p - 1) / p     # q, k, v in and the output back, all-to-all
        out.append(("SP (Ulysses)", p, micro * depth * per_block, "2 all-to-alls per block: q,k,v token→head split, output back"))
    for p in (2, 4, 8):
        per_block = 2 * 2 * (p - 1) * 4 * rows * t * d     # 2 ring all-reduces of rows·T·D per block, p ranks
        out.append(("TP (Megatron)", p, micro * depth * per_block, "2 all-reduces of rows·T·D per block (attention and MLP outputs)"))
    return out


def memory(a):
    block, embed, final = parameters(a)
    rows = []
    for s in (1, 2, 4, 7, 14, 28):
        if a["depth"] % s:
            continue
        per = a["depth"] // s
        worst = 4 * (per * block + max(embed, final if s > 1 else embed + final))
        rows.append(("PP", s, worst))
    full = 4 * (a["depth"] * block + embed + final)
    for p in (2, 4, 8):
        rows.append(("DP / CFG / SP (full stage weights)", p, full))
        rows.append(("TP (1/P of the block weights)", p, 4 * (a["depth"] * block // p + embed + final)))
    return rows, full


def measure(report, mode):
    report.start("design")
    plans = {s: plan(report, s) for s in (2, 4)}
    a = plans[2]
    write_csv(report.path("messages.csv"), ["strategy", "degree", "bytes_per_step", "what"],
              [(n, p, int(b), w) for n, p, b, w in messages(a)])
    mem, full = memory(a)
    write_csv(report.path("memory.csv"), ["layout", "ranks", "weight_bytes_per_rank"], mem)
    block, embed, final = parameters(a)
    report.write_json("plan.json", {"experiment": EXPERIMENT, "model": {k: v for k, v in a.items() if k != "text"},
                                    "plans": {s: {"bubble_pct": p["bubble"], "partition": p["partition"],
                                                  "grid": p["text"].splitlines()[4:8]} for s, p in plans.items()},
                                    "params": {"block": block, "embed": embed, "final": final,
                                               "total": a["depth"] * block + embed + final}})
    report.commands["messages.csv"] = [f"bench/report/design.py: formulas over `dit plan {EXPERIMENT}` "
                                       "(depth, hidden, tokens, micro-batches)"]
    report.commands["memory.csv"] = list(report.commands["messages.csv"])
