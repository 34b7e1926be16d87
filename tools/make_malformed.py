#!/usr/bin/env python3
"""Write a corpus of malformed and valid-but-unusual safetensors files for
scripts/test-malformed.sh, with a manifest of what each must do.

    python3 tools/make_malformed.py OUTDIR

Derived from the committed fixtures (fwd-tiny-p2 and its inputs). Each case in
OUTDIR/manifest.json is one of:
  {"name", "role": "checkpoint"|"input"|"noise", "file", "error": REGEX}   dit must refuse it, naming the problem;
  {"name", "role": "valid", "file", "reference"}   dit forward must give /out bitwise equal to the reference's.
"""

import json
import os
import struct
import sys

import numpy as np

FIX = "Tests/Fixtures"
DT = {"F32": "<f4", "F16": "<f2", "BF16": None, "I64": "<i8", "I32": "<i4", "F64": "<f8", "U8": "u1", "BOOL": "u1"}


def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", None)
    out = {}
    for k, v in h.items():
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype=DT[v["dtype"]]).reshape(v["shape"]).copy()
    return out, meta


def encode(a, code):
    if code == "BF16":
        bits = np.ascontiguousarray(a, np.float32).view(np.uint32)
        return (bits >> 16).astype("<u2").tobytes()
    return np.ascontiguousarray(a, DT[code]).tobytes()


def code_of(a):
    return {"float32": "F32", "float16": "F16", "int64": "I64", "int32": "I32", "float64": "F64", "uint8": "U8"}[a.dtype.name]


def write(path, tensors, meta=None, codes=None, order=None, pad=0, unaligned=0,
          raw_header=None, header_length=None, tail=b"", hole=None, entries=None):
    """tensors: name -> array; codes: name -> dtype code to store as; order:
    the data-area order (default header order); pad: spaces after the JSON;
    unaligned: extra spaces so the data start is not 8-byte aligned; hole:
    (name, bytes) inserted before that tensor's data; entries: name -> dict
    merged into (or replacing, when given a non-dict) its header entry."""
    codes = codes or {}
    blobs = {k: encode(a, codes.get(k, code_of(a))) for k, a in tensors.items()}
    order = order or list(tensors)
    offsets, off = {}, 0
    for k in order:
        if hole and hole[0] == k:
            off += hole[1]
        offsets[k] = (off, off + len(blobs[k]))
        off += len(blobs[k])
    h = {"__metadata__": meta} if meta else {}
    for k, a in tensors.items():
        h[k] = {"dtype": codes.get(k, code_of(a)), "shape": list(a.shape), "data_offsets": list(offsets[k])}
        if entries and k in entries:
            h[k] = entries[k] if not isinstance(entries[k], dict) else {**h[k], **entries[k]}
    j = raw_header if raw_header is not None else json.dumps(h).encode()
    if raw_header is None:
        j += b" " * (-len(j) % 8 + pad + unaligned)
    data = bytearray()
    for k in order:
        if hole and hole[0] == k:
            data += b"\0" * hole[1]
        data += blobs[k]
    n = len(j) if header_length is None else header_length
    open(path, "wb").write(struct.pack("<Q", n) + j + bytes(data) + tail)


