"""Exact integer arithmetic for the code language model: the basis of bit-exact decoding.

Why integers. The entropy decoder must rebuild, bit for bit, the probability tables the
encoder used; one differing table entry desynchronises the coder and the rest of the
chunk decodes to garbage. Floating-point results depend on the order of summation
(thread count, batching, SIMD width, BLAS library and version), and transcendental
functions (``exp``, ``sin``) differ between math libraries in the last bit. Rounding a
float result to a coarse grid does not remove the problem, it only makes it rarer: a
value that lands near a rounding boundary can still fall on either side.

So every quantity that reaches the coder is an integer computed by an exactly
specified integer function of integers:

* **Matrix products** run in float64 on integer-valued operands. IEEE 754 makes every
  addition and multiplication exact when its exact result is an integer of magnitude
  below 2**53, so with all partial sums bounded (:func:`check_exact_matmul`, checked
  when a model is loaded, with a 2**3 margin) the product is the exact integer result
  *whatever the order of summation, blocking, FMA use or thread count*: there is no
  rounding left for them to change. This is what lets a fast BLAS be used at all.
* **Element-wise steps** (rescaling, rounding, clamping, max, sums) run in int64,
  which is exact below 2**63 (bounds again checked at load).
* **Square roots** (layer norm) are computed as :func:`isqrt`, the exact integer square
  root: a float estimate corrected with integer comparisons until ``r*r <= v <
  (r+1)*(r+1)``, so the result does not depend on the float estimate being exact.
* **Exponentials** (softmax, probabilities) come from :func:`exp2_table`, built once
  with Python's arbitrary-precision integers only (integer n-th roots), so the table is
  the same on every machine and Python version.

Fixed-point conventions: hidden activations are integers in units of ``2**-ACT_BITS``
(real value = integer / 1024), clamped to ``±ACT_CLAMP`` before every product; logits
are integers in units of ``2**-LOGIT_BITS`` *bits* (base-2 log-probabilities).
"""

from __future__ import annotations

import functools

import numpy as np

from rvqgan.errors import CheckpointError

ACT_BITS = 10  # hidden activations: integer / 2**10
ACT_CLAMP = (1 << 20) - 1  # |activation| <= 1024 (real) before any product
LOGIT_BITS = 8  # logits: integer / 2**8 bits
EXP_ONE_BITS = 16  # exp2_table()[0] == 2**16
# 2**-d/256 * 2**16 rounds to 0 beyond 17 octaves: the table stops there.
EXP_OCTAVES = EXP_ONE_BITS + 1
EXP_MAX_INDEX = EXP_OCTAVES << LOGIT_BITS  # table length - 1; its last entry is 0
# Largest magnitude any float64 partial sum may reach (2**53 is exact; 2**3 margin
# covers any product algorithm whose intermediate sums exceed the final bound).
FLOAT_EXACT_LIMIT = 1 << 50
INT_LIMIT = 1 << 62
_INT64_MIN = np.int64(-(1 << 63))


def _root_floor(power: int, n: int, estimate: int) -> int:
    """Largest integer ``a`` with ``a**n <= power``, found by stepping from ``estimate``.

    The estimate (from floats) only decides how many steps are taken: the answer is the
    unique integer satisfying ``a**n <= power < (a+1)**n``, the same on every machine.
    """
    a = max(estimate, 0)
    while a**n > power:
        a -= 1
    while (a + 1) ** n <= power:
        a += 1
    return a


@functools.cache
def _fraction_table() -> tuple[int, ...]:
    """``round(2**32 * 2**(-r/256))`` for ``r = 0..255``, by exact integer arithmetic."""
    steps = 1 << LOGIT_BITS
    values = []
    for r in range(steps):
        # x = 2**(32 - r/steps)  <=>  x**steps = 2**(32*steps - r)
        power = 1 << (32 * steps - r)
        a = _root_floor(power, steps, int(2.0 ** (32 - r / steps)))
        # Round half up: a + 1 iff (a + 1/2)**steps <= power, i.e. (2a+1)**steps <= power * 2**steps.
        values.append(a + 1 if (2 * a + 1) ** steps <= power << steps else a)
    return tuple(values)


@functools.cache
def _exp2_table_tuple() -> tuple[int, ...]:
    fractions = _fraction_table()
    table = []
    for index in range(EXP_MAX_INDEX):
        octave, r = divmod(index, 1 << LOGIT_BITS)
        shift = 32 - EXP_ONE_BITS + octave
        table.append((fractions[r] + (1 << (shift - 1))) >> shift)
    table.append(0)
    return tuple(table)


@functools.cache
def exp2_table() -> np.ndarray:
    """``E[d] = round(2**16 * 2**(-d / 256))`` for ``d = 0 .. EXP_MAX_INDEX`` (last entry 0).

    Returns:
        Read-only int64 array of length ``EXP_MAX_INDEX + 1``, non-increasing,
        ``E[0] = 2**16``; computed once per process from integers only.
    """
    table = np.array(_exp2_table_tuple(), dtype=np.int64)
    table.flags.writeable = False
    return table


