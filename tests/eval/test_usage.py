"""Codebook statistics are exact on hand-made histograms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rvqgan.errors import InputError
from rvqgan.eval.usage import CodeUsage, bitrate_efficiency, code_histogram, entropy_bits, utilization


def test_histogram_counts_each_codebook_separately():
    codes = np.array([[0, 0, 1, 1], [0, 1, 2, 3]])  # (K=2, T=4), codebook size 4
    hist = code_histogram(codes, 4)
    assert hist.tolist() == [[2, 2, 0, 0], [1, 1, 1, 1]]
    batched = code_histogram(np.stack([codes, codes]), 4)  # (B, K, T)
    assert batched.tolist() == [[4, 4, 0, 0], [2, 2, 2, 2]]


def test_entropy_utilization_and_efficiency_are_exact():
    counts = np.array([[2, 2, 0, 0], [1, 1, 1, 1], [8, 0, 0, 0], [0, 0, 0, 0]])
    assert entropy_bits(counts).tolist() == [1.0, 2.0, 0.0, 0.0]
    assert utilization(counts).tolist() == [0.5, 1.0, 0.25, 0.0]
    assert bitrate_efficiency(counts[:2]) == 0.75  # (1 + 2) bits of 2 x 2
    assert bitrate_efficiency(counts[:2], 1) == 0.5
    skewed = np.array([[3, 1]])  # H = -(3/4 log2 3/4 + 1/4 log2 1/4)
    assert entropy_bits(skewed)[0] == pytest.approx(2 - 0.75 * math.log2(3), abs=1e-12)


def test_uniform_usage_is_fully_efficient():
    codes = np.tile(np.arange(1024), 3).reshape(3, 1024)
    assert bitrate_efficiency(code_histogram(codes, 1024)) == pytest.approx(1.0, abs=1e-12)


def test_code_usage_counts_a_clip_once_and_round_trips():
    usage = CodeUsage(4)
    assert usage.add(np.array([[0, 1], [2, 2]]), "a")
    assert not usage.add(np.array([[0, 1], [2, 2]]), "a")  # a resumed run re-adding "a"
    assert usage.add(np.array([[3, 3], [2, 0]]), "b")
    assert usage.counts.tolist() == [[1, 1, 0, 2], [1, 0, 3, 0]]
    again = CodeUsage.from_dict(usage.to_dict())
    assert again.counts.tolist() == usage.counts.tolist() and again.clips == ["a", "b"]
    table = usage.table()
    assert [row["utilization"] for row in table] == [0.75, 0.5]
    assert table[1]["efficiency_first_k"] == pytest.approx(bitrate_efficiency(usage.counts))


def test_bad_codes_raise_input_error():
    with pytest.raises(InputError):
        code_histogram(np.array([[0, 4]]), 4)
    with pytest.raises(InputError):
        code_histogram(np.zeros(3, int), 4)
    with pytest.raises(InputError):
        bitrate_efficiency(np.ones((2, 4)), 3)
