#!/usr/bin/env python3
"""Random-weight DiT checkpoint with upstream names (numpy only, for tests/benchmarks).

    python3 tools/make_random_checkpoint.py OUT.safetensors --preset DiT-S/2 [--input-size 32]
    python3 tools/make_random_checkpoint.py OUT.safetensors --hidden 64 --depth 4 --heads 4 ...
    python3 tools/make_random_checkpoint.py DiT-XL-2-256x256.pt --preset DiT-XL/2   # needs torch

An OUT ending in .pt is written as upstream released its checkpoints: torch.save of the
plain state_dict (float32, upstream names), to rehearse tools/convert_checkpoint.py.

Weights are drawn so every layer (adaLN and final layer included, unlike
upstream's zero init) is live and activations stay O(1).
"""
import argparse
import json
import struct

import numpy as np

PRESETS = {"XL": (28, 1152, 16), "L": (24, 1024, 16), "B": (12, 768, 12), "S": (12, 384, 6)}


def pos_embed(dim, grid):
    w = 1.0 / 10000 ** (np.arange(dim // 4, dtype=np.float64) / (dim / 4.0))
    cols, rows = np.meshgrid(np.arange(grid, dtype=np.float32), np.arange(grid, dtype=np.float32))

    def axis(p):
        a = np.outer(p.reshape(-1), w)
        return np.concatenate([np.sin(a), np.cos(a)], axis=1)

    return np.concatenate([axis(cols), axis(rows)], axis=1)[None].astype(np.float32)


def build(depth, hidden, heads, patch, input_size, channels, classes, mlp_ratio, learn_sigma, seed):
    rng = np.random.default_rng(seed)
    d, m = hidden, int(hidden * mlp_ratio)
    out_c = 2 * channels if learn_sigma else channels

    def n(shape, std):
        return (rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32)

    sd = {
        "x_embedder.proj.weight": n((d, channels, patch, patch), 1 / np.sqrt(channels * patch * patch)),
        "x_embedder.proj.bias": n((d,), 0.1),
        "pos_embed": pos_embed(d, input_size // patch),
        "t_embedder.mlp.0.weight": n((d, 256), 1.5 / 16), "t_embedder.mlp.0.bias": n((d,), 0.1),
        "t_embedder.mlp.2.weight": n((d, d), 1 / np.sqrt(d)), "t_embedder.mlp.2.bias": n((d,), 0.1),
        "y_embedder.embedding_table.weight": n((classes + 1, d), 0.7),
        "final_layer.linear.weight": n((patch * patch * out_c, d), 1 / np.sqrt(d)),
        "final_layer.linear.bias": n((patch * patch * out_c,), 0.1),
        "final_layer.adaLN_modulation.1.weight": n((2 * d, d), 0.6 / np.sqrt(d)),
        "final_layer.adaLN_modulation.1.bias": n((2 * d,), 0.2),
    }
    for i in range(depth):
        b = f"blocks.{i}."
        sd.update({
            b + "attn.qkv.weight": n((3 * d, d), 1 / np.sqrt(d)), b + "attn.qkv.bias": n((3 * d,), 0.1),
            b + "attn.proj.weight": n((d, d), 1 / np.sqrt(d)), b + "attn.proj.bias": n((d,), 0.1),
            b + "mlp.fc1.weight": n((m, d), 1 / np.sqrt(d)), b + "mlp.fc1.bias": n((m,), 0.1),
            b + "mlp.fc2.weight": n((d, m), 1 / np.sqrt(m)), b + "mlp.fc2.bias": n((d,), 0.1),
            b + "adaLN_modulation.1.weight": n((6 * d, d), 0.6 / np.sqrt(d)),
            b + "adaLN_modulation.1.bias": n((6 * d,), 0.2),
        })
    return sd


def save(path, tensors, metadata):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k], dtype="<f4")
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for blob in blobs:
            f.write(blob)
    import os
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--preset")
    p.add_argument("--input-size", type=int, default=32)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--patch", type=int, default=2)
    p.add_argument("--channels", type=int, default=4)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--mlp-ratio", type=float, default=4.0)
    p.add_argument("--no-learn-sigma", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.preset:
        size, patch = a.preset.replace("DiT-", "").split("/")
        a.depth, a.hidden, a.heads = PRESETS[size]
        a.patch = int(patch)
    sd = build(a.depth, a.hidden, a.heads, a.patch, a.input_size, a.channels, a.classes, a.mlp_ratio,
               not a.no_learn_sigma, a.seed)
    if a.out.endswith(".pt"):
        import torch
        torch.save({k: torch.from_numpy(v) for k, v in sd.items()}, a.out)
        return
    save(a.out, sd, {"num_heads": str(a.heads), "source": "tools/make_random_checkpoint.py", "seed": str(a.seed)})


if __name__ == "__main__":
    main()
