#!/usr/bin/env python3
"""Cross-check Tests/Fixtures/ against a local checkout of facebookresearch/DiT.

    pip install timm
    python3 tools/verify_upstream.py --upstream /path/to/DiT [--fixtures Tests/Fixtures]

The upstream checkout is only imported (its models.py, diffusion/); nothing from
it is copied here.  For every fixture this loads the weights into upstream's
DiT, recomputes forward / forward_with_cfg / the sampling loop (with the
fixture's injected noise fed through torch.randn_like) and prints the max abs
difference to the stored values.  It also reports how sensitive each sampling
fixture is to a float32-rounding-sized weight perturbation, which bounds the
difference any correct float32 implementation may show.

guidance 'all-channels' is checked with the channel split model_out[:, :in_channels]
(the commented-out alternative in upstream's forward_with_cfg).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True, help="directory holding upstream models.py and diffusion/")
    ap.add_argument("--fixtures", default=os.path.join(here, "..", "Tests", "Fixtures"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    sys.path.insert(0, here)
    sys.path.insert(0, os.path.abspath(args.upstream))
    import dit_reference as R
    import models as U
    import diffusion as UD
    from safetensors import safe_open

    def load(path):
        with safe_open(path, framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, (f.metadata() or {})

    def upstream_model(path, input_size=None):
        sd, md = load(path)
        cfg = R.config_from_state_dict(sd, int(md["num_heads"]), input_size)
        m = U.DiT(input_size=cfg.input_size, patch_size=cfg.patch_size, in_channels=cfg.in_channels,
                  hidden_size=cfg.hidden_size, depth=cfg.depth, num_heads=cfg.num_heads,
                  mlp_ratio=cfg.mlp_ratio, num_classes=cfg.num_classes, learn_sigma=cfg.learn_sigma)
        missing, unexpected = m.load_state_dict(sd, strict=False)
        assert not unexpected and set(missing) <= {"pos_embed"}, (missing, unexpected)
        m.eval()
        return m, cfg

    def cfg_all(m, x, t, y, s):
        half = x[: len(x) // 2]
        out = m.forward(torch.cat([half, half]), t, y)
        C = m.in_channels
        eps, rest = out[:, :C], out[:, C:]
        c, u = torch.split(eps, len(eps) // 2, dim=0)
        h = u + s * (c - u)
        return torch.cat([torch.cat([h, h]), rest], dim=1)

    worst = 0.0
    fx = args.fixtures
    for name in sorted(os.listdir(fx)):
        if not (name.startswith("fwd-") and name.endswith("-io.safetensors")):
            continue
        io, md = load(os.path.join(fx, name))
        m, _ = upstream_model(os.path.join(fx, name.replace("-io", "")), io["x"].shape[-1])
        s = float(md["cfg_scale"])
        with torch.no_grad():
            got = {"out": m(io["x"], io["t"], io["y"]),
                   "out_cfg": m.forward_with_cfg(io["x"], io["t"], io["y"], s),
                   "out_cfg_all": cfg_all(m, io["x"], io["t"], io["y"], s)}
        for k, v in got.items():
            d = (v - io[k]).abs().max().item()
            tol = 1e-4 * max(1.0, io[k].abs().max().item())
            worst = max(worst, d / tol)
            print(f"{name:40s} {k:12s} max|diff|={d:.3e} (tol {tol:.1e}) {'OK' if d <= tol else 'FAIL'}")

    real_randn_like = torch.randn_like
    for name in sorted(os.listdir(fx)):
        if not name.startswith("sample-"):
            continue
        tz, md = load(os.path.join(fx, name))
        m, cfg = upstream_model(os.path.join(fx, md["model"]))
        scale, eta = float(md["cfg_scale"]), float(md["eta"])
        diff = UD.create_diffusion(md["respacing"], learn_sigma=cfg.learn_sigma)
        z, y, noise = tz["z"], tz["y"], tz["noise"]
        n = z.shape[0]
        if scale != 1.0:
            z2 = torch.cat([z, z])
            kw = dict(y=torch.cat([y, torch.full_like(y, cfg.num_classes)]), cfg_scale=scale)
            fn = m.forward_with_cfg
            feed = [torch.cat([e, e]) for e in noise]
        else:
            z2, kw, fn, feed = z, dict(y=y), m.forward, list(noise)
        it = iter(feed)
        torch.randn_like = lambda x, *a, **k: next(it).clone()
        try:
            with torch.no_grad():
                if md["sampler"] == "ddpm":
                    out = diff.p_sample_loop(fn, z2.shape, z2, clip_denoised=False, model_kwargs=kw,
                                             device="cpu")
                else:
                    out = diff.ddim_sample_loop(fn, z2.shape, z2, clip_denoised=False, model_kwargs=kw,
                                                device="cpu", eta=eta)
        finally:
            torch.randn_like = real_randn_like
        assert next(it, None) is None, "noise count mismatch"
        ref = tz["samples"]
        d = (out[:n] - ref).abs().max().item()
        tol = 1e-4 * ref.abs().max().item()
        worst = max(worst, d / tol)

        # sensitivity: perturb every weight by ~1 float32 ulp (relative 1.2e-7) in the reference
        rm = R.load_checkpoint(os.path.join(fx, md["model"]))
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for p in rm.parameters():
                p.mul_(1 + 1.2e-7 * torch.randn(p.shape, generator=g))
        rd = R.create_diffusion(md["respacing"], learn_sigma=rm.cfg.learn_sigma)
        pert = R.sample(rm, rd, y, z, list(noise), md["sampler"], scale, eta, md["guidance"])
        sens = (pert - ref).abs().max().item()
        print(f"{name:48s} max|diff|={d:.3e} (tol {tol:.1e}, max|ref| {ref.abs().max():.1f}) "
              f"{'OK' if d <= tol else 'FAIL'}; ulp-perturbation sensitivity {sens:.2e} ({sens / tol:.3f} tol)")

    sched = json.load(open(os.path.join(fx, "schedules.json")))
    for spec, v in sched.items():
        d = UD.create_diffusion(spec)
        ok = d.timestep_map == v["timestep_map"] and list(map(float, d.betas)) == v["betas"]
        print(f"schedule {spec:10s} {'exact' if ok else 'MISMATCH'}")
        worst = max(worst, 0.0 if ok else float("inf"))
    print(f"worst diff / tolerance: {worst:.4f}")
    sys.exit(0 if worst <= 1.0 else 1)


if __name__ == "__main__":
    main()
