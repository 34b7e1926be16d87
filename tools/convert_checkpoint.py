#!/usr/bin/env python3
"""Convert DiT and VAE checkpoints into the safetensors files dit-pipe reads.

    python3 tools/convert_checkpoint.py SRC OUT.safetensors [--use ema|model] [--num-heads H]
                                        [--input-size S] [--config config.json]

SRC may be:

* an upstream facebookresearch/DiT checkpoint (.pt): a plain state_dict (the released
  DiT-XL-2-256x256.pt) or a training checkpoint {"model", "ema", "opt", "args"}, from which
  "ema" is taken unless --use model;
* a diffusers DiTTransformer2DModel (.safetensors or .bin, or its folder with config.json):
  its names are mapped back to upstream's, and the embedders it copies into every block
  are checked equal and stored once;
* a diffusers AutoencoderKL (.safetensors or .bin, or its folder): validated and written with
  current diffusers names (old attention names query/key/value/proj_attn renamed).

DiT output: upstream state_dict names, metadata num_heads, input_size, preset (when the
architecture is one of DiT-{S,B,L,XL}/{2,4,8}), source_sha256, source_layout.  Tensors keep
their dtype.  Anything unrecognised is refused with the list of unexpected keys, and nothing
is written unless the whole conversion succeeded (temp file, then rename).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

import torch

Tensors = Dict[str, torch.Tensor]

PRESETS = {"XL": (28, 1152, 16), "L": (24, 1024, 16), "B": (12, 768, 12), "S": (12, 384, 6)}


class ConversionError(Exception):
    """A checkpoint that cannot be converted; the message names the file and the problem."""


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def torch_load(path: str):
    """torch.load without executing arbitrary pickles; training checkpoints also hold
    argparse.Namespace args, which is allowed explicitly."""
    import argparse as _argparse
    try:
        torch.serialization.add_safe_globals([_argparse.Namespace])
    except AttributeError:  # torch < 2.4
        pass
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - the pickle's own error is the useful message
        raise ConversionError(f"{path}: cannot be read as a PyTorch checkpoint with weights_only=True ({e})") from e


def read_tensors(path: str, use: str) -> Tuple[Tensors, Optional[dict], str]:
    """The state_dict in SRC, the diffusers config.json beside it if any, and a note on
    which part of the file was used."""
    config = None
    if os.path.isdir(path):
        cfg_path = os.path.join(path, "config.json")
        for name in ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"):
            if os.path.exists(os.path.join(path, name)):
                if os.path.exists(cfg_path):
                    with open(cfg_path) as f:
                        config = json.load(f)
                tensors, _, note = read_tensors(os.path.join(path, name), use)
                return tensors, config, note
        raise ConversionError(f"{path}: a folder without diffusion_pytorch_model.safetensors or .bin")
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        return load_file(path), None, "safetensors"
    obj = torch_load(path)
    if not isinstance(obj, dict):
        raise ConversionError(f"{path}: unexpected structure: the pickle holds a {type(obj).__name__}, "
                              "not a state_dict or a training checkpoint dict")
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        if use != "ema":
            raise ConversionError(f"{path}: --use {use} given but the file is a plain state_dict, not a training checkpoint")
        return dict(obj), None, "state_dict"
    if "model" in obj or "ema" in obj:
        if use not in obj:
            raise ConversionError(f"{path}: training checkpoint has no '{use}' entry (it has: {sorted(obj)})")
        sd = obj[use]
        if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
            raise ConversionError(f"{path}: unexpected structure: '{use}' is not a state_dict of tensors")
        return dict(sd), None, f"training checkpoint, '{use}'"
    raise ConversionError(f"{path}: unexpected structure: a dict with keys {sorted(map(str, obj))[:12]}; expected a "
                          "state_dict of tensors or a training checkpoint with 'model'/'ema'")


# --------------------------------------------------------------------------
# Upstream DiT layout
# --------------------------------------------------------------------------

UPSTREAM_PATTERNS = [re.compile(p) for p in (
    r"x_embedder\.proj\.(weight|bias)", r"pos_embed", r"t_embedder\.mlp\.[02]\.(weight|bias)",
    r"y_embedder\.embedding_table\.weight",
    r"blocks\.\d+\.(attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2|adaLN_modulation\.1)\.(weight|bias)",
    r"final_layer\.(linear|adaLN_modulation\.1)\.(weight|bias)",
)]


def is_upstream_key(k: str) -> bool:
    return any(p.fullmatch(k) for p in UPSTREAM_PATTERNS)


def upstream_expected_shapes(sd: Tensors, path: str) -> Dict[str, Tuple[int, ...]]:
    """Every upstream key a DiT with this file's architecture has, with its shape."""
    try:
        d, c, p, _ = sd["x_embedder.proj.weight"].shape
        depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
        mlp = sd["blocks.0.mlp.fc1.weight"].shape[0]
        classes = sd["y_embedder.embedding_table.weight"].shape[0]
        out = sd["final_layer.linear.weight"].shape[0]
        freq = sd["t_embedder.mlp.0.weight"].shape[1]
    except (KeyError, ValueError) as e:
        raise ConversionError(f"{path}: not a complete upstream DiT state_dict (missing {e})") from e
    shapes = {
        "x_embedder.proj.weight": (d, c, p, p), "x_embedder.proj.bias": (d,),
        "t_embedder.mlp.0.weight": (d, freq), "t_embedder.mlp.0.bias": (d,),
        "t_embedder.mlp.2.weight": (d, d), "t_embedder.mlp.2.bias": (d,),
        "y_embedder.embedding_table.weight": (classes, d),
        "final_layer.linear.weight": (out, d), "final_layer.linear.bias": (out,),
        "final_layer.adaLN_modulation.1.weight": (2 * d, d), "final_layer.adaLN_modulation.1.bias": (2 * d,),
    }
    if "pos_embed" in sd:
        shapes["pos_embed"] = (1, sd["pos_embed"].shape[1], d)
    for i in range(depth):
        b = f"blocks.{i}."
        for name, shape in (("attn.qkv", (3 * d, d)), ("attn.proj", (d, d)), ("mlp.fc1", (mlp, d)),
                            ("mlp.fc2", (d, mlp)), ("adaLN_modulation.1", (6 * d, d))):
            shapes[b + name + ".weight"] = shape
            shapes[b + name + ".bias"] = shape[:1]
    return shapes


