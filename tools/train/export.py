"""Dump a checkpoint as a manifest (JSON) + raw little-endian f32 weights (.bin) for export-gguf.ts.

  /usr/bin/python3 -m tools.train.export [--ckpt PATH] --out /tmp/kvsieve-demo
  -> /tmp/kvsieve-demo.json, /tmp/kvsieve-demo.bin

Tensor names are already GGUF (llama.cpp `llama` arch) names; shapes are PyTorch shapes
(row-major, [out, in] for linear weights), GGUF dims are their reverse. Q/K need no
permutation: model.py uses llama.cpp's interleaved-pairs RoPE.
"""

from __future__ import annotations

import argparse
import json
import os
import re

import numpy as np
import torch

from .bpe import Tokenizer

RENAME = [
    (r"^tok\.weight$", "token_embd.weight"),
    (r"^norm\.weight$", "output_norm.weight"),
    (r"^layers\.(\d+)\.attn_norm\.weight$", r"blk.\1.attn_norm.weight"),
    (r"^layers\.(\d+)\.ffn_norm\.weight$", r"blk.\1.ffn_norm.weight"),
    (r"^layers\.(\d+)\.attn\.wq\.weight$", r"blk.\1.attn_q.weight"),
    (r"^layers\.(\d+)\.attn\.wk\.weight$", r"blk.\1.attn_k.weight"),
    (r"^layers\.(\d+)\.attn\.wv\.weight$", r"blk.\1.attn_v.weight"),
    (r"^layers\.(\d+)\.attn\.wo\.weight$", r"blk.\1.attn_output.weight"),
    (r"^layers\.(\d+)\.mlp\.w1\.weight$", r"blk.\1.ffn_gate.weight"),
    (r"^layers\.(\d+)\.mlp\.w3\.weight$", r"blk.\1.ffn_up.weight"),
    (r"^layers\.(\d+)\.mlp\.w2\.weight$", r"blk.\1.ffn_down.weight"),
]


def gguf_name(name: str) -> str:
    for pat, rep in RENAME:
        if re.match(pat, name):
            return re.sub(pat, rep, name)
    raise KeyError(name)


def main():
    from .train import default_dir

    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=default_dir())
    ap.add_argument("--ckpt", default=None, help="default <dir>/ckpt.pt")
    ap.add_argument("--out", required=True, help="path prefix for .json and .bin")
    a = ap.parse_args()
    ck = torch.load(a.ckpt or os.path.join(a.dir, "ckpt.pt"), map_location="cpu")
    tok = Tokenizer.load(os.path.join(a.dir, "tokenizer.json"))
    tensors, offset = [], 0
    with open(a.out + ".bin", "wb") as f:
        for name, t in ck["model"].items():
            arr = t.detach().float().contiguous().numpy().astype("<f4")
            f.write(arr.tobytes())
            tensors.append({"name": gguf_name(name), "shape": list(arr.shape), "offset": offset, "count": int(arr.size)})
            offset += arr.nbytes
    manifest = {
        "config": ck["config"],
        "tokenizer": {
            "model": "gpt2",
            "pre": "gpt-2",
            "tokens": tok.tokens,
            "token_types": tok.token_types,
            "merges": [" ".join(m) for m in tok.merges],
            "bos": tok.bos,
            "eos": tok.eos,
            "pad": tok.pad,
        },
        "train": {"step": ck["step"], "tokens_seen": ck["tokens_seen"], "elapsed_s": round(ck["elapsed"])},
        "tensors": tensors,
    }
    with open(a.out + ".json", "w") as f:
        json.dump(manifest, f)
    print(f"wrote {a.out}.json and {a.out}.bin: {len(tensors)} tensors, step {ck['step']}, {np.float64(offset) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
