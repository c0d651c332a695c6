"""Static per-codebook frequency tables: a small saving with no model to run.

Each codebook of a codec gets one integer table (``probabilities.py``) from how often
each code occurs in the codec's training corpus. No context is used, so static coding
is as fast as table look-ups and saves what the codebooks' uneven usage allows (the
paper's "bitrate efficiency" measures exactly that unevenness: at 99% efficiency there
is about 1% to gain). Codes never seen keep a floor, so any code can be coded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from rvqgan.entropy.probabilities import TOTAL, floor_for, frequencies_from_counts
from rvqgan.errors import InputError

STATIC_FLOOR_FRACTION = 1.0 / 1024


def count_codes(chunks: Iterable[np.ndarray], n_codebooks: int, codebook_size: int) -> np.ndarray:
    """How often each code occurs, per codebook.

    Args:
        chunks: int arrays ``[..., K', T]`` with ``K' <= n_codebooks`` codebooks on the
            second-to-last axis.
        n_codebooks: codebooks of the codec.
        codebook_size: entries per codebook.

    Returns:
        int64 counts ``[n_codebooks, codebook_size]``.
    """
    counts = np.zeros((n_codebooks, codebook_size), dtype=np.int64)
    for chunk in chunks:
        chunk = np.asarray(chunk)
        for k in range(min(chunk.shape[-2], n_codebooks)):
            values = chunk[..., k, :].reshape(-1)
            if values.size and (values.min() < 0 or values.max() >= codebook_size):
                raise InputError(f"codes must be in [0, {codebook_size})")
            counts[k] += np.bincount(values, minlength=codebook_size)
    return counts


@dataclass(frozen=True)
class StaticTables:
    """Per-codebook tables of a codec.

    Attributes:
        frequencies: int64 ``[n_codebooks, codebook_size]``, rows summing to ``2**24``.
        floor: the smallest entry any table may hold.
    """

    frequencies: np.ndarray
    floor: int

    @classmethod
    def from_counts(cls, counts: np.ndarray, floor_fraction: float = STATIC_FLOOR_FRACTION) -> StaticTables:
        """Tables proportional to ``counts [K, V]``, each code at least ``floor_fraction / V``."""
        counts = np.asarray(counts)
        if counts.ndim != 2:
            raise InputError(f"counts must be [n_codebooks, codebook_size], got {list(counts.shape)}")
        floor = floor_for(counts.shape[1], floor_fraction)
        return cls(frequencies_from_counts(counts, floor), floor)

    def __post_init__(self) -> None:
        freqs = np.asarray(self.frequencies)
        if freqs.ndim != 2 or freqs.dtype.kind not in "iu":
            raise InputError(f"static tables must be integers [K, V], got {freqs.dtype} {list(freqs.shape)}")
        if freqs.size and (freqs.min() < max(1, self.floor) or np.any(freqs.sum(axis=1) != TOTAL)):
            raise InputError(f"static tables must have entries >= {self.floor} and rows summing to {TOTAL}")

    @property
    def n_codebooks(self) -> int:
        return int(self.frequencies.shape[0])

    @property
    def codebook_size(self) -> int:
        return int(self.frequencies.shape[1])

    def bits_per_code(self, counts: np.ndarray) -> np.ndarray:
        """Mean cost in bits of codes counted in ``counts [K', V]``, per codebook ``[K']``."""
        counts = np.asarray(counts, dtype=np.float64)
        cost = 24 - np.log2(self.frequencies[: counts.shape[0]].astype(np.float64))
        return (counts * cost).sum(axis=1) / np.maximum(counts.sum(axis=1), 1)