def check_upstream(sd: Tensors, path: str) -> None:
    unexpected = sorted(k for k in sd if not is_upstream_key(k))
    if unexpected:
        raise ConversionError(f"{path}: unknown layout; unexpected keys: {unexpected[:20]}"
                              + (f" and {len(unexpected) - 20} more" if len(unexpected) > 20 else ""))
    expected = upstream_expected_shapes(sd, path)
    missing = sorted(set(expected) - set(sd))
    if missing:
        raise ConversionError(f"{path}: missing keys for a {len([k for k in expected if k.endswith('attn.qkv.weight')])}"
                              f"-block DiT: {missing[:20]}")
    extra = sorted(set(sd) - set(expected))
    if extra:
        raise ConversionError(f"{path}: unexpected keys (beyond the blocks found): {extra[:20]}")
    for k, shape in expected.items():
        if tuple(sd[k].shape) != shape:
            raise ConversionError(f"{path}: tensor '{k}' has shape {tuple(sd[k].shape)} but the architecture needs {shape}")


def dit_metadata(sd: Tensors, num_heads: Optional[int], input_size: Optional[int], path: str) -> Dict[str, str]:
    d, _, p, _ = sd["x_embedder.proj.weight"].shape
    depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
    if "pos_embed" in sd:
        grid = int(round(math.sqrt(sd["pos_embed"].shape[1])))
        if grid * grid != sd["pos_embed"].shape[1]:
            raise ConversionError(f"{path}: pos_embed has {sd['pos_embed'].shape[1]} tokens, not a square grid")
        if input_size is not None and input_size != grid * p:
            raise ConversionError(f"{path}: --input-size {input_size} contradicts pos_embed, which means {grid * p}")
        input_size = grid * p
    if input_size is None:
        raise ConversionError(f"{path}: the file has no pos_embed, so the latent input size is unknown; pass --input-size "
                              "(32 for 256 px images, 64 for 512 px) or the model's config.json")
    preset = next((name for name, (pd, ph, _) in PRESETS.items() if (pd, ph) == (depth, d)), None)
    if num_heads is None:
        if preset is None:
            raise ConversionError(f"{path}: hidden size {d} with depth {depth} is no preset; pass --num-heads")
        num_heads = PRESETS[preset][2]
    if d % num_heads:
        raise ConversionError(f"{path}: hidden size {d} does not split into {num_heads} heads")
    md = {"num_heads": str(num_heads), "input_size": str(input_size)}
    if preset is not None and PRESETS[preset][2] == num_heads and p in (2, 4, 8):
        md["preset"] = f"DiT-{preset}/{p}"
    return md


