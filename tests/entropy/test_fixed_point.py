"""Exact integer arithmetic: the exp table, integer square roots, rounding, exact products."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rvqgan.entropy.fixed_point import (
    ACT_CLAMP,
    EXP_MAX_INDEX,
    check_exact_matmul,
    exact_matmul,
    exp2_table,
    isqrt,
    layer_norm,
    rounded_div,
    rounded_shift,
)
from rvqgan.errors import CheckpointError


def test_exp2_table_is_the_rounded_power_of_two():
    table = exp2_table()
    d = np.arange(EXP_MAX_INDEX)
    assert table[0] == 1 << 16 and table[-1] == 0 and len(table) == EXP_MAX_INDEX + 1
    assert np.all(np.diff(table) <= 0)
    # Exactly round(2**16 * 2**(-d/256)) (no float value lies within 1e-6 of a tie here).
    np.testing.assert_array_equal(table[:-1], np.floor(2.0**16 * 2.0 ** (-d / 256) + 0.5).astype(np.int64))


def test_isqrt_is_exact_at_and_around_squares():
    roots = np.array([0, 1, 2, 3, 1000, 46340, 2**25, 2**26 - 1], dtype=np.int64)
    values = np.concatenate([roots * roots, roots * roots - 1, roots * roots + 1, [2**52 - 1]])
    values = values[values >= 0]
    expected = [math.isqrt(int(v)) for v in values]
    np.testing.assert_array_equal(isqrt(values), expected)
    rng = np.random.default_rng(0)
    random = rng.integers(0, 2**52, size=10_000)
    np.testing.assert_array_equal(isqrt(random), [math.isqrt(int(v)) for v in random])


def test_rounding_helpers_match_python_integers():
    rng = np.random.default_rng(1)
    values = rng.integers(-(2**40), 2**40, size=1000)
    for shift in (1, 5, 12):
        expected = [(int(v) + (1 << (shift - 1))) >> shift for v in values]
        np.testing.assert_array_equal(rounded_shift(values, shift), expected)
    den = rng.integers(1, 2**20, size=1000)
    np.testing.assert_array_equal(
        rounded_div(values, den), [(int(v) + int(d) // 2) // int(d) for v, d in zip(values, den)]
    )


def test_exact_matmul_is_the_integer_product_whatever_the_layout():
    rng = np.random.default_rng(2)
    x = rng.integers(-ACT_CLAMP, ACT_CLAMP + 1, size=(7, 300))
    w = rng.integers(-127, 128, size=(300, 50))
    exact = np.array([[sum(int(a) * int(b) for a, b in zip(row, col)) for col in w.T] for row in x[:2]])
    full = exact_matmul(x, w.astype(np.float64))
    np.testing.assert_array_equal(full[:2], exact)
    for i in range(7):  # one row at a time gives the same integers
        np.testing.assert_array_equal(exact_matmul(x[i : i + 1], w.astype(np.float64)), full[i : i + 1])


def test_products_beyond_exact_float_range_are_refused():
    check_exact_matmul("ok", 800, ACT_CLAMP, 127)
    with pytest.raises(CheckpointError, match="2\\*\\*50"):
        check_exact_matmul("too big", 800, ACT_CLAMP, 1 << 24)


def test_integer_layer_norm_normalises():
    rng = np.random.default_rng(3)
    x = rng.integers(-5000, 5000, size=(4, 64)) + 3000
    y = layer_norm(x, eps=10) / 1024
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=0.01)
    np.testing.assert_allclose(y.std(axis=-1), 1, atol=0.01)
    assert layer_norm(np.zeros((2, 8), dtype=np.int64), eps=10).tolist() == [[0] * 8] * 2
