#!/usr/bin/env python3
"""Fixtures for `--sampler dpm-solver++` from diffusers' own DPMSolverMultistepScheduler.

    pip install torch diffusers safetensors
    python3 tools/make_dpm_fixtures.py [--out Tests/Fixtures]

Each sampling case runs DiTPipeline.__call__'s loop (diffusers
src/diffusers/pipelines/dit/pipeline_dit.py), line for line: the latents doubled
when guidance_scale > 1, guidance on every latent channel, the variance channels
dropped for learn_sigma models, and scheduler.step on the doubled batch.  Only two
things differ from the pipeline, neither touching the scheduler: the model is the
upstream-equivalent tools/dit_reference.py DiT on the committed tiny fixture
checkpoints (diffusers' DiTTransformer2DModel embeds t with downscale_freq_shift=1,
so its outputs differ from upstream DiT's), and the null class is num_classes
instead of the pipeline's hard-coded 1000.  The scheduler is
DPMSolverMultistepScheduler() with its defaults, which are DiT's betas (linear
1e-4..0.02, 1000 steps), plus timestep_spacing where a case sets it.

Files:
  dpm-<model>-<steps>-cfg<scale>[-<spacing>].safetensors   z, y, samples; metadata describes the run
  dpm-schedules.json   {spacing: {steps: {"timesteps", "sigmas"}}} from set_timesteps
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dit_reference as R  # noqa: E402

LABELS = {"tiny-p2": [1, 5, 9], "tiny-p4-nosigma": [0, 3, 6]}
# (model, steps, guidance_scale, timestep_spacing)
CASES = [(m, n, c, "linspace") for m in LABELS for n in (10, 25) for c in (4.0, 1.0)] + [
    ("tiny-p2", 10, 4.0, "leading"), ("tiny-p2", 7, 1.5, "trailing"), ("tiny-p4-nosigma", 5, 4.0, "trailing"),
    ("tiny-p2", 1, 4.0, "linspace"), ("tiny-p2", 2, 4.0, "linspace")]
SCHEDULE_STEPS = [1, 2, 3, 5, 7, 10, 15, 20, 25, 50, 100, 250, 333, 500, 999]


def scheduler(spacing: str):
    from diffusers import DPMSolverMultistepScheduler
    return DPMSolverMultistepScheduler(timestep_spacing=spacing)


def dit_pipeline_loop(transformer, scheduler, class_labels, latents, guidance_scale, num_inference_steps, null_class):
    """DiTPipeline.__call__ from `latents` to the final latents (before the VAE)."""
    batch_size = len(class_labels)
    latent_channels = transformer.cfg.in_channels
    latent_model_input = torch.cat([latents] * 2) if guidance_scale > 1 else latents
    class_labels = torch.tensor(class_labels).reshape(-1)
    class_null = torch.tensor([null_class] * batch_size)
    class_labels_input = torch.cat([class_labels, class_null], 0) if guidance_scale > 1 else class_labels
    scheduler.set_timesteps(num_inference_steps)
    for t in scheduler.timesteps:
        if guidance_scale > 1:
            half = latent_model_input[: len(latent_model_input) // 2]
            latent_model_input = torch.cat([half, half], dim=0)
        latent_model_input = scheduler.scale_model_input(latent_model_input, t)
        timesteps = t[None].expand(latent_model_input.shape[0])
        noise_pred = transformer(latent_model_input, timesteps, class_labels_input)
        if guidance_scale > 1:
            eps, rest = noise_pred[:, :latent_channels], noise_pred[:, latent_channels:]
            cond_eps, uncond_eps = torch.split(eps, len(eps) // 2, dim=0)
            half_eps = uncond_eps + guidance_scale * (cond_eps - uncond_eps)
            eps = torch.cat([half_eps, half_eps], dim=0)
            noise_pred = torch.cat([eps, rest], dim=1)
        if transformer.cfg.out_channels // 2 == latent_channels:
            model_output, _ = torch.split(noise_pred, latent_channels, dim=1)
        else:
            model_output = noise_pred
        latent_model_input = scheduler.step(model_output, t, latent_model_input).prev_sample
    if guidance_scale > 1:
        latents, _ = latent_model_input.chunk(2, dim=0)
    else:
        latents = latent_model_input
    return latents


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "Tests", "Fixtures"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    import diffusers
    from safetensors.torch import save_file

    for i, (name, steps, scale, spacing) in enumerate(CASES):
        model = R.load_checkpoint(os.path.join(args.out, f"fwd-{name}.safetensors"))
        cfg = model.cfg
        g = torch.Generator().manual_seed(5000 + i)
        z = torch.randn(len(LABELS[name]), cfg.in_channels, cfg.input_size, cfg.input_size, generator=g)
        with torch.no_grad():
            out = dit_pipeline_loop(model, scheduler(spacing), LABELS[name], z.clone(), scale, steps, cfg.num_classes)
        tag = "" if spacing == "linspace" else f"-{spacing}"
        fname = f"dpm-{name}-{steps}-cfg{scale:g}{tag}.safetensors"
        meta = {"model": f"fwd-{name}.safetensors", "sampler": "dpm-solver++", "steps": str(steps),
                "cfg_scale": repr(scale), "guidance": "all-channels", "timestep_spacing": spacing,
                "diffusers": diffusers.__version__, "torch": torch.__version__}
        save_file({"z": z, "y": torch.tensor(LABELS[name]), "samples": out.contiguous()},
                  os.path.join(args.out, fname), metadata=meta)
        print(f"{fname}: samples max|.|={out.abs().max():.4f}")

    table = {}
    for spacing in ("linspace", "leading", "trailing"):
        table[spacing] = {}
        for n in SCHEDULE_STEPS:
            s = scheduler(spacing)
            s.set_timesteps(n)
            table[spacing][str(n)] = {"timesteps": s.timesteps.tolist(), "sigmas": [float(v) for v in s.sigmas]}
    with open(os.path.join(args.out, "dpm-schedules.json"), "w") as f:
        json.dump({"diffusers": diffusers.__version__, "torch": torch.__version__, "schedules": table}, f)
    print("dpm-schedules.json written")


if __name__ == "__main__":
    main()