def main(out):
    os.makedirs(out, exist_ok=True)
    w, meta = read(f"{FIX}/fwd-tiny-p2.safetensors")
    io, _ = read(f"{FIX}/fwd-tiny-p2-io.safetensors")
    cases = []

    def bad(name, error, role="checkpoint", **kw):
        f = f"{out}/{name}.safetensors"
        write(f, kw.pop("tensors", w if role == "checkpoint" else io), kw.pop("meta", meta if role == "checkpoint" else None), **kw)
        cases.append({"name": name, "role": role, "file": f, "error": error})

    def raw(name, data, error, role="checkpoint"):
        f = f"{out}/{name}.safetensors"
        open(f, "wb").write(data)
        cases.append({"name": name, "role": role, "file": f, "error": error})

    q = "blocks.0.attn.qkv.bias"
    hdr = lambda obj: (lambda j: struct.pack("<Q", len(j)) + j)(json.dumps(obj).encode())
    good = open(f"{FIX}/fwd-tiny-p2.safetensors", "rb").read()

    # The header length and the header itself.
    for n, label in [(2**63, "2^63"), (2**64 - 1, "2^64-1"), (200_000_000, "200MB"), (len(good), "past-end")]:
        raw(f"header-length-{label}", struct.pack("<Q", n) + good[8:], r"not a safetensors file|truncated|header length")
    raw("header-length-0", struct.pack("<Q", 0) + good[8:], r"not a safetensors file")
    raw("header-length-short", struct.pack("<Q", 40) + good[8:], r"not a safetensors file \(its header is not valid")
    raw("short-file", b"\x01\x02\x03", r"not a safetensors file")
    raw("empty", b"", r"the file is empty")
    raw("text", b"this is not a checkpoint, just some text\n" * 4, r"not a safetensors file")
    raw("header-not-json", hdr("x")[:8] + b"{not json}" + b"\0" * 8, r"not a safetensors file \(its header is not valid")
    raw("header-array", hdr([1, 2, 3]), r"not a safetensors file")
    raw("header-nested-deep", struct.pack("<Q", 40000) + b"{\"a\":" + b"[" * 39995, r"nesting deeper")
    raw("header-unterminated", struct.pack("<Q", 11) + b'{"abc": "de', r"an unterminated string")
    raw("header-bad-utf8", struct.pack("<Q", 8) + b'{"\xff\xfe":1}', r"not UTF-8")
    raw("header-nul-padding", (lambda j: struct.pack("<Q", len(j) + 8) + j + b"\0" * 8)(json.dumps({}).encode()), r"unexpected bytes after")
    raw("pytorch-zip", b"PK\x03\x04" + b"\0" * 200, r"PyTorch file .*tools/convert_checkpoint.py")
    raw("pytorch-pickle", b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19." + b"\0" * 100, r"PyTorch file .*tools/convert_checkpoint.py")
    raw("truncated", good[: len(good) // 2], r"truncated")

    # Keys, entries, shapes and offsets.
    dup = json.dumps({q: {"dtype": "F32", "shape": [192], "data_offsets": [0, 768]}})
    raw("duplicate-key", (lambda j: struct.pack("<Q", len(j)) + j + b"\0" * 768)(
        ("{" + dup[1:-1] + "," + dup[1:-1] + "}").encode()), rf"duplicate key '{q}'")
    bad("trailing-bytes", r"16 unindexed bytes at the end", tail=b"\0" * 16)
    bad("hole", r"64 unindexed bytes between tensors", hole=("blocks.1.attn.qkv.weight", 64))
    bad("hole-at-start", r"unindexed bytes before tensor", hole=(list(w)[0], 8))
    first = list(w)[0]
    bad("overlap", r"overlap", entries={q: {"data_offsets": [0, 768]}}, tail=b"")
    bad("shape-fraction", rf"'{q}'.*non-negative integers", entries={q: {"shape": [64.5]}})
    bad("shape-negative", rf"'{q}'.*non-negative integers", entries={q: {"shape": [-192]}})
    bad("shape-string", rf"'{q}'.*non-negative integers", entries={q: {"shape": ["192"]}})
    bad("shape-overflow", rf"'{q}'.*64-bit", entries={q: {"shape": [2**32, 2**32, 4]}})
    bad("shape-huge", rf"'{q}'.*non-negative integers", entries={q: {"shape": [2**64]}})
    bad("offsets-2^63", rf"'{q}'.*data_offsets", entries={q: {"data_offsets": [2**63, 2**63 + 768]}})
    bad("offsets-past-end", rf"'{q}' lies at bytes", entries={q: {"data_offsets": [10**12, 10**12 + 768]}})
    bad("offsets-reversed", rf"'{q}'.*end before they begin", entries={q: {"data_offsets": [768, 0]}})
    bad("offsets-one", rf"'{q}'.*data_offsets", entries={q: {"data_offsets": [0]}})
    bad("size-mismatch", rf"'{q}' of shape \(96\) .* needs 384 bytes", entries={q: {"shape": [96]}})
    bad("entry-not-object", rf"'{q}'", entries={q: [1, 2]})
    bad("entry-no-dtype", rf"'{q}'.*dtype is missing", entries={q: {"dtype": None}})
    bad("metadata-not-strings", r"__metadata__", meta={"num_heads": 4})
    bad("dtype-unknown", rf"'{q}' has dtype F8", codes={q: "F32"}, entries={q: {"dtype": "F8"}})

    # Dtypes and values of weights.
    iw = dict(w); iw[q] = np.zeros(192, np.int64)
    bad("weight-i64", rf"'{q}' has dtype I64; it must be F32, F16 or BF16", tensors=iw)
    bw = dict(w); bw[q] = np.zeros(192, np.uint8)
    bad("weight-bool", rf"'{q}' has dtype BOOL", tensors=bw, codes={q: "BOOL"})
    for label, v, code in [("nan", np.nan, "F32"), ("inf", np.inf, "F32"), ("neg-inf-f16", -np.inf, "F16"), ("nan-bf16", np.nan, "BF16")]:
        t = dict(w); a = w["blocks.1.mlp.fc1.weight"].copy(); a[3, 5] = v; t["blocks.1.mlp.fc1.weight"] = a
        bad(f"weight-{label}", r"'blocks.1.mlp.fc1.weight' .* holds -?(nan|inf) at \[3, 5\]", tensors=t,
            codes={"blocks.1.mlp.fc1.weight": code})
    e = dict(w); e["y_embedder.embedding_table.weight"] = np.zeros((0, 64), np.float32)
    bad("embedding-0-rows", r"'y_embedder.embedding_table.weight' has 0 row", tensors=e)

    # Inputs of dit forward and noise of dit sample.
    x, t, y = io["x"], io["t"], io["y"]
    bad("input-y-f32", r"'y' has dtype F32 with shape \(4\); it must be an integer", role="input", tensors={"x": x, "t": t, "y": y.astype(np.float32)})
    bad("input-x-i64", r"'x' has dtype I64", role="input", tensors={"x": x.astype(np.int64), "t": t, "y": y})
    bad("input-x-nan", r"'x' .* holds nan", role="input", tensors={"x": np.where(np.arange(x.size).reshape(x.shape) == 7, np.nan, x).astype(np.float32), "t": t, "y": y})
    bad("input-t-inf", r"'t' .* holds inf", role="input", tensors={"x": x, "t": np.array([1, 2, np.inf, 4], np.float32), "y": y})
    bad("input-no-y", r"no tensor named 'y'", role="input", tensors={"x": x, "t": t})
    z = np.zeros((3, 4, 8, 8), np.float32); nz = np.zeros((4, 3, 4, 8, 8), np.float32); nz[2, 1, 0, 3, 3] = np.nan
    bad("noise-nan", r"'noise' .* holds nan at \[2, 1, 0, 3, 3\]", role="noise", tensors={"z": z, "noise": nz})

    # Valid variants: each must give the same forward output as its F32 reference.
    def valid(name, tensors, **kw):
        f, ref = f"{out}/valid-{name}.safetensors", f"{out}/valid-{name}-ref.safetensors"
        write(f, tensors, meta, **kw)
        codes = kw.get("codes", {})
        rounded = {k: decode(tensors[k], codes.get(k, "F32")) for k in tensors}
        write(ref, rounded, meta)
        cases.append({"name": f"valid-{name}", "role": "valid", "file": f, "reference": ref})

    def decode(a, code):
        if code == "F16": return a.astype(np.float16).astype(np.float32)
        if code == "BF16": return ((np.ascontiguousarray(a, np.float32).view(np.uint32) >> 16) << 16).view(np.float32)
        return a
    names = list(w)
    valid("f16", w, codes={k: "F16" for k in names})
    valid("bf16", w, codes={k: "BF16" for k in names})
    valid("mixed", w, codes={k: ["F32", "F16", "BF16"][i % 3] for i, k in enumerate(names)})
    valid("header-padding", w, pad=4096)
    valid("unaligned-data", w, unaligned=3)
    valid("buffer-reversed", w, order=names[::-1])
    valid("buffer-shuffled-f16", w, order=sorted(names, key=lambda k: k[::-1]), codes={k: "F16" for k in names[::2]})
    json.dump(cases, open(f"{out}/manifest.json", "w"), indent=1)
    print(f"{len(cases)} cases in {out}")


if __name__ == "__main__":
    main(sys.argv[1])
