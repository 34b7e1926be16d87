#!/usr/bin/env python3
"""Generate the VAE decoder fixtures in Tests/Fixtures/ with diffusers' AutoencoderKL.

    python3 tools/make_vae_fixtures.py [--out Tests/Fixtures]

Deterministic (fixed seeds, CPU float32, one thread); no weights are downloaded:
the models are built from tiny configs and given random weights.  Files:

  vae-<name>.safetensors      post_quant_conv.* and decoder.* by diffusers name, float16
                              (the reference runs on the float16 values widened to float32,
                              so the Swift side reads exactly the weights the reference used);
                              metadata: the diffusers config.
  vae-<name>-io.safetensors   z (N, latent, h, w) float32, out = vae.decode(z).sample;
                              metadata norm_num_groups.

Cases: tiny (block_out_channels (32, 64), layers_per_block 1, GroupNorm(32); one upsampler,
a conv_shortcut 64 -> 32) and tiny3 (block_out_channels (8, 16, 16), layers_per_block 1,
GroupNorm(8); two upsamplers).  Latents are odd and non-square.
"""

from __future__ import annotations

import argparse
import json
import os

import torch
from diffusers import AutoencoderKL
from safetensors.torch import save_file

CASES = {
    "tiny": dict(block_out_channels=(32, 64), norm_num_groups=32, z_shape=(2, 4, 5, 6), seed=7),
    "tiny3": dict(block_out_channels=(8, 16, 16), norm_num_groups=8, z_shape=(1, 4, 3, 5), seed=8),
}


def build_vae(block_out_channels, norm_num_groups, layers_per_block=1, latent_channels=4) -> AutoencoderKL:
    n = len(block_out_channels)
    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=latent_channels,
        down_block_types=("DownEncoderBlock2D",) * n, up_block_types=("UpDecoderBlock2D",) * n,
        block_out_channels=tuple(block_out_channels), layers_per_block=layers_per_block,
        norm_num_groups=norm_num_groups).eval()


@torch.no_grad()
def randomize(vae: torch.nn.Module, seed: int) -> None:
    """Every parameter live: weights ~ N(0, 1/fan_in), biases and norm offsets O(0.1),
    norm scales around 1, so that every term of the decoder shows in the output."""
    g = torch.Generator().manual_seed(seed)
    for name, p in vae.named_parameters():
        noise = torch.randn(p.shape, generator=g)
        if p.ndim >= 2:
            p.copy_(noise / (p[0].numel() ** 0.5))
        elif "norm" in name and name.endswith("weight"):
            p.copy_(1 + 0.2 * noise)
        else:
            p.copy_(0.1 * noise)


def decoder_state_dict(vae: AutoencoderKL) -> dict:
    return {k: v.contiguous() for k, v in vae.state_dict().items()
            if k.startswith("decoder.") or k.startswith("post_quant_conv.")}


def make_case(name: str, spec: dict, out_dir: str) -> None:
    vae = build_vae(spec["block_out_channels"], spec["norm_num_groups"])
    randomize(vae, spec["seed"])
    # Round the decoder to float16 and run the reference on those values.
    half = {k: v.half() for k, v in decoder_state_dict(vae).items()}
    vae.load_state_dict({k: v.float() for k, v in half.items()}, strict=False)
    g = torch.Generator().manual_seed(spec["seed"] + 100)
    z = torch.randn(spec["z_shape"], generator=g)
    with torch.no_grad():
        out = vae.decode(z).sample
    config = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vae.config.items() if not k.startswith("_")}
    save_file(half, os.path.join(out_dir, f"vae-{name}.safetensors"), metadata={"config": json.dumps(config)})
    save_file({"z": z.contiguous(), "out": out.contiguous()}, os.path.join(out_dir, f"vae-{name}-io.safetensors"),
              metadata={"norm_num_groups": str(spec["norm_num_groups"])})
    print(f"vae-{name}: z {tuple(z.shape)} -> out {tuple(out.shape)}, max|out| {out.abs().max():.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    for name, spec in CASES.items():
        make_case(name, spec, args.out)


if __name__ == "__main__":
    main()
