"""Integer tables: every symbol gets at least the floor, whatever the model outputs."""

from __future__ import annotations

import numpy as np
import pytest

from rvqgan.entropy.probabilities import (
    TOTAL,
    check_table,
    floor_for,
    frequencies_from_counts,
    frequencies_from_logits,
    quantize_logits,
)
from rvqgan.errors import InputError

BIG = np.iinfo(np.int64).max


def _assert_valid(freqs: np.ndarray, floor: int) -> None:
    assert freqs.dtype == np.int64
    assert np.all(freqs.sum(axis=-1) == TOTAL)
    assert freqs.min() >= floor >= 1


@pytest.mark.parametrize("size", [2, 64, 1024])
def test_adversarial_integer_logits_keep_the_floor(size):
    floor = floor_for(size, 1 / 256)
    rng = np.random.default_rng(size)
    cases = [
        np.zeros(size, dtype=np.int64),  # uniform
        np.where(np.arange(size) == 1, BIG, 0),  # one huge logit
        np.where(np.arange(size) == 1, -BIG, BIG),  # all huge but one
        np.full(size, -BIG),  # underflow everywhere
        rng.integers(-(2**62), 2**62, size=size),  # wild values
        np.where(np.arange(size) == size - 1, 10**6, -(10**6)),  # extreme confidence
    ]
    for logits in cases:
        freqs = frequencies_from_logits(logits, floor)
        _assert_valid(freqs, floor)
        assert np.argmax(freqs) == np.argmax(np.clip(logits, -(2**30), 2**30))


def test_float_logits_with_nan_inf_and_overflow_are_made_safe():
    floor = floor_for(16, 1 / 256)
    logits = np.array([np.nan, np.inf, -np.inf, 1e308, -1e308, 5e-324, 0.0, 3.0] * 2)
    freqs = frequencies_from_logits(quantize_logits(logits), floor)
    _assert_valid(freqs, floor)
    all_nan = frequencies_from_logits(quantize_logits(np.full((3, 16), np.nan)), floor)
    _assert_valid(all_nan, floor)
    np.testing.assert_array_equal(all_nan[0], all_nan[1])


def test_tables_follow_the_logits():
    floor = floor_for(4, 1 / 256)
    logits = np.array([0, 256, 512, 768])  # 0, 1, 2, 3 bits: probabilities ~ 1 : 2 : 4 : 8
    p = frequencies_from_logits(logits, floor) / TOTAL
    np.testing.assert_allclose(p, np.array([1, 2, 4, 8]) / 15, atol=2e-3)


def test_counts_tables_handle_zeros_and_huge_counts():
    floor = floor_for(8, 1 / 1024)
    for counts in (np.zeros((2, 8)), np.array([[2**62, 0, 1, 0, 0, 0, 0, 5]]), np.eye(8)):
        _assert_valid(frequencies_from_counts(counts, floor), floor)
    with pytest.raises(InputError):
        frequencies_from_counts(np.array([[-1, 2]]), floor)


def test_floor_bounds_and_table_check():
    assert floor_for(1024, 1 / 256) == 64  # a code costs at most 24 - 6 = 18 bits
    assert floor_for(1024, 0.0) == 1
    with pytest.raises(InputError):
        floor_for(1024, 0.9)
    with pytest.raises(InputError):
        check_table(np.array([[TOTAL, 0]]))
    check_table(np.array([[TOTAL - 1, 1]]))
