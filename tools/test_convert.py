"""Tests for tools/convert_checkpoint.py (pytest; CPU, a few seconds).

    python3 -m pytest tools/test_convert.py -q
"""

from __future__ import annotations

import argparse
import os
import sys

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_checkpoint as C  # noqa: E402
import dit_reference as R  # noqa: E402

torch.set_num_threads(1)

CFG = R.DiTConfig(input_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=3, num_heads=2,
                  mlp_ratio=4.0, num_classes=10, learn_sigma=True)


def upstream_sd(seed: int = 1) -> dict:
    model = R.DiT(CFG)
    R.randomize_weights(model, seed)
    return R.upstream_state_dict(model)


def read(path: str):
    with safe_open(path, framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def assert_identical(got: dict, want: dict) -> None:
    assert sorted(got) == sorted(want)
    for k in want:
        assert got[k].dtype == want[k].dtype and torch.equal(got[k], want[k]), k


def run(tmp_path, src, *flags) -> str:
    out = str(tmp_path / "out.safetensors")
    assert C.main([str(src), out, *flags]) == 0
    return out


def refused(tmp_path, src, *flags, match: str) -> None:
    out = tmp_path / "refused.safetensors"
    with pytest.raises(C.ConversionError, match=match):
        C.convert(str(src), *flags)
    assert C.main([str(src), str(out)]) == 1
    assert not out.exists() and not [p for p in os.listdir(tmp_path) if p.startswith(".refused")]


# -- upstream .pt ---------------------------------------------------------------

def test_plain_state_dict_round_trips(tmp_path):
    sd = upstream_sd()
    src = tmp_path / "DiT-tiny.pt"
    torch.save(sd, src)
    tensors, md = read(run(tmp_path, src, "--num-heads", "2"))
    assert_identical(tensors, sd)
    assert md["num_heads"] == "2" and md["input_size"] == "8"
    assert md["source_sha256"] == C.sha256(str(src)) and "preset" not in md
    # The converted file loads into the reference model with strict key checking.
    model = R.DiT(CFG)
    model.load_state_dict(tensors)
    # Without --num-heads a non-preset architecture is refused.
    with pytest.raises(C.ConversionError, match="pass --num-heads"):
        C.convert(str(src))


def test_training_checkpoint_takes_ema_unless_told(tmp_path):
    model, ema = upstream_sd(1), upstream_sd(2)
    src = tmp_path / "0400000.pt"
    torch.save({"model": model, "ema": ema, "opt": {"state": {}, "param_groups": []},
                "args": argparse.Namespace(model="DiT-XL/2", image_size=256)}, src)
    assert_identical(read(run(tmp_path, src, "--num-heads", "2"))[0], ema)
    assert_identical(read(run(tmp_path, src, "--num-heads", "2", "--use", "model"))[0], model)


def test_preset_is_named(tmp_path):
    cfg = R.DiTConfig(input_size=4, patch_size=4, in_channels=4, hidden_size=384, depth=12, num_heads=6,
                      mlp_ratio=0.25, num_classes=2, learn_sigma=False)
    sd = R.upstream_state_dict(R.DiT(cfg))
    src = tmp_path / "s4.pt"
    torch.save(sd, src)
    md = read(run(tmp_path, src))[1]
    assert md["preset"] == "DiT-S/4" and md["num_heads"] == "6"


def test_unexpected_structure_and_keys_are_refused(tmp_path):
    torch.save([1, 2, 3], tmp_path / "list.pt")
    refused(tmp_path, tmp_path / "list.pt", match="unexpected structure: the pickle holds a list")
    torch.save({"weights": {"a": 1}, "step": 3}, tmp_path / "dict.pt")
    refused(tmp_path, tmp_path / "dict.pt", match=r"unexpected structure: a dict with keys \['step', 'weights'\]")
    sd = upstream_sd()
    sd["blocks.0.attn.rope.freqs"] = torch.zeros(3)
    torch.save(sd, tmp_path / "extra.pt")
    refused(tmp_path, tmp_path / "extra.pt", match=r"unexpected keys: \['blocks.0.attn.rope.freqs'\]")
    sd = upstream_sd()
    del sd["blocks.1.mlp.fc2.bias"]
    torch.save(sd, tmp_path / "missing.pt")
    refused(tmp_path, tmp_path / "missing.pt", match=r"missing keys .*blocks.1.mlp.fc2.bias")
    save_file({"foo.weight": torch.zeros(2)}, str(tmp_path / "foo.safetensors"))
    refused(tmp_path, tmp_path / "foo.safetensors", match=r"unknown layout.*'foo.weight'")


# -- diffusers DiTTransformer2DModel ---------------------------------------------

def diffusers_dit_from_upstream(sd: dict):
    """A DiTTransformer2DModel holding the upstream weights, mapped as diffusers'
    scripts/convert_dit_to_diffusers.py does (written out independently here)."""
    diffusers = pytest.importorskip("diffusers")
    model = diffusers.DiTTransformer2DModel(
        num_attention_heads=CFG.num_heads, attention_head_dim=CFG.hidden_size // CFG.num_heads,
        in_channels=CFG.in_channels, out_channels=CFG.out_channels, num_layers=CFG.depth,
        sample_size=CFG.input_size, patch_size=CFG.patch_size, num_embeds_ada_norm=CFG.num_classes)
    d = {"pos_embed.proj.weight": sd["x_embedder.proj.weight"], "pos_embed.proj.bias": sd["x_embedder.proj.bias"],
         "proj_out_1.weight": sd["final_layer.adaLN_modulation.1.weight"],
         "proj_out_1.bias": sd["final_layer.adaLN_modulation.1.bias"],
         "proj_out_2.weight": sd["final_layer.linear.weight"], "proj_out_2.bias": sd["final_layer.linear.bias"]}
    for i in range(CFG.depth):
        b, u = f"transformer_blocks.{i}.", f"blocks.{i}."
        for p in ("weight", "bias"):
            d[b + f"norm1.emb.timestep_embedder.linear_1.{p}"] = sd[f"t_embedder.mlp.0.{p}"]
            d[b + f"norm1.emb.timestep_embedder.linear_2.{p}"] = sd[f"t_embedder.mlp.2.{p}"]
            d[b + f"norm1.linear.{p}"] = sd[u + f"adaLN_modulation.1.{p}"]
            q, k, v = sd[u + f"attn.qkv.{p}"].chunk(3, dim=0)
            d[b + f"attn1.to_q.{p}"], d[b + f"attn1.to_k.{p}"], d[b + f"attn1.to_v.{p}"] = q, k, v
            d[b + f"attn1.to_out.0.{p}"] = sd[u + f"attn.proj.{p}"]
            d[b + f"ff.net.0.proj.{p}"] = sd[u + f"mlp.fc1.{p}"]
            d[b + f"ff.net.2.{p}"] = sd[u + f"mlp.fc2.{p}"]
        d[b + "norm1.emb.class_embedder.embedding_table.weight"] = sd["y_embedder.embedding_table.weight"]
    model.load_state_dict(d, strict=True)  # the key set is exactly diffusers'
    return model


def test_diffusers_dit_round_trips(tmp_path):
    sd = upstream_sd()
    model = diffusers_dit_from_upstream(sd)
    folder = tmp_path / "transformer"
    model.save_pretrained(str(folder))  # config.json + diffusion_pytorch_model.safetensors
    tensors, md = read(run(tmp_path, folder))
    want = {k: v for k, v in sd.items() if k != "pos_embed"}  # diffusers computes pos_embed
    assert_identical(tensors, want)
    assert md["num_heads"] == "2" and md["input_size"] == "8" and md["source_layout"].startswith("diffusers-dit")
    # A bare file needs the sizes from flags.
    bare = folder / "diffusion_pytorch_model.safetensors"
    with pytest.raises(C.ConversionError, match="--input-size"):
        C.convert(str(bare), num_heads=2)
    assert_identical(read(run(tmp_path, bare, "--num-heads", "2", "--input-size", "8"))[0], want)


def test_diffusers_dit_with_unequal_embedder_copies_is_refused(tmp_path):
    model = diffusers_dit_from_upstream(upstream_sd())
    d = {k: v.clone() for k, v in model.state_dict().items()}
    d["transformer_blocks.2.norm1.emb.timestep_embedder.linear_2.bias"][0] += 1e-3
    save_file(d, str(tmp_path / "dit.safetensors"))
    refused(tmp_path, tmp_path / "dit.safetensors", match="copies of 't_embedder.mlp.2.bias' differ")
    d = {k: v for k, v in model.state_dict().items() if k != "transformer_blocks.1.attn1.to_k.weight"}
    d["transformer_blocks.0.attn1.rotary.weight"] = torch.zeros(2)
    save_file(d, str(tmp_path / "dit2.safetensors"))
    refused(tmp_path, tmp_path / "dit2.safetensors", match=r"not in a diffusers DiTTransformer2DModel: \['transformer_blocks.0.attn1.rotary.weight'\]")


# -- diffusers AutoencoderKL --------------------------------------------------------

def tiny_vae():
    diffusers = pytest.importorskip("diffusers")
    torch.manual_seed(0)
    return diffusers.AutoencoderKL(block_out_channels=(32, 64), layers_per_block=1, norm_num_groups=32,
                                   latent_channels=4, down_block_types=("DownEncoderBlock2D",) * 2,
                                   up_block_types=("UpDecoderBlock2D",) * 2)


def test_vae_passes_through_and_old_attention_names_are_renamed(tmp_path):
    sd = {k: v.contiguous() for k, v in tiny_vae().state_dict().items()}
    torch.save(sd, tmp_path / "diffusion_pytorch_model.bin")
    tensors, md = read(run(tmp_path, tmp_path / "diffusion_pytorch_model.bin"))
    assert_identical(tensors, sd)
    assert md["format"] == "diffusers-AutoencoderKL" and md["block_out_channels"] == "[32, 64]"
    old = {}
    for k, v in sd.items():
        for new, o in (("to_q", "query"), ("to_k", "key"), ("to_v", "value"), ("to_out.0", "proj_attn")):
            if f".{new}." in k:
                k, v = k.replace(f".{new}.", f".{o}."), v[:, :, None, None] if v.ndim == 2 else v
        old[k] = v
    save_file(old, str(tmp_path / "old.safetensors"))
    assert_identical(read(run(tmp_path, tmp_path / "old.safetensors"))[0], sd)


def test_vae_with_missing_or_extra_keys_is_refused(tmp_path):
    sd = tiny_vae().state_dict()
    save_file({k: v for k, v in sd.items() if k != "decoder.conv_norm_out.bias"}, str(tmp_path / "a.safetensors"))
    refused(tmp_path, tmp_path / "a.safetensors", match=r"missing keys: \['decoder.conv_norm_out.bias'\]")
    save_file({**sd, "decoder.up_blocks.0.upsamplers.1.conv.weight": torch.zeros(1)}, str(tmp_path / "b.safetensors"))
    refused(tmp_path, tmp_path / "b.safetensors", match=r"unexpected keys.*upsamplers.1.conv.weight")
    save_file({**sd, "decoder.conv_out.bias": torch.zeros(4)}, str(tmp_path / "c.safetensors"))
    refused(tmp_path, tmp_path / "c.safetensors", match=r"'decoder.conv_out.bias' has shape \(4,\) but the decoder needs \(3,\)")


# -- dit forward on converted files ---------------------------------------------

DIT = os.environ.get("DIT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "dit"))


@pytest.mark.skipif(not os.path.exists(DIT), reason="needs the dit binary (DIT=... or .build/release/dit)")
def test_dit_forward_on_converted_files_matches_the_reference(tmp_path):
    import subprocess

    import h5py

    sd = upstream_sd(3)
    model = R.DiT(CFG)
    model.load_state_dict(sd)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(3, CFG.in_channels, CFG.input_size, CFG.input_size, generator=g)
    t = torch.tensor([0, 499, 999], dtype=torch.int64)
    y = torch.tensor([1, 7, CFG.num_classes], dtype=torch.int64)
    with torch.no_grad():
        ref = model(x, t, y).numpy()
    save_file({"x": x, "t": t, "y": y}, str(tmp_path / "in.safetensors"))
    torch.save({"model": sd, "ema": sd, "opt": {}}, tmp_path / "train.pt")
    folder = tmp_path / "transformer"
    diffusers_dit_from_upstream(sd).save_pretrained(str(folder))
    for name, src in [("upstream training checkpoint", tmp_path / "train.pt"), ("diffusers layout", folder)]:
        converted = str(tmp_path / "converted.safetensors")
        assert C.main([str(src), converted, "--num-heads", "2"]) == 0, name
        out = tmp_path / "out.h5"
        subprocess.run([DIT, "forward", "--checkpoint", converted, "--input", str(tmp_path / "in.safetensors"),
                        "--output", str(out)], check=True, capture_output=True)
        got = h5py.File(out)["out"][:]
        tol = 1e-5 * max(1.0, float(abs(ref).max()))
        assert got.shape == ref.shape and float(abs(got - ref).max()) <= tol, (name, float(abs(got - ref).max()), tol)
        os.remove(converted)
