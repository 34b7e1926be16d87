#!/usr/bin/env python3
"""Compare the Swift `dit` binary against tools/dit_reference.py (local only; needs torch, h5py).

Forward parity (default): builds random non-zero DiT-S/2 and DiT-XL/2 checkpoints
(input 32, 4 channels, learn_sigma, 1000 classes) as safetensors under --workdir,
writes inputs x/t/y, runs

    dit forward --checkpoint M --input IN.safetensors --output OUT.h5 [--cfg-scale 4 [--guidance G]]

and compares /out with the reference:
    DiT-S/2 : max|a-b| <= 1e-4 * max(1, max|ref|)
    DiT-XL/2: max|a-b| <= 3e-4 * max|ref|

Sampling parity (--sample):

    dit sample --checkpoint M --sampler ddpm|ddim --steps N --cfg-scale S --classes 1,2
               --noise NOISE.safetensors --output-dir D          -> D/samples.h5 (/samples)

NOISE holds z (N,C,H,W) and noise (steps,N,C,H,W); tolerance max|a-b| <= 1e-4 * max|ref|.

Examples:
    python3 tools/check_parity.py --dit .build/release/dit
    python3 tools/check_parity.py --dit .build/release/dit --models s2 --guidance all-channels
    python3 tools/check_parity.py --dit .build/release/dit --sample \\
        --checkpoint checkpoints/digits-dit.safetensors --sampler ddpm --steps 50 --cfg-scale 4 --classes 0,3,7
    python3 tools/check_parity.py --no-run     # only build files + reference (python half)
Exit status 0 iff every comparison passes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dit_reference as R  # noqa: E402

MODELS = {
    # name: (config, batch, tolerance kind, seed)
    "s2": (R.DiTConfig(input_size=32, patch_size=2, in_channels=4, hidden_size=384, depth=12,
                       num_heads=6, num_classes=1000, learn_sigma=True), 4, "abs1", 11),
    "xl2": (R.DiTConfig(input_size=32, patch_size=2, in_channels=4, hidden_size=1152, depth=28,
                        num_heads=16, num_classes=1000, learn_sigma=True), 2, "rel3", 12),
}


def tolerance(kind: str, ref: torch.Tensor) -> float:
    m = ref.abs().max().item()
    if kind == "abs1":
        return 1e-4 * max(1.0, m)
    if kind == "rel3":
        return 3e-4 * m
    return 1e-4 * m


def read_h5(path: str, name: str) -> torch.Tensor:
    import h5py
    with h5py.File(path, "r") as f:
        return torch.from_numpy(f[name][...]).float()


def run(cmd):
    print("  $", " ".join(cmd), flush=True)
    t0 = time.time()
    res = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.time() - t0
    if res.returncode != 0:
        print(f"  command failed (rc {res.returncode}) after {dt:.1f}s\n{res.stdout}\n{res.stderr}")
        return False, dt
    return True, dt


def report(label, got, ref, tol):
    if got is None:
        print(f"FAIL {label}: no output")
        return False
    if tuple(got.shape) != tuple(ref.shape):
        print(f"FAIL {label}: shape {tuple(got.shape)} != reference {tuple(ref.shape)}")
        return False
    d = (got - ref).abs().max().item()
    ok = d <= tol
    print(f"{'ok  ' if ok else 'FAIL'} {label}: max|diff|={d:.3e} tol={tol:.3e} max|ref|={ref.abs().max():.4f}")
    return ok


def build_forward_case(name, workdir):
    from safetensors.torch import save_file
    cfg, n, _, seed = MODELS[name]
    ckpt = os.path.join(workdir, f"dit-{name}.safetensors")
    t0 = time.time()
    model = R.DiT(cfg)
    R.randomize_weights(model, seed)
    model.eval()
    if not os.path.exists(ckpt):
        R.save_checkpoint(model, ckpt)
    g = torch.Generator().manual_seed(seed + 100)
    x = torch.randn(n, cfg.in_channels, cfg.input_size, cfg.input_size, generator=g)
    t = torch.tensor([999, 0, 421, 17][:n], dtype=torch.int64)
    y = torch.tensor([207, 1000, 3, 1000][:n], dtype=torch.int64)
    inp = os.path.join(workdir, f"in-{name}.safetensors")
    save_file({"x": x, "t": t, "y": y}, inp)
    print(f"[{name}] built checkpoint + inputs in {time.time() - t0:.1f}s ({ckpt})", flush=True)
    return model, ckpt, inp, (x, t, y)


def forward_parity(args) -> bool:
    ok_all = True
    for name in args.models.split(","):
        model, ckpt, inp, (x, t, y) = build_forward_case(name, args.workdir)
        kind = MODELS[name][2]
        with torch.no_grad():
            t0 = time.time()
            ref = model(x, t, y)
            ref_cfg = model.forward_with_cfg(x, t, y, args.cfg_scale, args.guidance)
            print(f"[{name}] reference forward in {time.time() - t0:.1f}s", flush=True)
        # python-half self check: checkpoint round trip
        back = R.load_checkpoint(ckpt)
        with torch.no_grad():
            ok_all &= report(f"{name} checkpoint round-trip", back(x, t, y), ref, tolerance(kind, ref))
        if args.no_run:
            continue
        for label, extra, r in (("forward", [], ref),
                                (f"forward cfg {args.cfg_scale:g} ({args.guidance})",
                                 ["--cfg-scale", f"{args.cfg_scale:g}"]
                                 + (["--guidance", args.guidance] if args.guidance != "upstream" else []),
                                 ref_cfg)):
            out = os.path.join(args.workdir, f"out-{name}-{'cfg' if extra else 'plain'}.h5")
            if os.path.exists(out):
                os.remove(out)
            ok, dt = run([args.dit, "forward", "--checkpoint", ckpt, "--input", inp, "--output", out] + extra)
            got = read_h5(out, "/out") if ok and os.path.exists(out) else None
            ok_all &= report(f"{name} {label} [{dt:.1f}s]", got, r, tolerance(kind, r))
    return ok_all


def sample_parity(args) -> bool:
    from safetensors.torch import save_file
    if args.checkpoint:
        ckpt = args.checkpoint
        model = R.load_checkpoint(ckpt)
    else:
        model, ckpt, _, _ = build_forward_case("s2", args.workdir)
    cfg = model.cfg
    classes = [int(c) for c in args.classes.split(",")]
    n = len(classes)
    g = torch.Generator().manual_seed(args.seed)
    shape = (n, cfg.in_channels, cfg.input_size, cfg.input_size)
    z = torch.randn(shape, generator=g)
    noise = torch.randn((args.steps,) + shape, generator=g)
    noise_path = os.path.join(args.workdir, "noise.safetensors")
    save_file({"z": z, "noise": noise}, noise_path)
    diffusion = R.create_diffusion(R.default_respacing(args.sampler, args.steps), learn_sigma=cfg.learn_sigma)
    t0 = time.time()
    ref = R.sample(model, diffusion, torch.tensor(classes), z, list(noise), sampler=args.sampler,
                   cfg_scale=args.cfg_scale, eta=args.eta, guidance=args.guidance)
    print(f"reference {args.sampler} x{args.steps} cfg {args.cfg_scale:g} in {time.time() - t0:.1f}s; "
          f"max|ref|={ref.abs().max():.4f}", flush=True)
    if args.no_run:
        return True
    outdir = os.path.join(args.workdir, "samples")
    os.makedirs(outdir, exist_ok=True)
    out = os.path.join(outdir, "samples.h5")
    if os.path.exists(out):
        os.remove(out)
    cmd = [args.dit, "sample", "--checkpoint", ckpt, "--sampler", args.sampler, "--steps", str(args.steps),
           "--cfg-scale", f"{args.cfg_scale:g}", "--classes", args.classes, "--noise", noise_path,
           "--output-dir", outdir]
    if args.eta != 0.0:
        cmd += ["--eta", f"{args.eta:g}"]
    if args.guidance != "upstream":
        cmd += ["--guidance", args.guidance]
    ok, dt = run(cmd)
    got = read_h5(out, "/samples") if ok and os.path.exists(out) else None
    return report(f"sample {args.sampler} x{args.steps} cfg {args.cfg_scale:g} [{dt:.1f}s]",
                  got, ref, 1e-4 * ref.abs().max().item())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dit", default=".build/release/dit", help="path to the Swift dit binary")
    ap.add_argument("--workdir", default="/tmp/dit-parity")
    ap.add_argument("--models", default="s2,xl2", help="comma list of s2, xl2")
    ap.add_argument("--cfg-scale", type=float, default=4.0)
    ap.add_argument("--guidance", default="upstream", choices=R.GUIDANCE_MODES)
    ap.add_argument("--no-run", action="store_true", help="only build files and the reference")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sample", action="store_true", help="compare `dit sample` instead of forward")
    ap.add_argument("--checkpoint", help="--sample: checkpoint to use (default: the random DiT-S/2)")
    ap.add_argument("--sampler", default="ddpm", choices=["ddpm", "ddim"])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--eta", type=float, default=0.0, help="--sample ddim eta (passed as --eta if non-zero)")
    ap.add_argument("--classes", default="1,2")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.workdir, exist_ok=True)
    if not args.no_run and not os.path.exists(args.dit):
        print(f"dit binary not found: {args.dit} (use --no-run to test the python half)")
        sys.exit(2)
    ok = sample_parity(args) if args.sample else forward_parity(args)
    print("PARITY OK" if ok else "PARITY FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