# --------------------------------------------------------------------------
# diffusers DiTTransformer2DModel layout
# --------------------------------------------------------------------------

# diffusers name (per block: {i}) -> upstream name; embedders copied into every block.
DIFFUSERS_DIT_RENAMES = {
    "pos_embed.proj.{p}": "x_embedder.proj.{p}",
    "transformer_blocks.{i}.norm1.linear.{p}": "blocks.{i}.adaLN_modulation.1.{p}",
    "transformer_blocks.{i}.attn1.to_out.0.{p}": "blocks.{i}.attn.proj.{p}",
    "transformer_blocks.{i}.ff.net.0.proj.{p}": "blocks.{i}.mlp.fc1.{p}",
    "transformer_blocks.{i}.ff.net.2.{p}": "blocks.{i}.mlp.fc2.{p}",
    "proj_out_1.{p}": "final_layer.adaLN_modulation.1.{p}",
    "proj_out_2.{p}": "final_layer.linear.{p}",
}
DIFFUSERS_DIT_SHARED = {
    "transformer_blocks.{i}.norm1.emb.timestep_embedder.linear_1.{p}": "t_embedder.mlp.0.{p}",
    "transformer_blocks.{i}.norm1.emb.timestep_embedder.linear_2.{p}": "t_embedder.mlp.2.{p}",
    "transformer_blocks.{i}.norm1.emb.class_embedder.embedding_table.weight": "y_embedder.embedding_table.weight",
}
DIFFUSERS_QKV = "transformer_blocks.{i}.attn1.to_{part}.{p}"


def _pattern(template: str) -> re.Pattern:
    rx = re.escape(template).replace(r"\{i\}", r"(?P<i>\d+)").replace(r"\{p\}", r"(?P<p>weight|bias)")
    return re.compile(rx.replace(r"\{part\}", r"(?P<part>[qkv])"))


def from_diffusers_dit(sd: Tensors, path: str) -> Tensors:
    renames = [(_pattern(k), v) for k, v in DIFFUSERS_DIT_RENAMES.items()]
    shared = [(_pattern(k), v) for k, v in DIFFUSERS_DIT_SHARED.items()]
    qkv_rx = _pattern(DIFFUSERS_QKV)
    out: Tensors = {}
    qkv: Dict[Tuple[int, str], Dict[str, torch.Tensor]] = {}
    copies: Dict[str, List[Tuple[str, torch.Tensor]]] = {}
    unexpected = []
    for key, t in sd.items():
        for rx, target in renames:
            m = rx.fullmatch(key)
            if m:
                out[target.format(**m.groupdict())] = t
                break
        else:
            for rx, target in shared:
                m = rx.fullmatch(key)
                if m:
                    copies.setdefault(target.format(p=m.groupdict().get("p")), []).append((key, t))
                    break
            else:
                m = qkv_rx.fullmatch(key)
                if m:
                    qkv.setdefault((int(m["i"]), m["p"]), {})[m["part"]] = t
                else:
                    unexpected.append(key)
    if unexpected:
        raise ConversionError(f"{path}: unknown layout; keys not in a diffusers DiTTransformer2DModel: {sorted(unexpected)[:20]}")
    for (i, p), parts in sorted(qkv.items()):
        if set(parts) != {"q", "k", "v"}:
            raise ConversionError(f"{path}: block {i} {p}: has to_{sorted(parts)} but needs to_q, to_k and to_v")
        out[f"blocks.{i}.attn.qkv.{p}"] = torch.cat([parts["q"], parts["k"], parts["v"]], dim=0)
    blocks = {int(k.split(".")[1]) for k in sd if k.startswith("transformer_blocks.")}
    for target, found in sorted(copies.items()):
        if len(found) != len(blocks):
            raise ConversionError(f"{path}: '{target}' is copied into {len(found)} of {len(blocks)} blocks; expected one copy per block")
        first_key, first = found[0]
        for key, t in found[1:]:
            if t.shape != first.shape or not torch.equal(t, first):
                raise ConversionError(f"{path}: the per-block copies of '{target}' differ ('{first_key}' vs '{key}'); "
                                      "upstream DiT has one shared embedder, so this model cannot be converted")
        out[target] = first
    return out


