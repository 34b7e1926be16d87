#!/usr/bin/env python3
"""Run the PyTorch reference (tools/dit_reference.py) and write an activation dump
in dit-pipe's merged layout (docs/dump-format.md), to compare with `dit sample --dump`:

    python3 tools/torch_dump.py --checkpoint checkpoints/digits-dit.safetensors \\
        --classes 0,1,2,3 --steps 10 --cfg-scale 4 --write-noise /tmp/noise.safetensors \\
        --dump-steps all --output /tmp/torch.h5
    dit sample --checkpoint checkpoints/digits-dit.safetensors --classes 0,1,2,3 --steps 10 \\
        --cfg-scale 4 --noise /tmp/noise.safetensors --dump /tmp/swift.h5 --dump-steps all
    dit dump compare /tmp/swift.h5 /tmp/torch.h5 --rtol 1e-3 --atol 1e-4

Both runs must see the same noise: --noise FILE (z (N,C,H,W), noise (steps,N,C,H,W)) is read
as given; without it, noise is drawn from torch.Generator(seed) and --write-noise saves it for
`dit sample --noise`. Datasets: /step_{k}/image_{i}/{x_t,embed,c,block_{b},final,model_out}, and
with --dump-points block_internals block_{b}_adaLN (adaLN_modulation(c), (p, 6D)), block_{b}_attn
and block_{b}_mlp (the attention and MLP branches before their gates, (p, T, D)).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dit_reference as R  # noqa: E402

POINTS = ["x_t", "embed", "c", "block", "final", "model_out"]
# Inside each block, recorded by forward hooks; `all` leaves them out, as `dit sample` does.
INTERNALS = {"adaLN": "adaLN_modulation", "attn": "attn", "mlp": "mlp"}


def parse_steps(spec: str, n: int) -> set:
    out = set()
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        if part == "all":
            out |= set(range(n))
        elif part == "first":
            out.add(0)
        elif part == "last":
            out.add(n - 1)
        elif part.startswith("every:"):
            out |= set(range(0, n, int(part[6:])))
        elif "-" in part:
            a, b = map(int, part.split("-"))
            out |= set(range(a, b + 1))
        else:
            out.add(int(part))
    bad = [k for k in out if not 0 <= k < n]
    if bad:
        raise SystemExit(f"--dump-steps: step {bad[0]} is out of range; this run has {n} steps (0...{n - 1})")
    return out


def parse_points(spec: str) -> set:
    names = [p.strip() for p in spec.split(",") if p.strip()]
    out = set()
    for p in names:
        if p == "all":
            out |= set(POINTS)
        elif p in POINTS:
            out.add(p)
        elif p == "block_internals":
            out.add(p)
        else:
            raise SystemExit(f"--dump-points: unknown point '{p}'; allowed: {', '.join(POINTS + ['block_internals', 'all'])}")
    return out


class Recorder:
    """Forward passes of the reference model that also record the dump points."""

    def __init__(self, model, y, n, cfg_scale, guidance, steps, points, forced=None):
        self.model, self.y, self.n = model, y, n
        # step -> x_t (n, C, H, W) to use instead of this sampler's own: the
        # forward then sees exactly the other run's input at every step.
        self.forced = forced
        self.cfg_scale, self.guidance = cfg_scale, guidance
        self.steps, self.points = steps, points
        self.step = 0
        self.records = {}   # (step, image, name) -> np.ndarray (parts, ...)
        self.timesteps = {}
        self.recording = False
        self.parts = 1
        if "block_internals" in points:
            for b, blk in enumerate(model.blocks):
                for point, module in INTERNALS.items():
                    getattr(blk, module).register_forward_hook(self.hook(f"block_{b}_{point}"))

    def hook(self, name):
        def record(module, inputs, output):
            if self.recording:
                self.put(name, output, self.parts)
        return record

    def put(self, name, rows, parts):
        """rows: tensor whose first axis is [cond rows; uncond rows] (parts=2) or cond rows."""
        a = rows.detach().float().numpy()
        for i in range(self.n):
            idx = [i + p * self.n for p in range(parts)]
            self.records[(self.step, i, name)] = np.ascontiguousarray(a[idx])

    def forward(self, x, t):
        m, k, doubled = self.model, self.step, self.cfg_scale != 1.0
        want = k in self.steps
        self.timesteps[k] = int(t[0])
        half = x[: self.n]
        if self.forced is not None:
            if k not in self.forced:
                raise SystemExit(f"--x-t-from: the dump has no x_t for step {k} of every image")
            half = torch.from_numpy(self.forced[k])
        xin = torch.cat([half, half]) if doubled else half
        yy = torch.cat([self.y, torch.full_like(self.y, m.cfg.num_classes)]) if doubled else self.y
        parts = 2 if doubled else 1
        self.recording, self.parts = want, parts
        if want and "x_t" in self.points:
            self.put("x_t", half, 1)
        h = m.x_embedder(xin) + m.pos_embed
        c = m.t_embedder(t) + m.y_embedder(yy)
        if want and "embed" in self.points:
            self.put("embed", h, parts)
        if want and "c" in self.points:
            self.put("c", c, parts)
        for b, blk in enumerate(m.blocks):
            h = blk(h, c)
            if want and "block" in self.points:
                self.put(f"block_{b}", h, parts)
        out = m._unpatchify(m.final_layer(h, c))
        if want and "final" in self.points:
            self.put("final", out, parts)
        if doubled:
            kch = 3 if self.guidance == "upstream" else m.cfg.in_channels
            eps, rest = out[:, :kch], out[:, kch:]
            cond, uncond = torch.split(eps, len(eps) // 2, dim=0)
            guided = uncond + self.cfg_scale * (cond - uncond)
            out = torch.cat([torch.cat([guided, guided], dim=0), rest], dim=1)
        if want and "model_out" in self.points:
            self.put("model_out", out[: self.n], 1)
        self.step += 1
        return out


def write_noise(path, z, noise):
    from safetensors.torch import save_file
    save_file({"z": z.contiguous(), "noise": torch.stack(noise).contiguous()}, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--classes", required=True, help="comma list of class labels, one image each")
    R.add_sampling_args(ap)
    ap.add_argument("--write-noise", help="save the noise used, for dit sample --noise")
    ap.add_argument("--dump-steps", default="first,last")
    ap.add_argument("--dump-points", default="all")
    ap.add_argument("--output", required=True)
    ap.add_argument("--x-t-from", metavar="DUMP",
                    help="a merged dit dump (dit dump merge) holding x_t at every step: each step's forward takes that "
                         "x_t, so the comparison measures the forward alone, not two samplers' drift")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = R.load_checkpoint(args.checkpoint)
    cfg = model.cfg
    labels = [int(c) for c in args.classes.split(",")]
    y = torch.tensor(labels, dtype=torch.int64)
    n = len(labels)
    shape = (n, cfg.in_channels, cfg.input_size, cfg.input_size)
    z, noise = R.injected_noise(args, shape)
    if args.write_noise:
        write_noise(args.write_noise, z, noise)
    diffusion = R.create_diffusion(str(args.steps), learn_sigma=cfg.learn_sigma)
    steps = parse_steps(args.dump_steps, diffusion.num_timesteps)
    forced = None
    if args.x_t_from:
        import h5py
        with h5py.File(args.x_t_from, "r") as f:
            forced = {int(k[5:]): np.stack([f[f"{k}/image_{i}/x_t"][0] for i in range(n)]).astype(np.float32)
                      for k in f if k.startswith("step_") and all(f"{k}/image_{i}/x_t" in f for i in range(n))}
    rec = Recorder(model, y, n, args.cfg_scale, args.guidance, steps, parse_points(args.dump_points), forced)
    doubled = args.cfg_scale != 1.0
    with torch.no_grad():
        x0 = torch.cat([z, z]) if doubled else z
        nz = [torch.cat([e, e]) for e in noise] if doubled else noise
        if args.sampler == "ddpm":
            diffusion.p_sample_loop(rec.forward, x0, nz)
        else:
            diffusion.ddim_sample_loop(rec.forward, x0, nz, eta=args.eta)

    import h5py
    tmp = args.output + ".partial"
    model_config = json.dumps({"depth": cfg.depth, "hidden_size": cfg.hidden_size, "in_channels": cfg.in_channels,
                               "input_size": cfg.input_size, "learn_sigma": cfg.learn_sigma,
                               "mlp_ratio": cfg.mlp_ratio, "num_classes": cfg.num_classes,
                               "num_heads": cfg.num_heads, "patch_size": cfg.patch_size}, sort_keys=True)
    with h5py.File(tmp, "w") as f:
        f.attrs.update({
            "format": "dit-pipe activation dump", "format_version": 1, "layout": "merged",
            "program": "tools/torch_dump.py", "program_version": str(torch.__version__),
            "model_config": model_config, "checkpoint": args.checkpoint,
            "checkpoint_size": os.path.getsize(args.checkpoint),
            "sampler": args.sampler, "steps": diffusion.num_timesteps, "respacing": str(args.steps),
            "eta": args.eta, "cfg_scale": args.cfg_scale, "guidance": args.guidance,
            "noise": f"file:{args.noise}" if args.noise else f"torch:{args.seed}",
            "classes": np.array(labels, dtype=np.int64),
            "timesteps": np.array([rec.timesteps[k] for k in range(diffusion.num_timesteps)], dtype=np.int64),
        })
        for (k, i, name), a in sorted(rec.records.items()):
            g = f.require_group(f"step_{k}")
            g.attrs.update({"step": k, "timestep": rec.timesteps[k]})
            d = g.create_dataset(f"image_{i}/{name}", data=a.astype(np.float32), chunks=(1,) + a.shape[1:])
            block, _, inside = name[6:].partition("_") if name.startswith("block_") else (None, "", name)
            point = inside or "block"
            d.attrs.update({"point": point, "step": k, "timestep": rec.timesteps[k], "image": i,
                            "doubled": int(a.shape[0] == 2)})
            if block is not None:
                d.attrs["block"] = int(block)
    os.replace(tmp, args.output)
    print(f"{args.output}: {len(rec.records)} entries, {len(steps)} step(s), {n} image(s)")


if __name__ == "__main__":
    main()
