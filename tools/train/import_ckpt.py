"""Make a training checkpoint from a manifest written by import-gguf.ts (the inverse of export.py).

  node --import tsx tools/train/import-gguf.ts models/kvsieve-demo.gguf /tmp/kvsieve-demo-in
  /usr/bin/python3 -m tools.train.import_ckpt /tmp/kvsieve-demo-in --step 8000 --tokens-seen 49300000 \
      --elapsed-h 5.5 --stage G-keys

Writes <dir>/ckpt.pt without optimizer state and <dir>/tokenizer.json from the GGUF's merges, so
`train --resume` continues from the shipped weights: the GGUF does not record the step, tokens seen
or curriculum stage, so they are given here (the model card has them). train.py starts a fresh AdamW
and re-warms the learning rate (see `rewarm_from` there), since fresh moments at the full rate
would jolt the weights.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from . import data
from .bpe import Tokenizer
from .export import gguf_name
from .model import Config, Llama


def main():
    from .train import default_dir

    ap = argparse.ArgumentParser()
    ap.add_argument("prefix", help="manifest prefix (.json + .bin) from import-gguf.ts")
    ap.add_argument("--dir", default=default_dir())
    ap.add_argument("--step", type=int, required=True)
    ap.add_argument("--tokens-seen", type=int, required=True)
    ap.add_argument("--elapsed-h", type=float, required=True, help="training hours so far (for the logs)")
    ap.add_argument("--stage", required=True, help="curriculum stage to continue in: " + ", ".join(s.name for s in data.CURRICULUM))
    a = ap.parse_args()
    names = [s.name for s in data.CURRICULUM]
    if a.stage not in names:
        raise SystemExit(f"--stage must be one of {', '.join(names)}, not {a.stage}")
    ck_path = os.path.join(a.dir, "ckpt.pt")
    if os.path.exists(ck_path):
        raise SystemExit(f"{ck_path} exists: importing would overwrite a run (choose another --dir)")

    with open(a.prefix + ".json") as f:
        m = json.load(f)
    raw = np.fromfile(a.prefix + ".bin", dtype="<f4")
    cfg = Config(**m["config"])
    model = Llama(cfg)
    by_name = {t["name"]: t for t in m["tensors"]}
    state = {}
    for name, p in model.state_dict().items():
        t = by_name.pop(gguf_name(name), None)
        if t is None:
            raise SystemExit(f"{a.prefix}.json has no tensor {gguf_name(name)} (for {name})")
        arr = raw[t["offset"] // 4: t["offset"] // 4 + t["count"]].reshape(t["shape"])
        if tuple(arr.shape) != tuple(p.shape):
            raise SystemExit(f"{gguf_name(name)}: shape {list(arr.shape)}, model wants {list(p.shape)}")
        state[name] = torch.from_numpy(arr.copy())
    if by_name:
        raise SystemExit(f"tensors the model does not have: {', '.join(sorted(by_name))}")
    model.load_state_dict(state)

    # The GGUF's vocabulary is 256 bytes, the merges in order, then the specials (bpe.py); check it
    # rebuilds token for token so ids mean the same in training as in the shipped file.
    tok = Tokenizer([tuple(s.split(" ")) for s in m["tokenizer"]["merges"]])
    if tok.tokens != m["tokenizer"]["tokens"]:
        raise SystemExit("the merges do not rebuild the GGUF's token list: not a tools/train tokenizer")
    os.makedirs(a.dir, exist_ok=True)
    tok.save(os.path.join(a.dir, "tokenizer.json"))
    i = names.index(a.stage)
    torch.save({"model": model.state_dict(), "opt": None, "config": cfg.to_dict(), "step": a.step,
                "tokens_seen": a.tokens_seen, "elapsed": a.elapsed_h * 3600, "args": {"imported_from": a.prefix},
                "stage_idx": i, "stage_start": a.step, "rewarm_from": a.step}, ck_path)
    print(f"wrote {ck_path} (step {a.step}, stage {a.stage}, no optimizer state) and tokenizer.json")


if __name__ == "__main__":
    main()
