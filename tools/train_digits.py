#!/usr/bin/env python3
"""Train the small class-conditional pixel-space DiT shipped as checkpoints/digits-dit.safetensors.

    python3 tools/train_digits.py [--steps 3734] [--threads 1] [--out checkpoints/digits-dit.safetensors]

Data: scikit-learn's bundled 8x8 digits (sklearn.datasets.load_digits, 1797 images,
values 0..16), scaled to [-1, 1] (v / 8 - 1), upsampled 2x nearest to 16x16, 1 channel.
Model: DiT with patch 4 (16 tokens), hidden 96, depth 4, heads 4, mlp_ratio 4,
10 classes (+ null row), learn_sigma.  Training as in DiT's train.py: upstream-style
init (xavier, adaLN-Zero; label table std 1.0 instead of 0.02 so conditioning is learnt quickly), class dropout 0.1, 1000-step linear schedule, uniform t,
IDDPM hybrid loss (eps MSE + VLB on the variance with stop-grad mean), AdamW, EMA.
Only the EMA weights are written (upstream key names, float32).
CPU only, deterministic for a given seed/steps/threads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dit_reference as R  # noqa: E402

MODEL_CONFIG = R.DiTConfig(input_size=16, patch_size=4, in_channels=1, hidden_size=96, depth=4,
                           num_heads=4, mlp_ratio=4.0, num_classes=10, learn_sigma=True)
DATA_DESCRIPTION = ("sklearn.datasets.load_digits (8x8, 0..16), x/8-1 -> [-1,1], "
                    "2x nearest upsample -> 1x16x16, 10 classes, all 1797 images")


def load_digits_16():
    """(N,1,16,16) float32 in [-1,1] and (N,) int64 labels."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32)) / 8.0 - 1.0        # (N,8,8)
    x = x.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)      # nearest 2x
    return x.unsqueeze(1).contiguous(), torch.from_numpy(d.target.astype(np.int64))


def upstream_style_init(model: R.DiT, seed: int, label_std: float = 0.02) -> None:
    """Upstream DiT.initialize_weights scheme (adaLN-Zero); label table std is a parameter."""
    torch.manual_seed(seed)
    for mod in model.modules():
        if isinstance(mod, nn.Linear):
            nn.init.xavier_uniform_(mod.weight)
            nn.init.zeros_(mod.bias)
    w = model.x_embedder.proj.weight.data
    nn.init.xavier_uniform_(w.view(w.shape[0], -1))
    nn.init.zeros_(model.x_embedder.proj.bias)
    nn.init.normal_(model.y_embedder.embedding_table.weight, std=label_std)
    nn.init.normal_(model.t_embedder.mlp[0].weight, std=0.02)
    nn.init.normal_(model.t_embedder.mlp[2].weight, std=0.02)
    for blk in model.blocks:
        nn.init.zeros_(blk.adaLN_modulation[1].weight)
        nn.init.zeros_(blk.adaLN_modulation[1].bias)
    nn.init.zeros_(model.final_layer.adaLN_modulation[1].weight)
    nn.init.zeros_(model.final_layer.adaLN_modulation[1].bias)
    nn.init.zeros_(model.final_layer.linear.weight)
    nn.init.zeros_(model.final_layer.linear.bias)


