"""The ANS coder: exact tables, adversarial sequences within the floor's bound, bad payloads."""

from __future__ import annotations

import numpy as np
import pytest

from rvqgan.bitstream import KIND_LM, KIND_STATIC
from rvqgan.entropy.coder import LMCoder, StaticCoder
from rvqgan.entropy.probabilities import PRECISION, TOTAL
from rvqgan.entropy.static import StaticTables
from rvqgan.errors import BitstreamError
from tests.entropy.conftest import integer_lm, markov_codes

V = 64


def _skewed_tables(k: int = 4) -> StaticTables:
    counts = np.zeros((k, V), dtype=np.int64)
    counts[:, :8] = 10_000  # eight common codes, the rest only at the floor
    return StaticTables.from_counts(counts)


def test_the_coder_uses_the_integer_tables_exactly():
    # Width-1 symbols (probability 2**-24) must cost exactly 24 bits each: constriction
    # quantized our table to itself, not to an approximation of it.
    table = np.ones((1, V), dtype=np.int64)
    table[0, 0] = TOTAL - (V - 1)
    coder = StaticCoder(table, channels=1, n_codebooks=1)
    payload = coder.encode(np.full((1, 1, 100), 5))
    assert len(payload) * 8 == 100 * PRECISION
    np.testing.assert_array_equal(coder.decode(KIND_STATIC, payload, 100), np.full((1, 1, 100), 5))


@pytest.mark.parametrize("case", ["one_symbol_common", "one_symbol_rare", "uniform_random"])
def test_adversarial_sequences_round_trip_within_the_floor_bound(case):
    tables = _skewed_tables()
    rng = np.random.default_rng(0)
    shape = (2, 4, 300)
    codes = {
        "one_symbol_common": np.zeros(shape, dtype=np.int64),
        "one_symbol_rare": np.full(shape, V - 1),
        "uniform_random": rng.integers(0, V, size=shape),
    }[case]
    coder = StaticCoder(tables.frequencies, channels=2, n_codebooks=4)
    payload = coder.encode(codes)
    np.testing.assert_array_equal(coder.decode(KIND_STATIC, payload, 300), codes)
    bound_bits = codes.size * (PRECISION - np.log2(tables.floor)) + 64  # + the coder's final state
    assert len(payload) * 8 <= bound_bits


def test_lm_coder_round_trips_and_pays_about_the_information():
    lm = integer_lm(0)
    codes = markov_codes(np.random.default_rng(1), 2, 3, 50)
    coder = LMCoder(lm, channels=2, n_codebooks=3)
    payload = coder.encode(codes)
    np.testing.assert_array_equal(coder.decode(KIND_LM, payload, 50), codes)
    freqs = lm.frequencies(codes)  # [C, T, n, V]
    chosen = np.take_along_axis(freqs, codes.transpose(0, 2, 1)[..., None], axis=-1)
    information = np.sum(PRECISION - np.log2(chosen.astype(np.float64)))
    assert information <= len(payload) * 8 <= information + 64


def test_lm_adversarial_codes_stay_within_the_floor_bound():
    lm = integer_lm(2)
    rng = np.random.default_rng(3)
    for codes in (np.full((1, 4, 60), 63), rng.integers(0, V, size=(1, 4, 60))):
        coder = LMCoder(lm, channels=1, n_codebooks=4)
        payload = coder.encode(codes)
        np.testing.assert_array_equal(coder.decode(KIND_LM, payload, 60), codes)
        assert len(payload) * 8 <= codes.size * (PRECISION - np.log2(lm.floor)) + 64


def test_payloads_that_do_not_belong_are_reported():
    tables = _skewed_tables()
    coder = StaticCoder(tables.frequencies, channels=1, n_codebooks=4)
    lm_coder = LMCoder(integer_lm(0), channels=1, n_codebooks=4)
    rng = np.random.default_rng(4)
    for _ in range(20):
        words = rng.integers(1, 2**32, size=int(rng.integers(1, 40)), dtype=np.uint64).astype("<u4").tobytes()
        for decoder, kind in ((coder, KIND_STATIC), (lm_coder, KIND_LM)):
            with pytest.raises(BitstreamError):
                decoder.decode(kind, words, 8)
    with pytest.raises(BitstreamError, match="never ends in a zero word|invalid"):
        coder.decode(KIND_STATIC, b"\x00\x00\x00\x00", 8)
    with pytest.raises(BitstreamError):
        coder.decode(KIND_STATIC, b"\x01\x02\x03", 8)


def test_lm_chunks_are_bounded():
    from rvqgan.entropy.coder import MAX_LM_CHUNK_FRAMES
    from rvqgan.errors import InputError

    coder = LMCoder(integer_lm(0), channels=1, n_codebooks=1)
    with pytest.raises(InputError, match="at most"):
        coder.encode(np.zeros((1, 1, MAX_LM_CHUNK_FRAMES + 1), dtype=np.int64))
