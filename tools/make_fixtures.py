#!/usr/bin/env python3
"""Generate the small numerical fixtures in Tests/Fixtures/ from tools/dit_reference.py.

    python3 tools/make_fixtures.py [--out Tests/Fixtures]

Deterministic (fixed seeds, CPU float32, single thread).  Files:

  fwd-<name>.safetensors       weights, upstream key names, metadata {"num_heads"}
  fwd-<name>-io.safetensors    x, t, y, out, out_cfg, out_cfg_all; metadata {"cfg_scale"}
  sample-<model>-<sampler><steps>-cfg<scale>.safetensors
                               z, y, noise (steps,N,C,H,W), samples; metadata describes the run
  schedules.json               respacing -> {"timestep_map", "betas"(float64)}
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dit_reference as R  # noqa: E402

CFG_SCALE = 4.0

# mlp_ratio of tiny-p4-nosigma (0.75) and tiny-p2-16-nopos (0.5) is kept small so the
# whole fixture folder stays under 4 MB (fc1 widths 48 and 32).
FORWARD_CASES = {
    "tiny-p2": dict(
        cfg=R.DiTConfig(input_size=8, patch_size=2, in_channels=4, hidden_size=64, depth=2,
                        num_heads=4, mlp_ratio=4.0, num_classes=10, learn_sigma=True),
        t=[0, 999, 500, 37], t_dtype=torch.int64, y=[3, 7, 10, 0], pos=True, seed=101),
    "tiny-p4-nosigma": dict(
        cfg=R.DiTConfig(input_size=16, patch_size=4, in_channels=3, hidden_size=64, depth=3,
                        num_heads=2, mlp_ratio=0.75, num_classes=7, learn_sigma=False),
        t=[12.5, 0.25, 999.0, 500.7], t_dtype=torch.float32, y=[6, 7, 2, 0], pos=True, seed=202),
    "tiny-p2-16-nopos": dict(
        cfg=R.DiTConfig(input_size=16, patch_size=2, in_channels=4, hidden_size=64, depth=4,
                        num_heads=8, mlp_ratio=0.5, num_classes=10, learn_sigma=True),
        t=[999, 1, 250, 0], t_dtype=torch.int64, y=[9, 10, 4, 1], pos=False, seed=303),
    "custom-odd": dict(
        cfg=R.DiTConfig(input_size=12, patch_size=2, in_channels=2, hidden_size=48, depth=2,
                        num_heads=3, mlp_ratio=2.5, num_classes=5, learn_sigma=True),
        t=[3, 998, 0, 421, 77, 5], t_dtype=torch.int64, y=[4, 0, 5, 2, 5, 1], pos=True, seed=404),
}

# (model, sampler, steps, cfg_scale, eta)
SAMPLE_CASES = [
    (m, s, n, c, e)
    for m in ("tiny-p2", "tiny-p4-nosigma")
    for (s, n, c, e) in (("ddpm", 10, 4.0, 0.0), ("ddpm", 25, 1.0, 0.0),
                         ("ddim", 10, 4.0, 0.0), ("ddim", 25, 1.5, 0.5))
]
SAMPLE_LABELS = {"tiny-p2": [1, 5, 9], "tiny-p4-nosigma": [0, 3, 6]}

SCHEDULES = ["1", "3", "10", "25", "50", "100", "250", "1000",
             "ddim10", "ddim25", "ddim50", "10,15,20", "7,3"]


def fmt_scale(s: float) -> str:
    return ("%g" % s)


def build_model(name: str) -> R.DiT:
    case = FORWARD_CASES[name]
    model = R.DiT(case["cfg"])
    R.randomize_weights(model, case["seed"])
    model.eval()
    return model


def forward_io(name: str, model: R.DiT):
    case = FORWARD_CASES[name]
    cfg = case["cfg"]
    g = torch.Generator().manual_seed(case["seed"] + 1)
    n = len(case["t"])
    x = torch.randn(n, cfg.in_channels, cfg.input_size, cfg.input_size, generator=g)
    t = torch.tensor(case["t"], dtype=case["t_dtype"])
    y = torch.tensor(case["y"], dtype=torch.int64)
    with torch.no_grad():
        out = model(x, t, y)
        out_cfg = model.forward_with_cfg(x, t, y, CFG_SCALE, "upstream")
        out_all = model.forward_with_cfg(x, t, y, CFG_SCALE, "all-channels")
    return {"x": x, "t": t, "y": y, "out": out, "out_cfg": out_cfg, "out_cfg_all": out_all}


def sample_case(model_name: str, model: R.DiT, sampler: str, steps: int, scale: float, eta: float):
    cfg = model.cfg
    seed = 1000 + 17 * steps + int(scale * 10) + (0 if sampler == "ddpm" else 7) + len(model_name)
    g = torch.Generator().manual_seed(seed)
    n = len(SAMPLE_LABELS[model_name])
    shape = (n, cfg.in_channels, cfg.input_size, cfg.input_size)
    z = torch.randn(shape, generator=g)
    noise = torch.randn((steps,) + shape, generator=g)
    y = torch.tensor(SAMPLE_LABELS[model_name], dtype=torch.int64)
    diff = R.create_diffusion(str(steps), learn_sigma=cfg.learn_sigma)
    samples = R.sample(model, diff, y, z, list(noise), sampler=sampler, cfg_scale=scale, eta=eta,
                       guidance="upstream")
    tensors = {"z": z, "y": y, "noise": noise, "samples": samples.contiguous()}
    meta = {"model": f"fwd-{model_name}.safetensors", "sampler": sampler, "steps": str(steps),
            "respacing": str(steps), "eta": repr(float(eta)), "cfg_scale": repr(float(scale)),
            "guidance": "upstream"}
    fname = f"sample-{model_name}-{sampler}{steps}-cfg{fmt_scale(scale)}.safetensors"
    return fname, tensors, meta


def schedules():
    out = {}
    for spec in SCHEDULES:
        d = R.create_diffusion(spec, learn_sigma=True)
        out[spec] = {"timestep_map": [int(v) for v in d.timestep_map],
                     "betas": [float(b) for b in d.betas]}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "Tests", "Fixtures"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    from safetensors.torch import save_file

    os.makedirs(args.out, exist_ok=True)
    models = {}
    for name, case in FORWARD_CASES.items():
        model = build_model(name)
        models[name] = model
        R.save_checkpoint(model, os.path.join(args.out, f"fwd-{name}.safetensors"),
                          include_pos_embed=case["pos"])
        io = forward_io(name, model)
        save_file({k: v.contiguous() for k, v in io.items()},
                  os.path.join(args.out, f"fwd-{name}-io.safetensors"),
                  metadata={"cfg_scale": repr(CFG_SCALE)})
        print(f"fwd-{name}: out max|.|={io['out'].abs().max():.4f} "
              f"cfg max|.|={io['out_cfg'].abs().max():.4f}")

    for (mname, sampler, steps, scale, eta) in SAMPLE_CASES:
        fname, tensors, meta = sample_case(mname, models[mname], sampler, steps, scale, eta)
        save_file(tensors, os.path.join(args.out, fname), metadata=meta)
        print(f"{fname}: samples max|.|={tensors['samples'].abs().max():.4f}")

    with open(os.path.join(args.out, "schedules.json"), "w") as f:
        items = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in schedules().items()]
        f.write("{\n" + ",\n".join(items) + "\n}\n")

    total = sum(os.path.getsize(os.path.join(args.out, p)) for p in os.listdir(args.out))
    print(f"total fixture size: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
