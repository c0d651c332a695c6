"""Codebook usage over a whole test set: utilization, entropy and bitrate efficiency.

The paper's bitrate efficiency is the sum over codebooks of the entropy (in bits) of each
codebook's code distribution, measured over a large test set, divided by the bits spent
(``n_codebooks * log2(codebook_size)``): 100% means every code is used equally often, so
an entropy coder could not shrink the stream.

Histograms are accumulated as integer counts so that the statistics of a test set do not
depend on the order or the batching of its clips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rvqgan.errors import InputError


def code_histogram(codes: np.ndarray, codebook_size: int) -> np.ndarray:
    """Counts of each code per codebook.

    Args:
        codes: integer array of shape (K, T) or (B, K, T).
        codebook_size: entries per codebook.

    Returns:
        int64 array of shape (K, codebook_size).
    """
    codes = np.asarray(codes)
    if codes.ndim == 2:
        codes = codes[None]
    if codes.ndim != 3:
        raise InputError(f"codes must have shape (K, T) or (B, K, T), got {codes.shape}")
    if codes.size and (codes.min() < 0 or codes.max() >= codebook_size):
        raise InputError(f"codes must lie in [0, {codebook_size}), got [{codes.min()}, {codes.max()}]")
    flat = codes.transpose(1, 0, 2).reshape(codes.shape[1], -1).astype(np.int64)
    # One bincount over offset codes gives every codebook's histogram at once.
    offsets = np.arange(codes.shape[1], dtype=np.int64)[:, None] * codebook_size
    counts = np.bincount((flat + offsets).ravel(), minlength=codes.shape[1] * codebook_size)
    return counts.reshape(codes.shape[1], codebook_size)


def entropy_bits(counts: np.ndarray) -> np.ndarray:
    """Entropy in bits of each row of a histogram.

    Args:
        counts: non-negative array of shape (..., codebook_size).

    Returns:
        array of shape (...); 0 for an empty row.
    """
    counts = np.asarray(counts, np.float64)
    totals = counts.sum(-1, keepdims=True)
    p = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    logs = np.log2(p, out=np.zeros_like(p), where=p > 0)
    return -(p * logs).sum(-1)


def utilization(counts: np.ndarray) -> np.ndarray:
    """Fraction of the codes of each row that occur at least once; shape (...)."""
    counts = np.asarray(counts)
    return (counts > 0).sum(-1) / counts.shape[-1]


def bitrate_efficiency(counts: np.ndarray, n_codebooks: int | None = None) -> float:
    """Sum of the entropies of the first ``n_codebooks`` rows over the bits they cost.

    Args:
        counts: shape (K, codebook_size).
        n_codebooks: codebooks in use (default all K).
    """
    counts = np.asarray(counts)
    n = counts.shape[0] if n_codebooks is None else n_codebooks
    if not 1 <= n <= counts.shape[0]:
        raise InputError(f"n_codebooks must be in [1, {counts.shape[0]}], got {n}")
    return float(entropy_bits(counts[:n]).sum() / (n * math.log2(counts.shape[1])))


@dataclass
class CodeUsage:
    """Code counts accumulated over the clips of a test set.

    Attributes:
        codebook_size: entries per codebook.
        counts: int64 (K, codebook_size) histogram, ``None`` until the first :meth:`add`.
        clips: identifiers of the clips already counted (adding one twice is a no-op, so
            a resumed evaluation never counts a clip twice).
    """

    codebook_size: int
    counts: np.ndarray | None = None
    clips: list[str] = field(default_factory=list)

    def add(self, codes: np.ndarray, clip: str) -> bool:
        """Count ``codes`` (K, T) of ``clip``; returns False if the clip was counted before."""
        if clip in self.clips:
            return False
        hist = code_histogram(codes, self.codebook_size)
        if self.counts is None:
            self.counts = hist
        elif self.counts.shape != hist.shape:
            raise InputError(f"codes of {hist.shape[0]} codebooks added to a histogram of {self.counts.shape[0]}")
        else:
            self.counts = self.counts + hist
        self.clips.append(clip)
        return True

    def to_dict(self) -> dict:
        """JSON-ready form (counts as nested lists)."""
        counts = None if self.counts is None else self.counts.tolist()
        return {"codebook_size": self.codebook_size, "clips": list(self.clips), "counts": counts}

    @classmethod
    def from_dict(cls, data: dict) -> CodeUsage:
        counts = None if data.get("counts") is None else np.asarray(data["counts"], np.int64)
        return cls(int(data["codebook_size"]), counts, list(data.get("clips", [])))

    def table(self) -> list[dict[str, float]]:
        """One row per codebook: utilization, entropy (bits), and the efficiency of the
        first k codebooks together."""
        if self.counts is None:
            return []
        ent = entropy_bits(self.counts)
        util = utilization(self.counts)
        return [
            {
                "codebook": k + 1,
                "utilization": float(util[k]),
                "entropy_bits": float(ent[k]),
                "efficiency_first_k": bitrate_efficiency(self.counts, k + 1),
            }
            for k in range(self.counts.shape[0])
        ]
