#!/usr/bin/env python3
"""What `--rng torch --seed K` must reproduce: upstream sample.py's noise, from a real run.

    pip install torch diffusers safetensors timm   # accelerate: see below
    python3 tools/make_upstream_seed_fixture.py --upstream /path/to/DiT [--out Tests/Fixtures]

/path/to/DiT is a checkout of facebookresearch/DiT: its models.py and diffusion/ are
imported as they are (nothing is copied here).  This runs sample.py's main() line for
line -- torch.manual_seed(seed); the DiT built and a random checkpoint loaded into it;
create_diffusion(str(steps)); AutoencoderKL.from_pretrained (a tiny local VAE
directory instead of stabilityai/sd-vae-ft-mse); z = torch.randn(n, 4, ...); z and y
doubled with the null class 1000; diffusion.p_sample_loop(model.forward_with_cfg, ...)
-- and stores the final latents (before the VAE decode).  The architecture is a tiny
DiT with sample.py's 1000 classes (its null label is hard-coded to 1000).

It also measures, with torch.get_rng_state(), how many 32-bit words of the global
generator (mt19937) the DiT's __init__ + initialize_weights and the VAE's from_pretrained
consume, and checks the DiT count against the formula dit implements
(DiTConfig.upstreamInitDraws): every nn.Linear / nn.Conv2d draws weight + bias on
construction (kaiming-uniform, one word per float), xavier_uniform_ redraws every
Linear weight and the patch-embedding weight, normal_ (normal_fill: n words, 16 more
when n is not a multiple of 16) fills the label table twice and the two timestep-MLP
weights once.

Only timm's layers are used; timm imports torchvision for its data pipelines, and
PyPI's torchvision wheels do not load against torch's CPU build, so a stub module
stands in for torchvision when the real one is missing.

Files: upstream-tiny1000.safetensors (the random checkpoint, upstream names) and
upstream-sample-seed<K>.safetensors (y, samples; metadata seed, steps, cfg_scale,
dit_draws, vae_draws, accelerate).
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import tempfile
import types

import torch

ARCH = dict(input_size=8, patch_size=2, in_channels=4, hidden_size=64, depth=2, num_heads=4, mlp_ratio=4.0,
            class_dropout_prob=0.1, num_classes=1000, learn_sigma=True)
SEED, STEPS, CFG, LABELS = 3, 10, 4.0, [207, 360, 974]


def stub_torchvision():
    """A permissive stand-in for torchvision: every module and attribute exists."""
    class Any(type):
        def __getattr__(cls, name):
            if name.startswith("__"):
                raise AttributeError(name)
            sub = Any(name, (Dummy,), {})
            setattr(cls, name, sub)
            return sub

    class Dummy(metaclass=Any):
        def __init__(self, *a, **k):
            pass

    class Stub(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            sub = Any(name, (Dummy,), {})
            setattr(self, name, sub)
            return sub

    class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path, target=None):
            if name == "torchvision" or name.startswith("torchvision."):
                return importlib.machinery.ModuleSpec(name, self, is_package=True)

        def create_module(self, spec):
            m = Stub(spec.name)
            m.__path__ = []
            return m

        def exec_module(self, module):
            pass

    sys.meta_path.insert(0, Finder())


def normal_fill_words(n: int) -> int:
    return n + (16 if n % 16 else 0) if n >= 16 else 2 * n


def formula_draws(model) -> int:
    """DiTConfig.upstreamInitDraws, from the module tree."""
    words = 0
    for m in model.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
            words += 2 * m.weight.numel() + (m.bias.numel() if m.bias is not None else 0)
        elif isinstance(m, torch.nn.Embedding):
            words += 2 * normal_fill_words(m.weight.numel())
    words += sum(normal_fill_words(model.t_embedder.mlp[i].weight.numel()) for i in (0, 2))
    return words


def advanced_by(seed: int, words: int) -> torch.Tensor:
    torch.manual_seed(seed)
    if words:
        torch.empty(words).uniform_()
    return torch.get_rng_state()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True, help="directory holding upstream models.py and diffusion/")
    ap.add_argument("--out", default=os.path.join(here, "..", "Tests", "Fixtures"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    if importlib.util.find_spec("torchvision") is None:
        stub_torchvision()
    else:
        try:
            import torchvision  # noqa: F401
        except Exception:
            sys.modules.pop("torchvision", None)
            stub_torchvision()
    sys.path.insert(0, os.path.abspath(args.upstream))
    import models as U
    from diffusion import create_diffusion
    from diffusers.models import AutoencoderKL
    from safetensors.torch import save_file
    accelerate = importlib.util.find_spec("accelerate") is not None

    # The random checkpoint (its own generator; pos_embed as upstream fills it).
    g = torch.Generator().manual_seed(1234)
    sd = {}
    for k, v in U.DiT(**ARCH).state_dict().items():
        if k == "pos_embed":
            sd[k] = v.clone()
        elif v.dim() >= 2:
            sd[k] = torch.randn(v.shape, generator=g) / v[0].numel() ** 0.5
        else:
            sd[k] = 0.1 * torch.randn(v.shape, generator=g)
    ckpt = os.path.join(args.out, "upstream-tiny1000.safetensors")
    save_file(sd, ckpt, metadata={"num_heads": str(ARCH["num_heads"]), "input_size": str(ARCH["input_size"])})

    vae_dir = tempfile.mkdtemp()
    AutoencoderKL(block_out_channels=(32, 64), layers_per_block=1, norm_num_groups=32,
                  latent_channels=4).save_pretrained(vae_dir)

    # ---- sample.py main(), with the DiT built from ARCH and a local VAE ----
    torch.manual_seed(SEED)
    torch.set_grad_enabled(False)
    device = "cpu"
    latent_size = ARCH["input_size"]
    model = U.DiT(**ARCH).to(device)
    after_dit = torch.get_rng_state()
    model.load_state_dict(sd)
    model.eval()
    diffusion = create_diffusion(str(STEPS))
    vae = AutoencoderKL.from_pretrained(vae_dir).to(device)
    after_vae = torch.get_rng_state()
    class_labels = LABELS
    n = len(class_labels)
    z = torch.randn(n, 4, latent_size, latent_size, device=device)
    y = torch.tensor(class_labels, device=device)
    z = torch.cat([z, z], 0)
    y_null = torch.tensor([1000] * n, device=device)
    y = torch.cat([y, y_null], 0)
    model_kwargs = dict(y=y, cfg_scale=CFG)
    samples = diffusion.p_sample_loop(
        model.forward_with_cfg, z.shape, z, clip_denoised=False, model_kwargs=model_kwargs, progress=False, device=device
    )
    samples, _ = samples.chunk(2, dim=0)
    del vae
    # ---- end of sample.py ----

    dit_draws = formula_draws(model)
    assert torch.equal(advanced_by(SEED, dit_draws), after_dit), "the DiT draw formula does not match torch"
    vae_draws = 0 if torch.equal(after_vae, after_dit) else None
    if vae_draws is None:
        vae_model = AutoencoderKL.from_pretrained(vae_dir)
        vae_draws = sum(p.numel() for m in vae_model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))
                        for p in m.parameters(recurse=False))
        assert torch.equal(advanced_by(SEED, dit_draws + vae_draws), after_vae), "VAE draws: not one word per conv/linear element"
    print(f"DiT construction: {dit_draws} words; AutoencoderKL.from_pretrained: {vae_draws} words "
          f"(accelerate {'installed' if accelerate else 'not installed'})")
    out = os.path.join(args.out, f"upstream-sample-seed{SEED}.safetensors")
    save_file({"y": torch.tensor(LABELS), "samples": samples.contiguous()}, out,
              metadata={"model": os.path.basename(ckpt), "seed": str(SEED), "steps": str(STEPS), "cfg_scale": repr(CFG),
                        "dit_draws": str(dit_draws), "vae_draws": str(vae_draws), "accelerate": str(accelerate),
                        "torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability()})
    print(f"{os.path.basename(out)}: samples max|.|={samples.abs().max():.4f}")


if __name__ == "__main__":
    main()