# --------------------------------------------------------------------------
# diffusers AutoencoderKL layout
# --------------------------------------------------------------------------

VAE_OLD_NAMES = {".query.": ".to_q.", ".key.": ".to_k.", ".value.": ".to_v.", ".proj_attn.": ".to_out.0."}


def vae_expected_decoder_shapes(sd: Tensors, path: str) -> Dict[str, Tuple[int, ...]]:
    """Decoder + post_quant_conv keys of an AutoencoderKL with this file's architecture
    (the same inference as Sources/Stages/Model/VAE/VAEWeights.swift)."""
    try:
        latent = sd["post_quant_conv.weight"].shape[0]
        blocks = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("decoder.up_blocks."))
        resnets = 1 + max(int(k.split(".")[4]) for k in sd if k.startswith("decoder.up_blocks.0.resnets."))
        rev = [sd[f"decoder.up_blocks.{i}.resnets.0.conv1.weight"].shape[0] for i in range(blocks)]
        out_ch = sd["decoder.conv_out.weight"].shape[0]
    except (KeyError, ValueError) as e:
        raise ConversionError(f"{path}: not a complete diffusers AutoencoderKL decoder (missing {e})") from e
    shapes: Dict[str, Tuple[int, ...]] = {}

    def conv(pre, cin, cout, k):
        shapes[pre + ".weight"], shapes[pre + ".bias"] = (cout, cin, k, k), (cout,)

    def norm(pre, ch):
        shapes[pre + ".weight"], shapes[pre + ".bias"] = (ch,), (ch,)

    def resnet(pre, cin, cout):
        norm(pre + ".norm1", cin), conv(pre + ".conv1", cin, cout, 3), norm(pre + ".norm2", cout)
        conv(pre + ".conv2", cout, cout, 3)
        if cin != cout:
            conv(pre + ".conv_shortcut", cin, cout, 1)

    top = rev[0]
    conv("post_quant_conv", latent, latent, 1)
    conv("decoder.conv_in", latent, top, 3)
    resnet("decoder.mid_block.resnets.0", top, top)
    norm("decoder.mid_block.attentions.0.group_norm", top)
    for p in ("to_q", "to_k", "to_v", "to_out.0"):
        shapes[f"decoder.mid_block.attentions.0.{p}.weight"] = (top, top)
        shapes[f"decoder.mid_block.attentions.0.{p}.bias"] = (top,)
    resnet("decoder.mid_block.resnets.1", top, top)
    for i in range(blocks):
        cin, cout = rev[max(0, i - 1)], rev[i]
        for j in range(resnets):
            resnet(f"decoder.up_blocks.{i}.resnets.{j}", cin if j == 0 else cout, cout)
        if i < blocks - 1:
            conv(f"decoder.up_blocks.{i}.upsamplers.0.conv", cout, cout, 3)
    norm("decoder.conv_norm_out", rev[-1])
    conv("decoder.conv_out", rev[-1], out_ch, 3)
    return shapes


