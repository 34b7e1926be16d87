#!/usr/bin/env python3
"""Sample with the PyTorch reference (tools/dit_reference.py), like DiT's sample.py.

    python3 tools/sample_reference.py --checkpoint checkpoints/digits-dit.safetensors \\
        --per-class 10 --sampler ddpm --steps 250 --cfg-scale 4 --output /tmp/samples.h5

Writes /samples (N,C,H,W) float32 and /labels (N,) int64.  Noise is drawn from
torch.Generator(seed): z first, then one (N,C,H,W) tensor per loop step; with
--noise FILE (z, noise) it is read instead, which makes the run comparable with
`dit sample --noise FILE`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dit_reference as R  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--classes", help="comma list of class labels")
    ap.add_argument("--per-class", type=int, help="N per class for classes 0..num_classes-1 (blocked)")
    R.add_sampling_args(ap)
    ap.add_argument("--output", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = R.load_checkpoint(args.checkpoint)
    cfg = model.cfg
    if args.classes:
        labels = [int(c) for c in args.classes.split(",")]
    elif args.per_class:
        labels = [c for c in range(cfg.num_classes) for _ in range(args.per_class)]
    else:
        ap.error("give --classes or --per-class")
    y = torch.tensor(labels, dtype=torch.int64)
    shape = (len(labels), cfg.in_channels, cfg.input_size, cfg.input_size)
    z, noise = R.injected_noise(args, shape)
    diffusion = R.create_diffusion(R.default_respacing(args.sampler, args.steps), learn_sigma=cfg.learn_sigma)
    t0 = time.time()
    out = R.sample(model, diffusion, y, z, noise, sampler=args.sampler, cfg_scale=args.cfg_scale,
                   eta=args.eta, guidance=args.guidance)
    print(f"sampled {len(labels)} x {args.steps} {args.sampler} steps (cfg {args.cfg_scale:g}) "
          f"in {time.time() - t0:.1f}s", flush=True)
    import h5py
    with h5py.File(args.output, "w") as f:
        f["samples"] = out.numpy()
        f["labels"] = y.numpy()


if __name__ == "__main__":
    main()