def forward_flops(cfg: R.DiTConfig) -> float:
    T = (cfg.input_size // cfg.patch_size) ** 2
    D, M = cfg.hidden_size, cfg.mlp_hidden
    per_block = 2 * T * D * (3 * D + D + 2 * M) + 4 * T * T * D + 2 * D * 6 * D
    embed = 2 * T * D * cfg.in_channels * cfg.patch_size ** 2 + 2 * (256 * D + D * D)
    final = 2 * T * D * cfg.patch_size ** 2 * cfg.out_channels + 2 * D * 2 * D
    return cfg.depth * per_block + embed + final


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=3734)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--ema", type=float, default=0.995)
    ap.add_argument("--class-dropout", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(here, "..", "checkpoints", "digits-dit.safetensors"))
    ap.add_argument("--bench", action="store_true", help="time 20 steps and exit")
    ap.add_argument("--schedule", default="const", choices=["const", "cosine"],
                    help="lr after warmup: constant, or cosine decay to --min-lr at --steps")
    ap.add_argument("--max-minutes", type=float, default=0.0,
                    help="stop early after this wall time (the steps done are recorded; rerun with --steps N)")
    ap.add_argument("--state", help="file to save (and resume from, if present) the full training state; "
                    "resuming N + M steps equals one N+M step run with --schedule const")
    ap.add_argument("--label-init-std", type=float, default=1.0)
    ap.add_argument("--beta2", type=float, default=0.99)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--patch", type=int, default=MODEL_CONFIG.patch_size)
    ap.add_argument("--hidden", type=int, default=MODEL_CONFIG.hidden_size)
    ap.add_argument("--depth", type=int, default=MODEL_CONFIG.depth)
    ap.add_argument("--heads", type=int, default=MODEL_CONFIG.num_heads)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)
    cfg = R.DiTConfig(**{**MODEL_CONFIG.__dict__, "patch_size": args.patch, "hidden_size": args.hidden,
                         "depth": args.depth, "num_heads": args.heads})
    print(f"forward cost ~{forward_flops(cfg) / 1e6:.1f} MFLOP / image", flush=True)

    data, labels = load_digits_16()
    n_data = data.shape[0]
    model = R.DiT(cfg)
    upstream_style_init(model, args.seed, args.label_init_std)
    ema = R.DiT(cfg)
    ema.load_state_dict(model.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    model.train()
    diffusion = R.create_diffusion("", learn_sigma=True)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, args.beta2), weight_decay=0.0)

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        if args.schedule == "const":
            return args.lr
        frac = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * frac))

    steps = 8 if args.bench else args.steps
    eg = torch.Generator().manual_seed(12345)
    ev_idx = torch.randperm(n_data, generator=eg)[:256]
    ev_x, ev_y = data[ev_idx], labels[ev_idx]
    ev_t = torch.full((256,), 400, dtype=torch.int64)
    ev_n = torch.randn(ev_x.shape, generator=eg)
    t0 = time.time()
    run_loss = None
    start = 0
    if args.state and os.path.exists(args.state):
        st = torch.load(args.state, weights_only=False)
        model.load_state_dict(st["model"]); ema.load_state_dict(st["ema"]); opt.load_state_dict(st["opt"])
        gen.set_state(st["gen"]); start = st["step"]; run_loss = st["run_loss"]
        print(f"resumed from {args.state} at step {start}", flush=True)
    done = start
    for step in range(start, steps):
        if args.max_minutes and time.time() - t0 > 60 * args.max_minutes:
            print(f"time limit reached after {step} steps", flush=True)
            break
        done = step + 1
        idx = torch.randint(0, n_data, (args.batch,), generator=gen)
        x0, y = data[idx], labels[idx].clone()
        drop = torch.rand(args.batch, generator=gen) < args.class_dropout
        y[drop] = cfg.num_classes
        t = torch.randint(0, diffusion.num_timesteps, (args.batch,), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        loss = diffusion.training_losses(lambda xt, tt: model(xt, tt, y), x0, t, noise)["loss"].mean()
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            decay = min(args.ema, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
        run_loss = loss.item() if run_loss is None else 0.98 * run_loss + 0.02 * loss.item()
        if step % args.eval_every == 0 or step == steps - 1 or (args.max_minutes and time.time() - t0 > 60 * args.max_minutes):
            el = time.time() - t0
            with torch.no_grad():
                xt = diffusion.q_sample(ev_x, ev_t, ev_n)
                mse = [((diffusion.predict_x0(xt, ev_t, ema(xt, ev_t, yy)[:, :1]) - ev_x) ** 2).mean().item()
                       for yy in (ev_y, torch.full_like(ev_y, cfg.num_classes))]
            print(f"step {step:6d} loss {run_loss:.4f} lr {lr_at(step):.2e} "
                  f"ema x0-mse@t400 cond {mse[0]:.4f} uncond {mse[1]:.4f} "
                  f"{el:7.1f}s ({el / (step + 1 - start):.3f}s/step)", flush=True)
    elapsed = time.time() - t0
    if args.state:
        torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                    "gen": gen.get_state(), "step": done, "run_loss": run_loss}, args.state)
    if args.bench:
        print(f"bench: {elapsed / steps:.3f} s/step at batch {args.batch}")
        return

    meta = {
        "num_heads": str(cfg.num_heads),
        "config": cfg.to_json(),
        "training_steps": str(done),
        "hyperparameters": json.dumps({"batch": args.batch, "lr": args.lr, "schedule": args.schedule,
                                       "warmup": args.warmup, "min_lr": args.min_lr, "ema": args.ema,
                                       "beta2": args.beta2, "label_init_std": args.label_init_std,
                                       "class_dropout": args.class_dropout}, sort_keys=True),
        "batch_size": str(args.batch),
        "data": DATA_DESCRIPTION,
        "seed": str(args.seed),
        "weights": f"EMA (decay {args.ema})",
        "trainer": "tools/train_digits.py",
        "train_seconds": f"{elapsed:.0f}",
        "threads": str(args.threads),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    ema.eval()
    R.save_checkpoint(ema, args.out, extra_metadata=meta)
    digest = hashlib.sha256(open(args.out, "rb").read()).hexdigest()
    print(f"wrote {args.out} sha256 {digest} after {elapsed:.0f}s", flush=True)
    print("config", json.dumps(meta))


if __name__ == "__main__":
    main()
