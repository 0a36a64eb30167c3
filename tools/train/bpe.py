"""Byte-level BPE (GPT-2 style) trained on a corpus, readable by GGUF `gpt2` tokenizers.

* Token strings use the GPT-2 byte<->unicode map (space -> 'Ġ', newline -> 'Ċ', ...).
* Pre-tokenization follows the GPT-2 regex ("gpt-2" pre-tokenizer in llama.cpp). Python's
  `re` has no \\p{L}/\\p{N}, so letters are [^\\W\\d_] and numbers \\d (identical for the
  ASCII/Latin text we train on).
* Digits are never merged: every digit is its own token (and ' ' before a number stays a
  separate 'Ġ'), so copying a pass key is a token-by-token copy.
* Ids: 0..255 are the 256 byte tokens in byte order, then one token per merge (in merge
  order), then the special tokens.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict

GPT2_PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")
SPECIALS = ["<|endoftext|>", "<|pad|>"]
DIGITS = set("0123456789")


def bytes_to_unicode() -> dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


BYTE_ENC = bytes_to_unicode()
BYTE_DEC = {v: k for k, v in BYTE_ENC.items()}


def pretokenize(text: str) -> list[str]:
    return GPT2_PAT.findall(text)


def to_symbols(word: str) -> str:
    return "".join(BYTE_ENC[b] for b in word.encode("utf-8"))


def _mergeable(a: str, b: str) -> bool:
    return not (DIGITS & set(a) or DIGITS & set(b))


def train_bpe(texts: list[str], n_merges: int, verbose: bool = False) -> list[tuple[str, str]]:
    """Classic BPE with incremental pair counts. Deterministic (ties broken lexicographically)."""
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(pretokenize(t))
    words = [list(to_symbols(w)) for w in counts]
    freqs = list(counts.values())
    pair_counts: dict[tuple[str, str], int] = defaultdict(int)
    where: dict[tuple[str, str], set[int]] = defaultdict(set)
    for i, w in enumerate(words):
        for p in zip(w, w[1:]):
            if _mergeable(*p):
                pair_counts[p] += freqs[i]
                where[p].add(i)
    merges: list[tuple[str, str]] = []
    for m in range(n_merges):
        if not pair_counts:
            break
        best = max(pair_counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if pair_counts[best] < 2:
            break
        merges.append(best)
        a, b = best
        ab = a + b
        for i in list(where[best]):
            w = words[i]
            f = freqs[i]
            for p in zip(w, w[1:]):
                if p in pair_counts:
                    pair_counts[p] -= f
                    if pair_counts[p] <= 0:
                        del pair_counts[p]
                    where[p].discard(i)
            j = 0
            out = []
            while j < len(w):
                if j + 1 < len(w) and w[j] == a and w[j + 1] == b:
                    out.append(ab)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for p in zip(out, out[1:]):
                if _mergeable(*p):
                    pair_counts[p] += f
                    where[p].add(i)
        where.pop(best, None)
        pair_counts.pop(best, None)
        if verbose and m % 250 == 0:
            print(f"merge {m}: {a!r}+{b!r}", flush=True)
    return merges


class Tokenizer:
    def __init__(self, merges: list[tuple[str, str]]):
        self.merges = [tuple(m) for m in merges]
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.tokens = [BYTE_ENC[b] for b in range(256)] + [a + b for a, b in self.merges] + SPECIALS
        self.token_types = [1] * (len(self.tokens) - len(SPECIALS)) + [3] * len(SPECIALS)  # 1 normal, 3 control
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.eot = self.ids["<|endoftext|>"]
        self.pad = self.ids["<|pad|>"]
        self.bos = self.eos = self.eot
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def _bpe(self, word: str) -> list[int]:
        got = self._cache.get(word)
        if got is not None:
            return got
        syms = list(to_symbols(word))
        while len(syms) > 1:
            best, best_rank = -1, None
            for i in range(len(syms) - 1):
                r = self.ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best < 0:
                break
            syms[best : best + 2] = [syms[best] + syms[best + 1]]
        ids = [self.ids[s] for s in syms]
        if len(self._cache) < 500_000:
            self._cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        out: list[int] = []
        for w in pretokenize(text):
            out.extend(self._bpe(w))
        return out

    def decode(self, ids) -> str:
        bs = bytearray()
        for i in ids:
            t = self.tokens[int(i)]
            if t in SPECIALS:
                bs.extend(t.encode())
            else:
                bs.extend(BYTE_DEC[c] for c in t)
        return bs.decode("utf-8", errors="replace")

    def save(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump({"merges": [" ".join(m) for m in self.merges], "specials": SPECIALS}, f)

    @classmethod
    def load(cls, path: str) -> "Tokenizer":
        with open(path) as f:
            d = json.load(f)
        return cls([tuple(m.split(" ")) for m in d["merges"]])