def convert_vae(sd: Tensors, path: str) -> Tuple[Tensors, Dict[str, str]]:
    out: Tensors = {}
    for key, t in sd.items():
        new = key
        for old, cur in VAE_OLD_NAMES.items():
            new = new.replace(old, cur)
        if new != key and t.ndim == 4 and t.shape[2:] == (1, 1):
            t = t[:, :, 0, 0]  # attention projections once stored as 1x1 convolutions
        if new in out:
            raise ConversionError(f"{path}: '{key}' and another key both become '{new}'")
        out[new] = t.contiguous()
    unexpected = sorted(k for k in out if not k.split(".")[0] in ("encoder", "decoder", "quant_conv", "post_quant_conv"))
    if unexpected:
        raise ConversionError(f"{path}: unknown layout; keys not in a diffusers AutoencoderKL: {unexpected[:20]}")
    expected = vae_expected_decoder_shapes(out, path)
    decoder_keys = {k for k in out if k.startswith("decoder.") or k.startswith("post_quant_conv.")}
    missing = sorted(set(expected) - decoder_keys)
    extra = sorted(decoder_keys - set(expected))
    if missing:
        raise ConversionError(f"{path}: AutoencoderKL decoder is missing keys: {missing[:20]}")
    if extra:
        raise ConversionError(f"{path}: unexpected keys for this AutoencoderKL decoder: {extra[:20]}")
    for k, shape in expected.items():
        if tuple(out[k].shape) != shape:
            raise ConversionError(f"{path}: tensor '{k}' has shape {tuple(out[k].shape)} but the decoder needs {shape}")
    rev = [out[f"decoder.up_blocks.{i}.resnets.0.conv1.weight"].shape[0]
           for i in range(1 + max(int(k.split(".")[2]) for k in out if k.startswith("decoder.up_blocks.")))]
    md = {"format": "diffusers-AutoencoderKL", "latent_channels": str(out["post_quant_conv.weight"].shape[0]),
          "block_out_channels": json.dumps(rev[::-1])}
    return out, md


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def detect_layout(sd: Tensors) -> str:
    if "x_embedder.proj.weight" in sd:
        return "upstream"
    if "pos_embed.proj.weight" in sd or any(k.startswith("transformer_blocks.") for k in sd):
        return "diffusers-dit"
    if any(k.startswith(("decoder.", "encoder.", "post_quant_conv.")) for k in sd):
        return "diffusers-vae"
    return "unknown"


def convert(src: str, use: str = "ema", num_heads: Optional[int] = None, input_size: Optional[int] = None,
            config: Optional[dict] = None) -> Tuple[Tensors, Dict[str, str]]:
    """The tensors and metadata to write for SRC (see the module docstring)."""
    if not os.path.exists(src):
        raise ConversionError(f"{src}: no such file")
    sd, folder_config, note = read_tensors(src, use)
    config = config or folder_config or {}
    if not sd:
        raise ConversionError(f"{src}: holds no tensors")
    layout = detect_layout(sd)
    if layout == "unknown":
        raise ConversionError(f"{src}: unknown layout (neither upstream DiT, diffusers DiTTransformer2DModel nor "
                              f"AutoencoderKL); unexpected keys: {sorted(sd)[:20]}")
    weights = src if os.path.isfile(src) else next(
        os.path.join(src, n) for n in ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")
        if os.path.exists(os.path.join(src, n)))
    md = {"source_sha256": sha256(weights), "source_layout": f"{layout} ({note})"}
    if layout == "diffusers-vae":
        out, vae_md = convert_vae(sd, src)
        md.update(vae_md)
        return out, md
    if layout == "diffusers-dit":
        sd = from_diffusers_dit(sd, src)
        num_heads = num_heads or config.get("num_attention_heads")
        input_size = input_size or config.get("sample_size")
    check_upstream(sd, src)
    md.update(dit_metadata(sd, num_heads, input_size, src))
    return {k: v.contiguous() for k, v in sd.items()}, md


def write_atomically(tensors: Tensors, metadata: Dict[str, str], out: str) -> None:
    from safetensors.torch import save_file
    directory = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(out) + ".", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        save_file({k: v.detach().contiguous() for k, v in sorted(tensors.items())}, tmp, metadata=metadata)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", help=".pt, .bin, .safetensors, or a diffusers model folder")
    ap.add_argument("out", help="safetensors file to write")
    ap.add_argument("--use", choices=("ema", "model"), default="ema", help="weights of a training checkpoint (default ema)")
    ap.add_argument("--num-heads", type=int, help="attention heads, when the architecture is no preset")
    ap.add_argument("--input-size", type=int, help="latent size, when the file has no pos_embed (diffusers)")
    ap.add_argument("--config", help="diffusers config.json (num_attention_heads, sample_size)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    config = None
    if args.config:
        with open(args.config) as f:
            config = json.load(f)
    try:
        tensors, md = convert(args.src, args.use, args.num_heads, args.input_size, config)
        write_atomically(tensors, md, args.out)
    except ConversionError as e:
        print(f"convert_checkpoint: {e}", file=sys.stderr)
        return 1
    print(f"{args.out}: {len(tensors)} tensors, " + ", ".join(f"{k} {v}" for k, v in sorted(md.items()) if k != "source_sha256"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
