"""Bit packing of codes: each code takes exactly ``bits`` bits on disk.

A flat sequence of codes ``v[0], v[1], ...`` is written as one bit string, each code
big-endian (most significant bit first) in ``bits`` bits, code after code with no gap;
the last byte is padded with zero bits. With ``codebook_size = 1024`` (10 bits) four
codes fill five bytes, so nothing is lost to the uint16 storage the official ``.dac``
files use (SYSTEM.md complaint 3).

Both directions are vectorised with numpy: a code is viewed as its big-endian bytes,
``np.unpackbits`` turns those into one bit per byte, the leading unused bit columns
are dropped and ``np.packbits`` glues the rest together. Three million 10-bit codes pack
in a few tens of milliseconds.
"""

from __future__ import annotations

import numpy as np

from rvqgan.errors import BitstreamError

MAX_BITS = 32


def packed_size(count: int, bits: int) -> int:
    """Number of bytes that ``count`` codes of ``bits`` bits pack into (zero-padded)."""
    return (count * bits + 7) // 8


def _word_dtype(bits: int) -> np.dtype:
    """Smallest big-endian unsigned dtype holding ``bits`` bits (1, 2 or 4 bytes)."""
    if not 1 <= bits <= MAX_BITS:
        raise BitstreamError(f"codes of {bits} bits cannot be packed: bits must be 1..{MAX_BITS}")
    if bits <= 8:
        return np.dtype(">u1")
    if bits <= 16:
        return np.dtype(">u2")
    return np.dtype(">u4")


def pack_codes(codes: np.ndarray, bits: int) -> bytes:
    """Pack non-negative integer codes into a bit string of ``bits`` bits per code.

    Args:
        codes: integer array of any shape, flattened in C order; every value must be in
            ``[0, 2**bits)`` (the caller checks the range, this function masks nothing).
        bits: bits per code, 1..32.

    Returns:
        ``packed_size(codes.size, bits)`` bytes.
    """
    dtype = _word_dtype(bits)
    width = dtype.itemsize * 8
    flat = np.ascontiguousarray(codes, dtype=dtype).reshape(-1)
    if flat.size == 0:
        return b""
    # One row of `width` bits per code, most significant bit first; keep the low `bits`.
    # (1-D unpackbits and packbits: numpy's axis=1 variants are several times slower.)
    bit_rows = np.unpackbits(flat.view(np.uint8)).reshape(flat.size, width)
    return np.packbits(bit_rows[:, width - bits :].reshape(-1)).tobytes()


def unpack_codes(data: bytes | bytearray | memoryview, bits: int, count: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`.

    Args:
        data: exactly ``packed_size(count, bits)`` bytes.
        bits: bits per code, 1..32.
        count: number of codes to read.

    Returns:
        int64 array of shape ``(count,)``.
    """
    dtype = _word_dtype(bits)
    width = dtype.itemsize * 8
    expected = packed_size(count, bits)
    if len(data) != expected:
        raise BitstreamError(f"{count} codes of {bits} bits need {expected} bytes, got {len(data)}")
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    bits_read = np.unpackbits(np.frombuffer(data, dtype=np.uint8), count=count * bits)
    bit_rows = np.zeros((count, width), dtype=np.uint8)  # leading zero bits fill each word
    bit_rows[:, width - bits :] = bits_read.reshape(count, bits)
    return np.packbits(bit_rows.reshape(-1)).view(dtype).astype(np.int64)
