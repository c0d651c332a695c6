"""Turn a trained float :class:`~rvqgan.entropy.lm.CodeLM` into integer tensors for coding.

Every matrix is stored as small integers ``q`` (int8 for ``weight_bits <= 8``, else
int16) with one integer multiplier per row and a shift per matrix: a row's real values
are ``q * mult / 2**shift`` in the units its consumer expects (activations in units of
``2**-10``, logits in ``2**-8`` bits). Before quantizing, the float model is rewritten
without changing what it computes:

* each layer norm's scale and shift fold into the linear layer after it
  (``W diag(gamma)``, ``b + W beta``), so the integer layer norm only normalises;
* the query projection absorbs ``log2(e) / sqrt(head_dim)`` so that attention scores
  come out in bits (base-2 softmax), and the output heads absorb ``log2(e)`` so that
  logits do.

The export is the one place where floats become integers; after it, every number the
coder sees is computed exactly (see ``fixed_point.py``). Export runs once, on the
machine that trained the model; its rounding does not need to be reproducible because
its result is stored.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from rvqgan.entropy.fixed_point import ACT_BITS, LOGIT_BITS
from rvqgan.entropy.lm import CodeLM
from rvqgan.errors import InputError

MULT_BITS = 15  # row multipliers are below 2**15
MAX_SHIFT = 48


def _array(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


def quantize_rows(w: np.ndarray, bits: int, factor: float) -> dict[str, np.ndarray]:
    """Quantize ``w [rows, cols]`` to ``q * mult / 2**shift ~= w * factor`` (per-row scale).

    Returns:
        ``{"q": int8/int16 [rows, cols], "mult": int32 [rows], "shift": int64 [1]}``.
    """
    if not 2 <= bits <= 16:
        raise InputError(f"weight_bits must be in [2, 16], got {bits}")
    qmax = (1 << (bits - 1)) - 1
    peak = np.abs(w).max(axis=1)
    scale = np.where(peak > 0, peak / qmax, 1.0)
    q = np.clip(np.round(w / scale[:, None]), -qmax, qmax)
    target = scale * factor
    top = float(target.max())
    shift = MULT_BITS - 1 - math.floor(math.log2(top)) if top > 0 else 1
    shift = int(min(max(shift, 1), MAX_SHIFT))
    mult = np.round(target * 2.0**shift)
    return {
        "q": q.astype(np.int8 if bits <= 8 else np.int16),
        "mult": mult.astype(np.int32),
        "shift": np.array([shift], dtype=np.int64),
    }


def _linear(
    tensors: dict[str, np.ndarray],
    name: str,
    weight: np.ndarray,
    bias: np.ndarray,
    bits: int,
    extra: float = 1.0,
    out_bits: int = ACT_BITS,
) -> None:
    """Store a linear layer ``y = x W^T + b`` scaled by ``extra``, output in ``2**-out_bits`` units."""
    factor = extra * 2.0 ** (out_bits - ACT_BITS)
    for key, value in quantize_rows(weight, bits, factor).items():
        tensors[f"{name}.{key}"] = value
    tensors[f"{name}.bias"] = np.round(bias * extra * 2.0**out_bits).astype(np.int64)


def _fold(norm: torch.nn.LayerNorm, linear: torch.nn.Linear) -> tuple[np.ndarray, np.ndarray]:
    """``(W diag(gamma), b + W beta)`` of ``linear`` after ``norm``."""
    w, b = _array(linear.weight), _array(linear.bias)
    gamma, beta = _array(norm.weight), _array(norm.bias)
    return w * gamma[None, :], b + w @ beta


def _embedding(tensors: dict[str, np.ndarray], name: str, table: torch.Tensor, bits: int) -> None:
    for key, value in quantize_rows(_array(table), bits, 2.0**ACT_BITS).items():
        tensors[f"{name}.{key}"] = value


def export_lm(model: CodeLM, weight_bits: int = 8) -> dict[str, np.ndarray]:
    """Integer tensors of ``model`` for :class:`~rvqgan.entropy.integer_lm.IntegerLM`.

    Args:
        model: the trained float model.
        weight_bits: bits per stored weight (8: int8, the bundled default; up to 16).

    Returns:
        Name -> integer array (see the module docstring for the encoding).
    """
    config = model.config
    tensors: dict[str, np.ndarray] = {}
    head_dim = config.dim // config.heads
    for k, table in enumerate(model.frame_embed):
        _embedding(tensors, f"frame_embed.{k}", table.weight, weight_bits)
    _embedding(tensors, "count_embed", model.count_embed.weight, weight_bits)
    if model.same_frame_embed is not None:
        for k, table in enumerate(model.same_frame_embed):
            _embedding(tensors, f"same_frame_embed.{k}", table.weight, weight_bits)
    for i, block in enumerate(model.blocks):
        w, b = _fold(block.norm1, block.attn.qkv)
        d = config.dim
        _linear(tensors, f"blocks.{i}.q", w[:d], b[:d], weight_bits, extra=math.log2(math.e) / math.sqrt(head_dim))
        _linear(tensors, f"blocks.{i}.k", w[d : 2 * d], b[d : 2 * d], weight_bits)
        _linear(tensors, f"blocks.{i}.v", w[2 * d :], b[2 * d :], weight_bits)
        _linear(tensors, f"blocks.{i}.o", _array(block.attn.out.weight), _array(block.attn.out.bias), weight_bits)
        w, b = _fold(block.norm2, block.ff1)
        _linear(tensors, f"blocks.{i}.ff1", w, b, weight_bits)
        _linear(tensors, f"blocks.{i}.ff2", _array(block.ff2.weight), _array(block.ff2.bias), weight_bits)
    for k in range(config.n_codebooks):
        if model.depth is not None:
            depth = model.depth[k]
            w, b = _fold(depth.norm, depth.ff1)
            _linear(tensors, f"depth.{k}.ff1", w, b, weight_bits)
            _linear(tensors, f"depth.{k}.ff2", _array(depth.ff2.weight), _array(depth.ff2.bias), weight_bits)
        w, b = _fold(model.head_norm[k], model.heads[k])
        _linear(tensors, f"heads.{k}", w, b, weight_bits, extra=math.log2(math.e), out_bits=LOGIT_BITS)
    return tensors
