"""The code language model: a small causal transformer over RVQ codes (float, for training).

In the spirit of EnCodec's entropy model (section 3.3: 5 layers, 8 heads, 200 channels,
feed-forward 800; the codes of frame t-1 embedded per codebook and summed; one output
head per codebook), with three changes, each there for a measured or structural reason:

* **Codebook k also sees codebooks < k of the same frame** (``same_frame``): EnCodec
  predicts all codebooks of a frame from the past alone and ignores that information.
  Here the transformer's output for frame t is summed with embeddings of the codes
  ``c[t, 0..k-1]`` before codebook k's head, optionally followed by a small per-codebook
  block (``depth_dim``). Coding then proceeds codebook by codebook inside a frame.
* **Attention biases instead of positions** (ALiBi: a head-specific penalty linear in
  the distance, in bits per frame) and a window of ``context_frames``. The model needs
  no position table, so a chunk may start anywhere, and the fixed-point version needs
  no ``sin``/``cos`` (whose last bits differ between math libraries).
* **The number of codebooks coded is an input** (``count_embed``): one model serves
  every bitrate of its codec; the codes of the first n codebooks of residual VQ do not
  depend on n, but their predictability from n-codebook context does.

This float module is what trains. Coding uses its integer export
(:mod:`rvqgan.entropy.integer_lm`), whose every step mirrors :meth:`CodeLM.forward`:
layer norms whose affine parts fold into the next linear layer, ReLU, base-2 softmax
(``softmax(x * ln 2)`` here), so that the export loses almost nothing.

Shapes: codes ``[B, n, T]`` (``n <= n_codebooks``), logits ``[B, n, T, V]`` in natural
log units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from rvqgan.entropy.fixed_point import LOGIT_BITS
from rvqgan.errors import ConfigError, InputError


@dataclass(frozen=True)
class CodeLMConfig:
    """Architecture of a code LM.

    Attributes:
        n_codebooks: codebooks of the codec (the LM codes any first ``n`` of them).
        codebook_size: entries per codebook (``V``).
        dim: channels of the transformer.
        layers: transformer layers.
        heads: attention heads (``dim % heads == 0``).
        ff_dim: feed-forward width.
        context_frames: frames a position attends to, itself included.
        same_frame: condition codebook k on codebooks < k of the same frame.
        depth_dim: width of the per-codebook block after the same-frame sum (0: none).
        floor_fraction: share of each probability table kept uniform, which bounds the
            cost of any code by ``24 - log2(floor)`` bits (see ``probabilities.py``).
        norm_eps: layer-norm epsilon.
    """

    n_codebooks: int
    codebook_size: int
    dim: int = 200
    layers: int = 5
    heads: int = 8
    ff_dim: int = 800
    context_frames: int = 256
    same_frame: bool = True
    depth_dim: int = 0
    floor_fraction: float = 1.0 / 256
    norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        positive = ("n_codebooks", "dim", "layers", "heads", "ff_dim", "context_frames")
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"code LM {name} must be a positive integer, got {value!r}")
        if not 2 <= self.codebook_size <= 1 << 16:
            raise ConfigError(f"code LM codebook_size must be in [2, 65536], got {self.codebook_size}")
        if self.dim % self.heads:
            raise ConfigError(f"code LM dim {self.dim} must be a multiple of heads {self.heads}")
        if self.context_frames > 1 << 13:
            raise ConfigError(f"code LM context_frames must be <= 8192, got {self.context_frames}")
        if self.depth_dim < 0:
            raise ConfigError(f"code LM depth_dim must be >= 0, got {self.depth_dim}")
        if not 0.0 < self.floor_fraction <= 0.5:
            raise ConfigError(f"code LM floor_fraction must be in (0, 0.5], got {self.floor_fraction}")
        if not 0.0 < self.norm_eps < 1.0:
            raise ConfigError(f"code LM norm_eps must be in (0, 1), got {self.norm_eps}")


def alibi_slopes(heads: int) -> list[int]:
    """Distance penalty of each head, in units of ``2**-8`` bits per frame.

    Powers of two from 1/2 bit per frame (very local) down to 1/256 (about 0.7 bit over
    2 s), as integers so that the fixed-point model uses them exactly.
    """
    return [1 << max(0, (LOGIT_BITS - 1) - (LOGIT_BITS * h) // heads) for h in range(heads)]


def attention_bias(frames: int, heads: int, context: int) -> torch.Tensor:
    """Additive attention bias ``[heads, T, T]`` in nats: ALiBi inside the window, -inf outside."""
    pos = torch.arange(frames)
    distance = pos[:, None] - pos[None, :]
    slopes = torch.tensor(alibi_slopes(heads), dtype=torch.float32) * (math.log(2) / (1 << LOGIT_BITS))
    bias = -slopes[:, None, None] * distance.clamp(min=0).float()
    allowed = (distance >= 0) & (distance < context)
    return bias.masked_fill(~allowed, float("-inf"))


class Attention(nn.Module):
    """Causal multi-head self-attention with an ALiBi bias (pre-norm residual branch)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """x ``[B, T, D]``, bias ``[H, T, T]`` -> ``[B, T, D]``."""
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    """Pre-norm transformer layer: attention then a ReLU feed-forward."""

    def __init__(self, config: CodeLMConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.dim, eps=config.norm_eps)
        self.attn = Attention(config.dim, config.heads)
        self.norm2 = nn.LayerNorm(config.dim, eps=config.norm_eps)
        self.ff1 = nn.Linear(config.dim, config.ff_dim)
        self.ff2 = nn.Linear(config.ff_dim, config.dim)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), bias)
        return x + self.ff2(F.relu(self.ff1(self.norm2(x))))


