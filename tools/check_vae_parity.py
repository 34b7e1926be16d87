#!/usr/bin/env python3
"""Decoder parity of the Swift VAE against diffusers' AutoencoderKL on the full SD-VAE
architecture with random weights (local check, not CI; ~1 GB RAM, a minute on 2 cores).

    python3 tools/check_vae_parity.py [--dit .build/release/dit] [--latent-size 32] [--batch 1]
                                      [--seed 0] [--workdir DIR] [--decoder-only]

Writes DIR/vae.safetensors (the whole AutoencoderKL state_dict, diffusers names, float32;
with --decoder-only just decoder.* and post_quant_conv.*) and DIR/latents.safetensors
(z: (N, 4, s, s), standing for sampled latents already divided by 0.18215), decodes z with
diffusers (CPU, float32) and with

    DIT vae-decode --vae DIR/vae.safetensors --input DIR/latents.safetensors --output DIR/out.h5

which must write /out (N, 3, 8s, 8s) float32.  Passes when max|swift - ref| <= 1e-4 * max|ref|
(exit 0; 1 on a mismatch).  Reports both decode times and, when /usr/bin/time exists, the
Swift process's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_vae_fixtures import build_vae, randomize  # noqa: E402

SD_VAE = dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2, norm_num_groups=32, latent_channels=4)
TOLERANCE = 1e-4


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dit", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "dit"))
    ap.add_argument("--latent-size", type=int, default=32, help="latent h = w (32 for 256 px images)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for the reference")
    ap.add_argument("--workdir", help="keep the files here (default: a temporary folder, removed)")
    ap.add_argument("--decoder-only", action="store_true", help="write only decoder.* and post_quant_conv.*")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    vae = build_vae(**SD_VAE)
    randomize(vae, args.seed)
    g = torch.Generator().manual_seed(args.seed + 1)
    z = torch.randn((args.batch, SD_VAE["latent_channels"], args.latent_size, args.latent_size), generator=g)

    work = args.workdir or tempfile.mkdtemp(prefix="vae-parity-")
    os.makedirs(work, exist_ok=True)
    try:
        sd = {k: v.contiguous() for k, v in vae.state_dict().items()
              if not args.decoder_only or k.startswith(("decoder.", "post_quant_conv."))}
        paths = {n: os.path.join(work, n) for n in ("vae.safetensors", "latents.safetensors", "out.h5")}
        save_file(sd, paths["vae.safetensors"])
        save_file({"z": z.contiguous()}, paths["latents.safetensors"])

        start = time.perf_counter()
        with torch.no_grad():
            ref = vae.decode(z).sample
        ref_seconds = time.perf_counter() - start

        cmd = [args.dit, "vae-decode", "--vae", paths["vae.safetensors"], "--input", paths["latents.safetensors"],
               "--output", paths["out.h5"]]
        timed = os.path.exists("/usr/bin/time")
        start = time.perf_counter()
        proc = subprocess.run((["/usr/bin/time", "-v"] if timed else []) + cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            print(f"FAIL: {' '.join(cmd)} exited {proc.returncode}\n{proc.stderr}", file=sys.stderr)
            return 1
        with h5py.File(paths["out.h5"], "r") as f:
            out = torch.from_numpy(f["/out"][...])
        if tuple(out.shape) != tuple(ref.shape):
            print(f"FAIL: /out has shape {tuple(out.shape)}, diffusers gives {tuple(ref.shape)}")
            return 1
        err = ((out - ref).abs().max() / ref.abs().max()).item()
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        decode_line = next((l for l in proc.stderr.splitlines() if l.startswith("vae-decode:")), "")
        print(f"SD-VAE decoder, {args.batch} x {args.latent_size}x{args.latent_size} latents -> "
              f"{tuple(out.shape)}, max|ref| {ref.abs().max():.3f}")
        print(f"  diffusers (torch, {args.threads} thread(s)): {ref_seconds:.2f} s")
        print(f"  swift: {decode_line or '(no timing line)'}; process wall {wall:.2f} s"
              + (f", peak RSS {int(rss.group(1)) / 1024:.0f} MiB" if rss else ""))
        ok = err <= TOLERANCE
        print(f"{'PASS' if ok else 'FAIL'}: max|swift - ref| / max|ref| = {err:.3e} (bound {TOLERANCE:.0e})")
        return 0 if ok else 1
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
