#!/usr/bin/env python3
"""PyTorch CPU eager baseline for `dit bench`: the same presets, batches and
thread counts, random weights, median of N timed forwards after warm-up.

The model is tools/dit_reference.py's DiT (upstream state_dict layout and
numerics). Its attention is swapped for F.scaled_dot_product_attention, which
is what upstream's timm `Attention` runs (fused_attn) on current timm; pass
--attention explicit for the matmul/softmax/matmul form instead. --precision
bf16 runs the forward under torch.autocast("cpu", dtype=torch.bfloat16);
--compile times torch.compile(model) after its compilation (the warm-up).

    python3 bench/torch_baseline.py --presets S/2,B/2,XL/2 --batches 1,2,8 --threads 1,2 --csv out/torch.csv
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import dit_reference as ref  # noqa: E402

PRESETS = {"XL": (28, 1152, 16), "L": (24, 1024, 16), "B": (12, 768, 12), "S": (12, 384, 6)}


def sdpa_forward(self, x):
    n, T, d = x.shape
    qkv = self.qkv(x).reshape(n, T, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
    out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
    return self.proj(out.transpose(1, 2).reshape(n, T, d))


def config(name, input_size):
    size, patch = name.replace("DiT-", "").split("/")
    depth, hidden, heads = PRESETS[size]
    return ref.DiTConfig(input_size=input_size, patch_size=int(patch), hidden_size=hidden, depth=depth,
                         num_heads=heads)


CLOCK = time.perf_counter


def median_ms(fn, repeats, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = CLOCK()
        fn()
        times.append((CLOCK() - start) * 1e3)
    return statistics.median(times)


def forward_flops(c, batch):
    """Same count as BenchCommand.forwardFlops: every GEMM, attention's two per head."""
    t, d, m = (c.input_size // c.patch_size) ** 2, c.hidden_size, c.mlp_hidden
    p2, f = c.patch_size ** 2, 256
    embed = 2 * t * c.in_channels * p2 * d + 2 * (f * d + d * d)
    block = 2 * t * d * (4 * d + 2 * m) + 4 * t * t * d + 2 * d * 6 * d
    final = 2 * t * d * p2 * c.out_channels + 2 * d * 2 * d
    return batch * (embed + c.depth * block + final)


def sgemm_peak():
    """torch.mm GFLOP/s on the same DiT-XL/2 block shapes as `dit bench` (M = 2048)."""
    best = 0.0
    for k, n in [(1152, 3456), (1152, 4608), (4608, 1152)]:
        a, b = torch.rand(2048, k), torch.rand(k, n)
        ms = median_ms(lambda: torch.mm(a, b), 5, 1)
        best = max(best, 2 * 2048 * k * n / ms / 1e6)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default="S/2,B/2,XL/2")
    ap.add_argument("--input-size", type=int, default=32)
    ap.add_argument("--batches", default="1,2,8")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--attention", choices=["sdpa", "explicit"], default="sdpa")
    ap.add_argument("--cpu-clock", action="store_true",
                    help="this thread's CPU time instead of the wall clock (robust to load; only with --threads 1)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: bfloat16 autocast (CPU), weights kept in float32")
    ap.add_argument("--compile", action="store_true", help="time torch.compile(model) (compiled during warm-up)")
    ap.add_argument("--csv")
    args = ap.parse_args()
    if args.cpu_clock:
        global CLOCK
        CLOCK = time.thread_time
    if args.attention == "sdpa":
        ref._SelfAttention.forward = sdpa_forward
    threads = [int(v) for v in args.threads.split(",")]
    batches = [int(v) for v in args.batches.split(",")]
    torch.manual_seed(0)
    for n in threads:
        torch.set_num_threads(n)
        print(f"torch.mm (MKL) on the same shapes, {n} thread{'s' if n > 1 else ''}: {sgemm_peak():.1f} GFLOP/s")
    rows = ["preset,batch,threads,median_ms,ms_per_image,gflops"]
    print("preset   batch threads   median ms   ms/image   GFLOP/s")
    with torch.inference_mode():
        for name in args.presets.split(","):
            c = config(name.strip(), args.input_size)
            model = ref.DiT(c).eval()
            for p in model.parameters():
                torch.nn.init.uniform_(p, -0.02, 0.02)
            run = torch.compile(model) if args.compile else model
            for n in threads:
                torch.set_num_threads(n)
                for b in batches:
                    x = torch.randn(b, c.in_channels, c.input_size, c.input_size)
                    t = torch.randint(0, 1000, (b,))
                    y = torch.randint(0, c.num_classes, (b,))
                    def forward():
                        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
                            return run(x, t, y)
                    ms = median_ms(forward, args.repeats, max(args.warmup, 1 if args.compile else 0))
                    gflops = forward_flops(c, b) / ms / 1e6
                    label = name.strip().replace("DiT-", "")
                    print(f"{label:<8} {b:5d} {n:7d} {ms:11.1f} {ms / b:10.1f} {gflops:9.1f}", flush=True)
                    rows.append(f"{label},{b},{n},{ms:.2f},{ms / b:.2f},{gflops:.1f}")
    if args.csv:
        with open(args.csv, "w") as f:
            f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
