"""Check an exported GGUF against its checkpoint: same token ids and near-equal last logits.

  /usr/bin/python3 -m tools.train.check_gguf models/kvsieve-demo.gguf [--ckpt PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess

import torch

from .tasks import PASSKEY_NEEDLE, PASSKEY_PREFIX, PASSKEY_Q, FILLER

TEXTS = [
    "Call me Ishmael. Some years ago—never mind how long precisely—I thought I would sail about.",
    PASSKEY_PREFIX + " " + FILLER + " " + PASSKEY_NEEDLE.format(k="73018") + " " + FILLER * 3 + " " + PASSKEY_Q,
]


def main():
    from .train import default_dir, load_model

    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("--dir", default=default_dir())
    ap.add_argument("--ckpt", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    model, tok, _ = load_model(a.ckpt or os.path.join(a.dir, "ckpt.pt"), os.path.join(a.dir, "tokenizer.json"))
    ok = True
    for text in TEXTS:
        out = subprocess.run(["node", "--import", "tsx", "tools/train/check-gguf.ts", a.gguf, text],
                             capture_output=True, text=True, check=True).stdout
        js = json.loads(out.strip().splitlines()[-1])
        ids = [tok.bos] + tok.encode(text)
        same = js["ids"] == ids
        with torch.no_grad():
            ref = model(torch.tensor([ids]))[0, -1]
        got = torch.tensor(js["logits"])
        err = (got - ref).abs().max().item()
        top_ref, top_got = int(ref.argmax()), int(got.argmax())
        print(f"ids equal: {same} ({len(ids)} tokens)  max|dlogit| {err:.4f}  argmax {top_ref} vs {top_got} "
              f"({tok.decode([top_ref])!r})")
        ok &= same and top_ref == top_got and err < 0.05 * max(1.0, ref.abs().max().item())
    print("OK" if ok else "MISMATCH")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
