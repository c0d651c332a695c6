"""Integer probability tables for the range coder, with a guaranteed floor per symbol.

Every table that drives the coder is a vector of positive integers ``f`` summing to
exactly ``TOTAL = 2**24`` (``constriction``'s default precision), built by exact integer
arithmetic from integer logits (:func:`frequencies_from_logits`) or counts
(:func:`frequencies_from_counts`). Each symbol gets at least ``floor`` (>= 1), so any
code can be coded, at a cost of at most ``24 - log2(floor)`` bits, whatever the model
says; the rest of the mass is shared in proportion to ``2**logit`` or to the counts.

Float logits from outside the fixed-point model (tests, experiments) go through
:func:`quantize_logits` first, which maps NaN, infinities and huge values to the
integer range, so not even a broken float model can produce a zero frequency.
"""

from __future__ import annotations

import numpy as np

from rvqgan.entropy.fixed_point import EXP_MAX_INDEX, LOGIT_BITS, clamp, exp2_table
from rvqgan.errors import InputError

PRECISION = 24
TOTAL = 1 << PRECISION
# Integer logits are clamped to this magnitude (units 2**-8 bits: +-2**22 bits).
LOGIT_CLAMP = 1 << 30


def floor_for(codebook_size: int, floor_fraction: float) -> int:
    """Per-symbol floor: about ``floor_fraction`` of the total mass shared by all symbols.

    Args:
        codebook_size: symbols per table.
        floor_fraction: share of the mass kept uniform, in ``[0, 0.5]``.

    Returns:
        The integer floor, at least 1; the worst-case cost of a symbol is
        ``PRECISION - log2(floor)`` bits.
    """
    if not 2 <= codebook_size <= TOTAL // 4:
        raise InputError(f"codebook_size must be in [2, {TOTAL // 4}], got {codebook_size}")
    if not 0.0 <= floor_fraction <= 0.5:
        raise InputError(f"floor_fraction must be in [0, 0.5], got {floor_fraction}")
    return max(1, int(TOTAL * floor_fraction) // codebook_size)


def _share(weights: np.ndarray, floor: int) -> np.ndarray:
    """``floor + weights * spare // sum(weights)``, remainder to the first largest weight.

    Args:
        weights: int64 ``[..., V]``, non-negative, each row with a positive sum, every
            weight below ``2**38`` (so that ``weight * spare`` stays exact).
        floor: per-symbol minimum.

    Returns:
        int64 ``[..., V]`` summing to ``TOTAL`` along the last axis, every entry >= floor.
    """
    size = weights.shape[-1]
    spare = TOTAL - size * floor
    if spare < 0:
        raise InputError(f"a floor of {floor} for {size} symbols exceeds the total {TOTAL}")
    rows = weights.reshape(-1, size)
    freqs = floor + (rows * spare) // rows.sum(axis=1, keepdims=True)
    # The remainder (< size) goes to the first index of the largest weight.
    freqs[np.arange(rows.shape[0]), rows.argmax(axis=1)] += TOTAL - freqs.sum(axis=1)
    return freqs.reshape(weights.shape)


def frequencies_from_logits(logits: np.ndarray, floor: int) -> np.ndarray:
    """Frequency tables from integer logits (units ``2**-8`` bits, i.e. base-2 log-odds).

    ``f_i = floor + (TOTAL - V*floor) * E[max - z_i] // sum_j E[max - z_j]`` with the
    exact table ``E[d] = round(2**16 * 2**(-d/256))`` (:func:`~rvqgan.entropy.fixed_point.exp2_table`),
    the integer remainder going to the first most likely symbol.

    Args:
        logits: integer ``[..., V]``, any values (clamped to ``±LOGIT_CLAMP``).
        floor: per-symbol minimum (:func:`floor_for`).

    Returns:
        int64 ``[..., V]``: each row sums to ``TOTAL``, every entry ``>= floor``.
    """
    z = clamp(np.asarray(logits, dtype=np.int64), LOGIT_CLAMP)
    gap = np.minimum(z.max(axis=-1, keepdims=True) - z, EXP_MAX_INDEX)
    return _share(exp2_table()[gap], floor)


def frequencies_from_counts(counts: np.ndarray, floor: int) -> np.ndarray:
    """Frequency tables proportional to symbol counts (static tables).

    Args:
        counts: non-negative integers ``[..., V]`` (rows of all zeros give uniform tables).
        floor: per-symbol minimum.

    Returns:
        int64 ``[..., V]``: each row sums to ``TOTAL``, every entry ``>= floor``.
    """
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size and counts.min() < 0:
        raise InputError("symbol counts must be non-negative")
    # Scale rows down so that count * spare stays exact in int64 (spare < 2**24).
    biggest = int(counts.max()) if counts.size else 0
    if biggest >= 1 << 38:
        counts = counts >> (biggest.bit_length() - 38)
    counts = counts + (counts.sum(axis=-1, keepdims=True) == 0)  # empty rows: uniform
    return _share(counts, floor)


def quantize_logits(logits: np.ndarray) -> np.ndarray:
    """Float logits (natural log units) to integer logits; NaN and infinities made safe.

    NaN counts as the least likely value, ``+inf`` as the most likely, ``-inf`` as the
    least; everything is clamped to ``±LOGIT_CLAMP``. Used only outside the coding path
    (which is integer end to end) to test the floor guarantee and build experiments.

    Returns:
        int64, same shape.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is handled just below
        x = np.asarray(logits, dtype=np.float64) * (np.log2(np.e) * (1 << LOGIT_BITS))
    x = np.nan_to_num(x, nan=-float(LOGIT_CLAMP), posinf=float(LOGIT_CLAMP), neginf=-float(LOGIT_CLAMP))
    return np.clip(np.round(x), -LOGIT_CLAMP, LOGIT_CLAMP).astype(np.int64)


def check_table(freqs: np.ndarray, floor: int = 1) -> None:
    """Raise InputError unless every row sums to ``TOTAL`` with entries ``>= floor``."""
    freqs = np.asarray(freqs)
    if freqs.dtype.kind not in "iu" or freqs.ndim < 1:
        raise InputError(f"frequency tables must be integer arrays, got {freqs.dtype}")
    if freqs.size and (freqs.min() < floor or np.any(freqs.sum(axis=-1) != TOTAL)):
        raise InputError(f"frequency tables must hold entries >= {floor} summing to {TOTAL} per row")


def table_bits(freqs: np.ndarray, symbols: np.ndarray) -> float:
    """Information content in bits of ``symbols`` under tables ``freqs [..., V]`` (for reports)."""
    chosen = np.take_along_axis(np.asarray(freqs), np.asarray(symbols)[..., None], axis=-1)[..., 0]
    return float(np.sum(PRECISION - np.log2(chosen.astype(np.float64))))


__all__ = [
    "LOGIT_CLAMP",
    "PRECISION",
    "TOTAL",
    "check_table",
    "floor_for",
    "frequencies_from_counts",
    "frequencies_from_logits",
    "quantize_logits",
    "table_bits",
]
