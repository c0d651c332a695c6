"""Entropy coding of one chunk of codes with ``constriction``'s ANS coder.

Tables reach the coder exactly. Each table is a vector of integers ``f`` (every entry
``>= 1``, summing to ``2**24``, see ``probabilities.py``); it is handed to
``constriction.stream.model.Categorical(perfect=False)`` as the float64 array ``f - 1``.
That model's quantizer (``fast_quantized_cdf`` in constriction's source) gives symbol
``i`` the width ``1 + floor(C[i+1] * s) - floor(C[i] * s)`` where ``C`` are the running
sums of the array and ``s = (2**24 - V) / sum``; here ``sum = 2**24 - V``, so ``s = 1``,
every number involved is an integer below 2**24 (exact in float64), and the width is
exactly ``f[i]``. The coder therefore codes with the very integers both sides computed;
the test suite checks the identity by coding symbols of width 1 (exactly 24 bits each).

Chunk payloads are the coder's 32-bit words, little-endian. Decoding checks that the
words are consumed exactly, so a payload that does not belong to its tables is reported
rather than silently turned into wrong codes (the chunk CRC catches damage first).

Symbol order. Static: codebook by codebook, each over channels and frames. LM: frame by
frame, codebook by codebook, channels together — the order in which the decoder learns
the codes it conditions on. ANS is a stack, so the encoder pushes in reverse.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from rvqgan.bitstream.layout import KIND_LM, KIND_STATIC
from rvqgan.entropy.integer_lm import IntegerLM
from rvqgan.entropy.probabilities import TOTAL
from rvqgan.errors import BitstreamError, InputError


@functools.cache
def _constriction() -> Any:
    """The ``constriction`` package, imported when coding first happens.

    Lazy so that training a code LM (e.g. on a GPU machine without it) does not need it.
    """
    try:
        import constriction
    except ImportError as exc:
        raise InputError("entropy coding needs the constriction package: pip install 'constriction>=0.4,<0.6'") from exc
    return constriction


def _ans(words: np.ndarray | None = None) -> Any:
    coder = _constriction().stream.stack.AnsCoder
    return coder() if words is None else coder(words)


# Frames per encode_reverse call in LM coding: bounds the float64 table memory.
_LM_BLOCK_FRAMES = 32
# The encoder evaluates a whole chunk at once (attention scores [C, H, T, T]): chunks of
# LM-coded files are limited to this many frames (~6 s at 86 frames/s; files use ~2 s).
MAX_LM_CHUNK_FRAMES = 512


def _model() -> object:
    return _constriction().stream.model.Categorical(perfect=False)


def _as_probabilities(freqs: np.ndarray) -> np.ndarray:
    """The float64 array whose constriction quantization is exactly ``freqs`` (see module doc)."""
    return np.ascontiguousarray(freqs.reshape(-1, freqs.shape[-1]) - 1, dtype=np.float64)


def _payload(coder: object) -> bytes:
    words = np.asarray(coder.get_compressed(), dtype="<u4")  # type: ignore[attr-defined]
    return words.tobytes()


def _words(payload: bytes) -> np.ndarray:
    if len(payload) % 4:
        raise BitstreamError(f"an entropy-coded payload is a whole number of 32-bit words, got {len(payload)} bytes")
    return np.frombuffer(payload, dtype="<u4").astype(np.uint32)  # native order, any machine


class _Decoder:
    """Pops symbols from a payload; :meth:`finish` checks it was used up exactly."""

    def __init__(self, payload: bytes, where: str) -> None:
        self.where = where
        try:
            self.coder = _ans(_words(payload))
        except ValueError as exc:
            raise BitstreamError(f"{where}: entropy-coded payload is invalid ({exc})") from None
        self.model = _model()

    def pop(self, freqs: np.ndarray) -> np.ndarray:
        """Decode one symbol per table row of ``freqs [m, V]``."""
        try:
            return np.asarray(self.coder.decode(self.model, _as_probabilities(freqs)), dtype=np.int64)
        except ValueError as exc:
            raise BitstreamError(f"{self.where}: entropy-coded payload is invalid ({exc})") from None

    def pop_fixed(self, model: object, count: int) -> np.ndarray:
        try:
            return np.asarray(self.coder.decode(model, count), dtype=np.int64)
        except ValueError as exc:
            raise BitstreamError(f"{self.where}: entropy-coded payload is invalid ({exc})") from None

    def finish(self) -> None:
        if not self.coder.is_empty():
            raise BitstreamError(
                f"{self.where}: entropy-coded payload does not match the codes' model "
                "(corrupt, or coded with a different entropy model)"
            )


class StaticCoder:
    """Codes chunks with fixed per-codebook tables (the zero-model option).

    Args:
        tables: int ``[K, V]`` frequency tables, rows summing to ``2**24``.
        channels: audio channels per chunk.
        n_codebooks: codebooks per frame in the file (the first ``n`` tables are used).
    """

    kind = KIND_STATIC

    def __init__(self, tables: np.ndarray, channels: int, n_codebooks: int) -> None:
        tables = np.asarray(tables, dtype=np.int64)
        if tables.ndim != 2 or n_codebooks > tables.shape[0] or np.any(tables.sum(axis=1) != TOTAL):
            raise BitstreamError(f"static tables {list(tables.shape)} cannot code {n_codebooks} codebooks")
        self.channels, self.n_codebooks = channels, n_codebooks
        self.models = [
            _constriction().stream.model.Categorical(_as_probabilities(tables[k])[0], perfect=False)
            for k in range(n_codebooks)
        ]

    def encode(self, codes: np.ndarray) -> bytes:
        """Payload for int codes ``[channels, n_codebooks, n]``."""
        coder = _ans()
        for k in reversed(range(self.n_codebooks)):
            coder.encode_reverse(np.ascontiguousarray(codes[:, k, :].reshape(-1), dtype=np.int32), self.models[k])
        return _payload(coder)

    def decode(self, kind: int, payload: bytes, n_frames: int) -> np.ndarray:
        """Codes int64 ``[channels, n_codebooks, n_frames]`` of a static-coded payload."""
        if kind != KIND_STATIC:
            raise BitstreamError(f"a static-table decoder cannot decode chunk kind 0x{kind:02x}")
        decoder = _Decoder(payload, "static-coded chunk")
        rows = [decoder.pop_fixed(self.models[k], self.channels * n_frames) for k in range(self.n_codebooks)]
        decoder.finish()
        return np.stack(rows).reshape(self.n_codebooks, self.channels, n_frames).transpose(1, 0, 2).copy()


class LMCoder:
    """Codes chunks with the code LM's tables; each chunk starts the LM afresh.

    Args:
        lm: the integer code LM.
        channels: audio channels per chunk (coded together as a batch).
        n_codebooks: codebooks per frame in the file.
    """

    kind = KIND_LM

    def __init__(self, lm: IntegerLM, channels: int, n_codebooks: int) -> None:
        if not 1 <= n_codebooks <= lm.config.n_codebooks:
            raise BitstreamError(f"the code LM codes 1..{lm.config.n_codebooks} codebooks, not {n_codebooks}")
        self.lm, self.channels, self.n_codebooks = lm, channels, n_codebooks

    def encode(self, codes: np.ndarray) -> bytes:
        """Payload for int codes ``[channels, n_codebooks, n]``, ``n <= MAX_LM_CHUNK_FRAMES``."""
        if codes.shape[2] > MAX_LM_CHUNK_FRAMES:
            raise InputError(
                f"LM coding takes chunks of at most {MAX_LM_CHUNK_FRAMES} frames, got {codes.shape[2]}; "
                "use a smaller chunk_frames"
            )
        freqs = self.lm.frequencies(codes)  # [C, T, n, V]
        symbols = np.ascontiguousarray(codes.transpose(2, 1, 0), dtype=np.int32)  # [T, n, C]: decode order
        freqs = freqs.transpose(1, 2, 0, 3)  # [T, n, C, V]
        coder, model = _ans(), _model()
        frames = codes.shape[2]
        for start in reversed(range(0, frames, _LM_BLOCK_FRAMES)):
            stop = min(frames, start + _LM_BLOCK_FRAMES)
            coder.encode_reverse(symbols[start:stop].reshape(-1), model, _as_probabilities(freqs[start:stop]))
        return _payload(coder)

    def decode(self, kind: int, payload: bytes, n_frames: int) -> np.ndarray:
        """Codes int64 ``[channels, n_codebooks, n_frames]`` of an LM-coded payload."""
        if kind != KIND_LM:
            raise BitstreamError(f"a code-LM decoder cannot decode chunk kind 0x{kind:02x}")
        decoder = _Decoder(payload, "LM-coded chunk")
        frames = self.lm.decoder(self.channels, self.n_codebooks)
        codes = np.zeros((self.channels, self.n_codebooks, n_frames), dtype=np.int64)
        for t in range(n_frames):
            frames.start_frame()
            for k in range(self.n_codebooks):
                symbols = decoder.pop(frames.frequencies(k))
                codes[:, k, t] = symbols
                frames.push(k, symbols)
        decoder.finish()
        return codes
