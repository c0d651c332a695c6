"""Bit packing: exact round trips, exact sizes, known bit patterns, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from rvqgan.bitstream import pack_codes, packed_size, unpack_codes
from rvqgan.errors import BitstreamError


@pytest.mark.parametrize("bits", list(range(1, 17)) + [20, 24, 31, 32])
@pytest.mark.parametrize("count", [0, 1, 7, 8, 9, 1001])
def test_round_trip_is_exact_and_size_is_minimal(bits, count):
    rng = np.random.default_rng(bits * 100 + count)
    codes = rng.integers(0, 2**bits, size=count, dtype=np.int64)
    if count:
        codes[0] = 2**bits - 1  # the extreme values must survive too
    data = pack_codes(codes, bits)
    assert len(data) == packed_size(count, bits) == (count * bits + 7) // 8
    back = unpack_codes(data, bits, count)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, codes)


def test_known_bit_patterns():
    # 2-bit codes 1, 2, 3 -> 01 10 11 00 (MSB first, zero padding)
    assert pack_codes(np.array([1, 2, 3]), 2) == bytes([0b01101100])
    # 10-bit codes 1023, 1, 512, 0 -> 1111111111 0000000001 1000000000 0000000000
    assert pack_codes(np.array([1023, 1, 512, 0]), 10) == bytes([0xFF, 0xC0, 0x18, 0x00, 0x00])


def test_multidimensional_input_is_flattened_in_c_order():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 1024, size=(2, 3, 5))
    assert pack_codes(codes, 10) == pack_codes(codes.reshape(-1), 10)


def test_wrong_length_and_bad_bits_raise():
    with pytest.raises(BitstreamError):
        unpack_codes(b"\x00" * 3, 10, 4)
    with pytest.raises(BitstreamError):
        pack_codes(np.zeros(3, dtype=np.int64), 0)
    with pytest.raises(BitstreamError):
        pack_codes(np.zeros(3, dtype=np.int64), 33)


def test_three_million_codes_pack_and_unpack_fast():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 1024, size=3_000_000)
    pack_times, unpack_times = [], []
    for _ in range(3):  # best of three: the CI machine is shared
        start = time.perf_counter()
        data = pack_codes(codes, 10)
        pack_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        back = unpack_codes(data, 10, codes.size)
        unpack_times.append(time.perf_counter() - start)
    np.testing.assert_array_equal(back, codes)
    assert min(pack_times) < 1.0 and min(unpack_times) < 1.0  # ~0.05-0.15 s measured