class DepthBlock(nn.Module):
    """Per-codebook residual block on the frame state plus same-frame embeddings."""

    def __init__(self, dim: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.ff1 = nn.Linear(dim, hidden)
        self.ff2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.ff2(F.relu(self.ff1(self.norm(x))))


class CodeLM(nn.Module):
    """Float code LM (see the module docstring); :meth:`forward` gives teacher-forced logits."""

    def __init__(self, config: CodeLMConfig) -> None:
        super().__init__()
        self.config = config
        k, v, d = config.n_codebooks, config.codebook_size, config.dim
        self.frame_embed = nn.ModuleList(nn.Embedding(v + 1, d) for _ in range(k))  # index v: chunk start
        self.count_embed = nn.Embedding(k, d)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.same_frame_embed = nn.ModuleList(nn.Embedding(v, d) for _ in range(k - 1)) if config.same_frame else None
        self.depth = (
            nn.ModuleList(DepthBlock(d, config.depth_dim, config.norm_eps) for _ in range(k))
            if config.depth_dim
            else None
        )
        self.head_norm = nn.ModuleList(nn.LayerNorm(d, eps=config.norm_eps) for _ in range(k))
        self.heads = nn.ModuleList(nn.Linear(d, v) for _ in range(k))
        for module in self.modules():
            if isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=0.3 / math.sqrt(k))

    def check_codes(self, codes: torch.Tensor) -> int:
        """Validate codes ``[B, n, T]``; return ``n``."""
        if codes.dim() != 3 or codes.dtype not in (torch.int64, torch.int32, torch.int16):
            raise InputError(f"codes must be an integer tensor [B, n, T], got {codes.dtype} {list(codes.shape)}")
        n = codes.shape[1]
        if not 1 <= n <= self.config.n_codebooks:
            raise InputError(f"codes hold {n} codebooks; this LM codes 1..{self.config.n_codebooks}")
        if codes.numel() and (codes.min() < 0 or codes.max() >= self.config.codebook_size):
            raise InputError(f"codes must be in [0, {self.config.codebook_size})")
        return n

    def trunk(self, codes: torch.Tensor) -> torch.Tensor:
        """Transformer output for each frame, from the frames before it: ``[B, T, D]``."""
        n = self.check_codes(codes)
        b, _, t = codes.shape
        start = torch.full((b, n, 1), self.config.codebook_size, dtype=codes.dtype, device=codes.device)
        previous = torch.cat([start, codes[:, :, :-1]], dim=2).long()
        x = self.count_embed.weight[n - 1].expand(b, t, -1)
        for k in range(n):
            x = x + self.frame_embed[k](previous[:, k])
        bias = attention_bias(t, self.config.heads, self.config.context_frames).to(x.device)
        for block in self.blocks:
            x = block(x, bias)
        return x

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """Logits of every code given the frames before it (and lower codebooks of its frame).

        Args:
            codes: int ``[B, n, T]``, ``n <= n_codebooks``; position 0 starts a chunk.

        Returns:
            Natural-log logits ``[B, n, T, V]``.
        """
        x = self.trunk(codes)
        out = []
        for k in range(codes.shape[1]):
            if k and self.same_frame_embed is not None:
                x = x + self.same_frame_embed[k - 1](codes[:, k - 1].long())
            r = self.depth[k](x) if self.depth is not None else x
            out.append(self.heads[k](self.head_norm[k](r)))
        return torch.stack(out, dim=1)

    def bits_per_code(self, codes: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy in bits per code (a scalar tensor, differentiable)."""
        logits = self.forward(codes)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), codes.reshape(-1).long())
        return loss / math.log(2)
