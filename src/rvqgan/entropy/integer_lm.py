"""The code LM in exact integer arithmetic: the probability tables the coder uses.

:class:`IntegerLM` evaluates the exported model (``export.py``) with the integer
operations of ``fixed_point.py`` only, in numpy. Two ways, with identical results:

* :meth:`IntegerLM.frequencies`: all frames of a chunk at once (the encoder, which
  knows every code);
* :class:`FrameDecoder`: frame by frame and codebook by codebook, keeping the keys and
  values of the last ``context_frames`` frames (the decoder, which learns each code only
  after decoding it).

They agree bit for bit because every output is an exactly defined integer function of
the codes: each attention row sums exactly the same integer terms whether the other
rows are computed too or not (masked terms are exact zeros), and no float rounding is
left anywhere for batching, threads or the machine to change. Bounds that make the
float64 products and int64 steps exact are checked when the model is built, so a file
that could overflow is refused rather than decoded differently somewhere.

Shapes: codes ``[B, n, T]``; frequency tables ``[B, T, n, V]`` (int64, rows summing to
``2**24``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rvqgan.entropy.fixed_point import (
    ACT_BITS,
    ACT_CLAMP,
    LOGIT_BITS,
    check_exact_matmul,
    check_int,
    check_layer_norm,
    clamp,
    exact_matmul,
    exp2_table,
    layer_norm,
    rounded_div,
    rounded_shift,
    softmax_weights,
)
from rvqgan.entropy.lm import CodeLMConfig, alibi_slopes
from rvqgan.entropy.probabilities import floor_for, frequencies_from_logits
from rvqgan.errors import CheckpointError, InputError


def _get(tensors: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    if name not in tensors:
        raise CheckpointError(f"code LM file has no tensor {name!r}: corrupt or for another architecture")
    return np.asarray(tensors[name])


class QLinear:
    """``y = round(clamp(x) @ q^T * mult / 2**shift) + bias``, exactly."""

    def __init__(self, tensors: Mapping[str, np.ndarray], name: str, in_features: int, out_features: int) -> None:
        q = _get(tensors, f"{name}.q")
        if q.shape != (out_features, in_features) or q.dtype.kind != "i":
            raise CheckpointError(
                f"code LM tensor {name}.q has {q.dtype} {list(q.shape)}, expected int [{out_features}, {in_features}]"
            )
        self.weight_t = np.ascontiguousarray(q.T.astype(np.float64))
        self.mult = _get(tensors, f"{name}.mult").astype(np.int64).reshape(out_features)
        self.shift = int(_get(tensors, f"{name}.shift").reshape(-1)[0])
        self.bias = _get(tensors, f"{name}.bias").astype(np.int64).reshape(out_features)
        if not 0 <= self.shift <= 62:
            raise CheckpointError(f"code LM tensor {name}.shift is {self.shift}, outside [0, 62]")
        acc = check_exact_matmul(name, in_features, ACT_CLAMP, int(np.abs(q).max(initial=0)))
        check_int(
            name,
            acc * int(np.abs(self.mult).max(initial=0))
            + (1 << self.shift)
            + (int(np.abs(self.bias).max(initial=0)) << self.shift),
        )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        acc = exact_matmul(clamp(x), self.weight_t)
        return rounded_shift(acc * self.mult, self.shift) + self.bias

    @classmethod
    def fused(cls, parts: list[QLinear]) -> QLinear:
        """One layer computing ``parts`` side by side (their outputs concatenated).

        Each row keeps its own multiplier and shift, so every output is the same
        integer the part alone would give; one product instead of several is cheaper.
        """
        fused = cls.__new__(cls)
        fused.weight_t = np.ascontiguousarray(np.concatenate([p.weight_t for p in parts], axis=1))
        fused.mult = np.concatenate([p.mult for p in parts])
        fused.shift = np.concatenate([np.full(p.mult.shape, p.shift, dtype=np.int64) for p in parts])
        fused.bias = np.concatenate([p.bias for p in parts])
        return fused


def _table(tensors: Mapping[str, np.ndarray], name: str, rows: int, dim: int) -> np.ndarray:
    """An embedding table as int64 activations ``[rows, dim]``."""
    q = _get(tensors, f"{name}.q")
    mult = _get(tensors, f"{name}.mult").astype(np.int64)
    shift = int(_get(tensors, f"{name}.shift").reshape(-1)[0])
    if q.shape != (rows, dim) or mult.shape != (rows,) or not 0 <= shift <= 62:
        raise CheckpointError(f"code LM embedding {name} has shape {list(q.shape)}, expected [{rows}, {dim}]")
    check_int(name, int(np.abs(q).max(initial=0)) * int(np.abs(mult).max(initial=0)) + (1 << shift))
    return clamp(rounded_shift(q.astype(np.int64) * mult[:, None], shift))


class _Layer:
    def __init__(self, tensors: Mapping[str, np.ndarray], i: int, config: CodeLMConfig) -> None:
        d, f = config.dim, config.ff_dim
        self.qkv = QLinear.fused([QLinear(tensors, f"blocks.{i}.{n}", d, d) for n in "qkv"])
        self.o = QLinear(tensors, f"blocks.{i}.o", d, d)
        self.ff1 = QLinear(tensors, f"blocks.{i}.ff1", d, f)
        self.ff2 = QLinear(tensors, f"blocks.{i}.ff2", f, d)


class IntegerLM:
    """The exported code LM, evaluated exactly (see the module docstring).

    Args:
        config: the architecture.
        tensors: the exported integer tensors (``export.export_lm``).
    """

    def __init__(self, config: CodeLMConfig, tensors: Mapping[str, np.ndarray]) -> None:
        self.config = config
        k, v, d = config.n_codebooks, config.codebook_size, config.dim
        self.floor = floor_for(v, config.floor_fraction)
        self.eps = max(1, round(config.norm_eps * (1 << (2 * ACT_BITS))))
        self.head_dim = d // config.heads
        self.table = exp2_table()
        self.slopes = np.array(alibi_slopes(config.heads), dtype=np.int64)[:, None, None]
        check_layer_norm(d)
        # Attention: scores sum head_dim products; values sum context_frames products of
        # weights <= 2**16 (the exp table's largest entry).
        check_exact_matmul("attention scores", self.head_dim, ACT_CLAMP, ACT_CLAMP)
        check_exact_matmul("attention values", config.context_frames, 1 << 16, ACT_CLAMP)
        self.frame_embed = [_table(tensors, f"frame_embed.{i}", v + 1, d) for i in range(k)]
        self.count_embed = _table(tensors, "count_embed", k, d)
        self.same_frame_embed = (
            [_table(tensors, f"same_frame_embed.{i}", v, d) for i in range(k - 1)] if config.same_frame else None
        )
        self.layers = [_Layer(tensors, i, config) for i in range(config.layers)]
        self.depth = (
            [
                (
                    QLinear(tensors, f"depth.{i}.ff1", d, config.depth_dim),
                    QLinear(tensors, f"depth.{i}.ff2", config.depth_dim, d),
                )
                for i in range(k)
            ]
            if config.depth_dim
            else None
        )
        self.heads = [QLinear(tensors, f"heads.{i}", d, v) for i in range(k)]
        # EnCodec's layout (no same-frame input, no depth block): every head reads the same
        # state, so the decoder runs them as one product per frame.
        self.fused_heads = QLinear.fused(self.heads) if not config.same_frame and not config.depth_dim else None

    # -- pieces shared by both ways of evaluating ---------------------------------------

    def frame_input(self, previous: np.ndarray, n: int) -> np.ndarray:
        """Input activations from the previous frame's codes ``[..., n]`` (value V = chunk start)."""
        x = self.count_embed[n - 1] + sum(self.frame_embed[i][previous[..., i]] for i in range(n))
        return clamp(x)

    def _qkv(self, layer: _Layer, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Queries, keys and values ``[B, H, T, Dh]`` of normalised inputs ``[B, T, D]``, clamped."""
        b, t, _ = h.shape
        heads = clamp(layer.qkv(h)).reshape(b, t, 3, self.config.heads, self.head_dim).transpose(2, 0, 3, 1, 4)
        return heads[0], heads[1], heads[2]

    def _attend(self, q: np.ndarray, k: np.ndarray, v: np.ndarray, distance: np.ndarray) -> np.ndarray:
        """Attention of queries ``[B, H, Tq, Dh]`` over keys/values ``[B, H, Tk, Dh]``.

        ``distance [Tq, Tk]`` is query frame minus key frame; keys at distance 0 ..
        context_frames - 1 are attended.
        """
        scores = exact_matmul(q, k.swapaxes(-1, -2).astype(np.float64))
        scores = rounded_shift(scores, 2 * ACT_BITS - LOGIT_BITS) - self.slopes * np.maximum(distance, 0)
        allowed = (distance >= 0) & (distance < self.config.context_frames)
        weights = softmax_weights(scores, allowed, self.table)
        total = weights.sum(axis=-1, keepdims=True)
        return rounded_div(exact_matmul(weights, v.astype(np.float64)), total)

    def _merge(self, heads: np.ndarray) -> np.ndarray:
        b, _, t, _ = heads.shape
        return heads.transpose(0, 2, 1, 3).reshape(b, t, self.config.dim)

    def _feed_forward(self, layer: _Layer, x: np.ndarray) -> np.ndarray:
        hidden = np.maximum(layer.ff1(layer_norm(x, self.eps)), 0)
        return clamp(x + layer.ff2(hidden))

    def codebook_logits(self, state: np.ndarray, k: int) -> np.ndarray:
        """Integer logits ``[..., V]`` of codebook ``k`` from its frame state ``[..., D]``."""
        if self.depth is not None:
            ff1, ff2 = self.depth[k]
            state = clamp(state + ff2(np.maximum(ff1(layer_norm(state, self.eps)), 0)))
        return self.heads[k](layer_norm(state, self.eps))

    def next_state(self, state: np.ndarray, k: int, code: np.ndarray) -> np.ndarray:
        """Frame state for codebook ``k + 1`` once codebook ``k``'s code ``[...]`` is known."""
        if self.same_frame_embed is None or k >= len(self.same_frame_embed):
            return state  # no codebook after the last one needs it
        return clamp(state + self.same_frame_embed[k][code])

    # -- the encoder's way: a whole chunk at once -------------------------------------

    def check_codes(self, codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes)
        if codes.ndim != 3 or codes.dtype.kind not in "iu":
            raise InputError(f"codes must be integers [B, n, T], got {codes.dtype} {list(codes.shape)}")
        if not 1 <= codes.shape[1] <= self.config.n_codebooks:
            raise InputError(f"codes hold {codes.shape[1]} codebooks; this LM codes 1..{self.config.n_codebooks}")
        if codes.size and (codes.min() < 0 or codes.max() >= self.config.codebook_size):
            raise InputError(f"codes must be in [0, {self.config.codebook_size})")
        return codes.astype(np.int64, copy=False)

    def trunk(self, codes: np.ndarray) -> np.ndarray:
        """Frame states ``[B, T, D]`` before codebook 0, all frames at once."""
        b, n, t = codes.shape
        previous = np.concatenate([np.full((b, n, 1), self.config.codebook_size), codes[:, :, :-1]], axis=2)
        x = self.frame_input(previous.transpose(0, 2, 1), n)
        pos = np.arange(t)
        distance = pos[:, None] - pos[None, :]
        for layer in self.layers:
            att = self._attend(*self._qkv(layer, layer_norm(x, self.eps)), distance)
            x = clamp(x + layer.o(self._merge(att)))
            x = self._feed_forward(layer, x)
        return x

    def logits(self, codes: np.ndarray) -> np.ndarray:
        """Integer logits ``[B, T, n, V]`` (units ``2**-8`` bits) of every code of a chunk."""
        codes = self.check_codes(codes)
        state = self.trunk(codes)
        out = []
        for k in range(codes.shape[1]):
            out.append(self.codebook_logits(state, k))
            state = self.next_state(state, k, codes[:, k])
        return np.stack(out, axis=2)

    def frequencies(self, codes: np.ndarray) -> np.ndarray:
        """Frequency tables ``[B, T, n, V]`` (rows sum to ``2**24``) of every code of a chunk."""
        return frequencies_from_logits(self.logits(codes), self.floor)

    def decoder(self, batch: int, n: int) -> FrameDecoder:
        """A :class:`FrameDecoder` for ``batch`` streams of ``n`` codebooks, at a chunk start."""
        return FrameDecoder(self, batch, n)


class FrameDecoder:
    """The decoder's way: the same tables one frame and one codebook at a time.

    Example::

        dec = lm.decoder(batch=channels, n=n_codebooks)
        for t in range(frames):
            dec.start_frame()
            for k in range(n):
                freqs = dec.frequencies(k)       # [batch, V]
                code = <decode with freqs>      # [batch]
                dec.push(k, code)
    """

    def __init__(self, lm: IntegerLM, batch: int, n: int) -> None:
        if not 1 <= n <= lm.config.n_codebooks:
            raise InputError(f"{n} codebooks; this LM codes 1..{lm.config.n_codebooks}")
        self.lm, self.batch, self.n = lm, batch, n
        self.previous = np.full((batch, n), lm.config.codebook_size, dtype=np.int64)
        self.current = np.zeros((batch, n), dtype=np.int64)
        self.cache: list[tuple[np.ndarray, np.ndarray]] = []  # per layer: keys, values [B, H, W, Dh]
        self.state: np.ndarray | None = None
        self.pending = 0  # next codebook expected by push()
        self.frame_logits: np.ndarray | None = None  # [B, n, V] when the heads run fused

    def start_frame(self) -> None:
        """Advance the transformer by one frame (after all codes of the previous one)."""
        if self.state is not None and self.pending != self.n:
            raise InputError("start_frame() before every codebook of the frame was pushed")
        if self.state is not None:
            self.previous = self.current.copy()
        lm, window = self.lm, self.lm.config.context_frames
        x = lm.frame_input(self.previous, self.n)[:, None, :]  # [B, 1, D]
        for i, layer in enumerate(lm.layers):
            q, k, v = lm._qkv(layer, layer_norm(x, lm.eps))
            if i < len(self.cache):
                old_k, old_v = self.cache[i]
                k = np.concatenate([old_k[:, :, -(window - 1) :] if window > 1 else old_k[:, :, :0], k], axis=2)
                v = np.concatenate([old_v[:, :, -(window - 1) :] if window > 1 else old_v[:, :, :0], v], axis=2)
                self.cache[i] = (k, v)
            else:
                self.cache.append((k, v))
            distance = (k.shape[2] - 1 - np.arange(k.shape[2]))[None, :]
            att = lm._attend(q, k, v, distance)
            x = clamp(x + layer.o(lm._merge(att)))
            x = lm._feed_forward(layer, x)
        self.state = x[:, 0]
        self.pending = 0
        if lm.fused_heads is not None:
            size = lm.config.codebook_size
            logits = lm.fused_heads(layer_norm(self.state, lm.eps))
            self.frame_logits = logits[:, : self.n * size].reshape(self.batch, self.n, size)

    def frequencies(self, k: int) -> np.ndarray:
        """Tables ``[batch, V]`` of codebook ``k`` of the current frame."""
        if self.state is None or k != self.pending:
            raise InputError(f"frequencies({k}) out of order: expected codebook {self.pending} after start_frame()")
        if self.frame_logits is not None:
            return frequencies_from_logits(self.frame_logits[:, k], self.lm.floor)
        return frequencies_from_logits(self.lm.codebook_logits(self.state, k), self.lm.floor)

    def push(self, k: int, code: np.ndarray) -> None:
        """Give the decoded codes ``[batch]`` of codebook ``k``."""
        if self.state is None or k != self.pending:
            raise InputError(f"push({k}) out of order: expected codebook {self.pending}")
        code = np.asarray(code, dtype=np.int64).reshape(self.batch)
        self.current[:, k] = code
        self.state = self.lm.next_state(self.state, k, code)
        self.pending += 1