def clamp(x: np.ndarray, bound: int = ACT_CLAMP) -> np.ndarray:
    """``x`` limited to ``[-bound, bound]`` (two ufuncs: cheaper than ``np.clip`` on small arrays)."""
    return np.minimum(np.maximum(x, -bound), bound)


def isqrt(values: np.ndarray) -> np.ndarray:
    """Exact integer square root ``floor(sqrt(v))`` of int64 values ``0 <= v < 2**52``."""
    values = np.asarray(values, dtype=np.int64)
    root = np.floor(np.sqrt(values.astype(np.float64))).astype(np.int64)
    # The float estimate is within one of the answer (IEEE sqrt is correctly rounded);
    # the loops make the result exact even if it were not.
    while True:
        high = root * root > values
        if not high.any():
            break
        root -= high
    while True:
        low = (root + 1) * (root + 1) <= values
        if not low.any():
            break
        root += low
    return root


def rounded_shift(values: np.ndarray, shift: int | np.ndarray) -> np.ndarray:
    """``round(values / 2**shift)``, halves rounded up, exactly in int64 (``shift >= 1``;
    an int64 array of shifts applies one per element, broadcast from the right)."""
    if isinstance(shift, (int, np.integer)):
        return np.floor_divide(values + (1 << (int(shift) - 1)), 1 << int(shift))
    one = np.int64(1)
    return np.floor_divide(values + (one << (shift - 1)), one << shift)


def rounded_div(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``round(numerator / denominator)`` for positive int64 denominators, halves up."""
    return np.floor_divide(numerator + denominator // 2, denominator)


def exact_matmul(x: np.ndarray, weight_t: np.ndarray) -> np.ndarray:
    """Integer product ``x @ weight_t`` of int64 ``x`` and a float64 matrix of integers.

    Exact (hence independent of the BLAS, its threads and the batch layout) as long as
    every partial sum stays below :data:`FLOAT_EXACT_LIMIT`, which callers guarantee by
    clamping ``x`` and checking the weights with :func:`check_exact_matmul`.
    """
    return np.matmul(x.astype(np.float64), weight_t).astype(np.int64)


def check_exact_matmul(name: str, n_terms: int, x_bound: int, w_bound: int) -> int:
    """Raise unless a sum of ``n_terms`` products ``|x| <= x_bound``, ``|w| <= w_bound`` is exact.

    Returns:
        The bound on the result's magnitude.
    """
    bound = n_terms * x_bound * w_bound
    if bound >= FLOAT_EXACT_LIMIT:
        raise CheckpointError(
            f"code LM layer {name}: products may reach {bound:.3g} >= 2**50, beyond exact float64 "
            "integer arithmetic; the LM file is corrupt or was exported wrongly"
        )
    return bound


def check_int(name: str, bound: int) -> None:
    """Raise unless an int64 intermediate bounded by ``bound`` cannot overflow."""
    if bound >= INT_LIMIT:
        raise CheckpointError(f"code LM layer {name}: intermediate values may reach {bound:.3g} >= 2**62")


def layer_norm(x: np.ndarray, eps: int) -> np.ndarray:
    """Integer layer norm over the last axis (no affine part; it is folded into the next layer).

    Args:
        x: int64 ``[..., d]`` activations (units ``2**-ACT_BITS``), ``|x| <= ACT_CLAMP``.
        eps: variance floor in units of ``2**(-2*ACT_BITS)`` (>= 1).

    Returns:
        int64 ``[..., d]``: ``(x - mean) / sqrt(var + eps)`` in units of ``2**-ACT_BITS``.
    """
    d = x.shape[-1]
    x = clamp(x)
    mean = np.floor_divide(x.sum(axis=-1, keepdims=True), d)
    centred = x - mean
    var = np.floor_divide((centred * centred).sum(axis=-1, keepdims=True), d) + eps
    return np.floor_divide(centred << ACT_BITS, isqrt(var))


def check_layer_norm(d: int) -> None:
    """Bounds of :func:`layer_norm` for width ``d``: its sums in int64, its variance in isqrt's range."""
    centred = 2 * ACT_CLAMP + 1
    check_int("layer_norm", d * centred * centred)
    if centred * centred >= 1 << 52:
        raise CheckpointError("layer-norm variances would exceed the exact isqrt range")


def softmax_weights(scores: np.ndarray, allowed: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Unnormalised integer softmax weights ``2**16 * 2**(score - max)`` (0 where not allowed).

    Args:
        scores: int64 ``[..., n]`` in units of ``2**-LOGIT_BITS`` bits.
        allowed: bool, broadcastable to ``scores``; every row has at least one ``True``.
        table: :func:`exp2_table`.

    Returns:
        int64 ``[..., n]`` in ``[0, 2**16]``; the largest allowed entry of a row is ``2**16``.
    """
    masked = np.where(allowed, scores, _INT64_MIN)
    top = masked.max(axis=-1, keepdims=True)
    gap = np.minimum(top - np.where(allowed, scores, top), EXP_MAX_INDEX)
    return np.where(allowed, table[gap], 0)
