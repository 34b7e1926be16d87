#!/usr/bin/env python3
"""Record torch.randn streams for TorchGenerator's bit-exactness tests.

Writes Tests/Fixtures/torch-randn.safetensors. Tensor names are
`{kernel}.seed{S}.{group}.{k}`: for every (kernel, seed, group) the test calls
torch.manual_seed(S) once and then torch.randn(len(tensor)) for k = 0, 1, ...
in order, so each group is one continuous generator stream.

`kernel` is the ATen CPU capability the stream was recorded under: torch's
float normal_fill uses a Cephes-style AVX2 Box-Muller when built for AVX2 and
libm logf/cosf/sinf otherwise (DEFAULT, AVX512, ARM), and the two differ in
the last ulp. Each capability is recorded in a child process because
ATEN_CPU_CAPABILITY is read once at start-up.
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SEEDS = [0, 7, 42, 2**32 + 5]
SIZES = [1, 5, 15, 16, 17, 31, 32, 33, 256, 1000, 4096]
# Mixed small/large calls: the scalar (< 16) path caches a second normal
# sample across calls while normal_fill neither reads nor clears it.
CHAIN = [5, 17, 1, 3, 16, 1000, 7]
# upstream sample.py: z = randn(n, C, H, W), then randn_like(x) per step where
# classifier-free guidance doubles the batch to 2n.
N, C, H, W, STEPS = 3, 4, 8, 8, 5
KERNELS = {"avx2": "AVX2", "default": "DEFAULT"}
OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "torch-randn.safetensors"


def record(kernel: str, path: str) -> None:
    import torch
    from safetensors.torch import save_file

    got = torch.backends.cpu.get_cpu_capability()
    assert got == KERNELS[kernel], f"asked for {kernel}, torch runs {got}"
    tensors = {}

    def group(seed, name, calls):
        torch.manual_seed(seed)
        for k, draw in enumerate(calls):
            tensors[f"{kernel}.seed{seed}.{name}.{k}"] = draw().reshape(-1).contiguous()

    for seed in SEEDS:
        for size in SIZES:
            group(seed, f"single{size}", [lambda s=size: torch.randn(s)])
        group(seed, "chain", [lambda s=s: torch.randn(s) for s in CHAIN])
    for seed in [0, 42]:
        x = torch.empty(2 * N, C, H, W)
        group(seed, "sampler",
              [lambda: torch.randn(N, C, H, W)] + [lambda: torch.randn_like(x)] * STEPS)
    save_file(tensors, path, metadata={"torch": torch.__version__, "capability": got})


def main() -> None:
    from safetensors import safe_open
    from safetensors.torch import save_file

    merged, meta = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for kernel in KERNELS:
            part = os.path.join(tmp, kernel + ".safetensors")
            env = dict(os.environ, ATEN_CPU_CAPABILITY=kernel)
            subprocess.run([sys.executable, __file__, "--record", kernel, part], env=env, check=True)
            with safe_open(part, "pt") as f:
                merged.update({k: f.get_tensor(k) for k in f.keys()})
                meta[kernel] = json.dumps(f.metadata(), sort_keys=True)
    meta["layout"] = "{kernel}.seed{S}.{group}.{k}: manual_seed(S), then randn(numel) per k in order"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_file(merged, str(OUT), metadata=meta)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(merged)} tensors)")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--record":
        record(sys.argv[2], sys.argv[3])
    else:
        main()
