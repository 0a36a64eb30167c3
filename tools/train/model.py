"""Llama-architecture decoder: RMSNorm, RoPE, GQA attention, SwiGLU MLP, tied embeddings.

RoPE layout: we rotate *interleaved pairs* (x[2i], x[2i+1]) by theta_i = base^(-2i/d), which
is exactly llama.cpp's "normal" RoPE for arch `llama`. HF Llama instead rotates halves
(x[i], x[i+d/2]), which is why convert_hf_to_gguf.py permutes wq/wk; with this layout the
weights go into GGUF as they are, with no permutation.

GQA: query head h uses KV head h // (n_head / n_head_kv), like llama.cpp.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@functools.cache  # read once: autocast() asks at every forward pass
def bf16_autocast() -> bool:
    """Whether to run matmuls under bf16 autocast. Worth it only where the CPU multiplies bf16 natively
    (AVX512-BF16 / AMX: oneDNN ~100 GFLOPS on 2 cores); an AVX2-only CPU emulates bf16 at ~5 GFLOPS,
    while fp32 through OpenBLAS reaches ~70 there. KVSIEVE_AUTOCAST=bf16|fp32 overrides the guess."""
    mode = os.environ.get("KVSIEVE_AUTOCAST", "auto")
    if mode in ("bf16", "fp32"):
        return mode == "bf16"
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return True
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_device(name: str = "auto") -> torch.device:
    """--device: auto = the first CUDA GPU when PyTorch sees one, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {name}: this PyTorch sees no CUDA GPU")
    return torch.device(name)


def uses_bf16(device: torch.device) -> bool:
    """bf16 autocast on a GPU always, on a CPU where bf16_autocast() says it pays."""
    return device.type == "cuda" or bf16_autocast()


def autocast(device: torch.device):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=uses_bf16(device))


# torch >= 2.0 has the public fused attention; Debian's torch 1.13 only the private one (returns a pair).
# On an H200 with torch 2.11 the default pick is cuDNN, which builds a plan for every new sequence length:
# with the curriculum's varying lengths it trained at 40k tokens/s, against 180k pinned to flash attention
# (sdpa_kernel: torch >= 2.3).
try:
    from torch.nn.attention import SDPBackend, sdpa_kernel

    _FAST = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]
except ImportError:
    sdpa_kernel = None


def causal_attention(q, k, v):
    if sdpa_kernel is not None:
        with sdpa_kernel(_FAST):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return F._scaled_dot_product_attention(q, k, v, is_causal=True)[0]


@dataclass
class Config:
    vocab_size: int = 2048
    dim: int = 256
    n_layers: int = 6
    n_heads: int = 8
    n_kv_heads: int = 2
    ffn_dim: int = 768
    max_seq_len: int = 4096
    rope_base: float = 10000.0
    norm_eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    def to_dict(self) -> dict:
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim: int, positions: torch.Tensor, base: float):
    inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32, device=positions.device) / head_dim)
    ang = positions.float()[:, None] * inv[None, :]  # (T, hd/2)
    return torch.cos(ang), torch.sin(ang)


def apply_rope(x, cos, sin):
    # x: (B, H, T, hd); rotate pairs (x[2i], x[2i+1])
    x2 = x.unflatten(-1, (-1, 2))
    a, b = x2[..., 0], x2[..., 1]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)


class Attention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.wq = nn.Linear(c.dim, c.n_heads * c.head_dim, bias=False)
        self.wk = nn.Linear(c.dim, c.n_kv_heads * c.head_dim, bias=False)
        self.wv = nn.Linear(c.dim, c.n_kv_heads * c.head_dim, bias=False)
        self.wo = nn.Linear(c.n_heads * c.head_dim, c.dim, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        c = self.c
        q = self.wq(x).view(B, T, c.n_heads, c.head_dim).transpose(1, 2)
        k = self.wk(x).view(B, T, c.n_kv_heads, c.head_dim).transpose(1, 2)
        v = self.wv(x).view(B, T, c.n_kv_heads, c.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = c.n_heads // c.n_kv_heads
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        y = causal_attention(q, k, v)
        return self.wo(y.transpose(1, 2).reshape(B, T, -1))


class MLP(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.w1 = nn.Linear(c.dim, c.ffn_dim, bias=False)  # gate
        self.w3 = nn.Linear(c.dim, c.ffn_dim, bias=False)  # up
        self.w2 = nn.Linear(c.ffn_dim, c.dim, bias=False)  # down

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.attn_norm = RMSNorm(c.dim, c.norm_eps)
        self.attn = Attention(c)
        self.ffn_norm = RMSNorm(c.dim, c.norm_eps)
        self.mlp = MLP(c)

    def forward(self, x, cos, sin):
        x = x + self.attn(self.attn_norm(x), cos, sin)
        return x + self.mlp(self.ffn_norm(x))


class Llama(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.tok = nn.Embedding(c.vocab_size, c.dim)
        self.layers = nn.ModuleList(Block(c) for _ in range(c.n_layers))
        self.norm = RMSNorm(c.dim, c.norm_eps)
        self.apply(self._init)
        for n, p in self.named_parameters():
            if n.endswith("wo.weight") or n.endswith("w2.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * c.n_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, idx, positions=None):
        B, T = idx.shape
        if positions is None:
            positions = torch.arange(T, device=idx.device)
        cos, sin = rope_tables(self.c.head_dim, positions, self.c.rope_base)
        x = self.tok(idx)
        for layer in self.layers:
            x = layer(x, cos, sin)
        return F.linear(self.norm(x), self.tok.weight)  # tied output

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
