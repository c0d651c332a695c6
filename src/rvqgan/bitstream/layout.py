"""Byte layout of an ``.rvq`` file (format version 3; versions 1 and 2 are still read),
shared by the reader and the writer. Version 3 has version 2's layout; only its header
gained a field (``bandwidth_hz``, see :mod:`rvqgan.bitstream.header`).

All integers are little-endian. Offsets are from the start of the file::

    preamble   magic b"RVQG" (4) | version u8 (1) | header_len u32 (4)
               | header: UTF-8 JSON, header_len bytes
               | header_crc u32 = CRC32 of every byte before it (magic .. JSON)
    chunk      kind u8 | n_frames u16 | start_frame u32 | payload_len u32
    (repeated) | payload (see below)
               | chunk_crc u32 = CRC32 of kind .. payload
    end        kind u8 = 0x45 ("E") | total_frames u64 | original_length u64
               | n_chunks u32 | payload_crc u32 = CRC32 of all chunk payloads, concatenated
               | in order | end_crc u32 = CRC32 of kind .. payload_crc
    (nothing may follow the end record)

Chunk kinds (the coding of each chunk, chosen chunk by chunk by the writer):

* ``0x01`` raw: the chunk's codes, shape [channels, n_codebooks, n_frames], flattened
  in C order, each code in exactly bits_per_code bits, MSB first, zero-padded to a
  byte (see ``packing.py``).
* ``0x02`` static and ``0x03`` lm: the codes entropy-coded with the static tables or the
  code language model named in the header's ``entropy`` field (see
  ``rvqgan.entropy.coder``); always shorter than the raw payload, because the writer
  stores a chunk raw whenever coding would not make it smaller.

Version 1 differs only in the chunk head, ``kind u8 | n_frames u16 | payload_len u32``
(no ``start_frame``), and knows only kind ``0x01``.

Why each piece is there:

* The header has its own CRC so that a damaged header is reported as such before any
  chunk is decoded.
* Each chunk carries its own CRC so that a streaming decoder can trust (and play) every
  chunk before a damaged or missing one, and each chunk decodes on its own (an entropy
  coder restarts at every chunk), so a damaged byte costs at most its own chunk.
* ``start_frame`` (version 2) says where a chunk belongs: a salvaging reader that skips a
  damaged stretch knows exactly how many frames were lost, and a chunk found again
  after a damaged length field is put back in its place.
* The end record makes a file cut exactly at a chunk boundary detectable: without it a
  truncated file would read as a complete, shorter one. It also carries the original
  length in samples, which a streaming encoder only learns at the end, and with the
  chunk count a CRC of the payloads in order, which catch chunks dropped, repeated or
  reordered as a whole. (Payloads only: a CRC running over whole chunk records could not
  see reordering, because a record that ends with its own CRC32 adds the same constant
  to any CRC32 running over it, whatever its content.)

Per-chunk overhead is 15 bytes (11 of chunk head, 4 of CRC; 11 in version 1) plus, for
raw chunks, at most 7 padding bits.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from rvqgan.errors import BitstreamError

MAGIC = b"RVQG"
FORMAT_VERSION = 3
# Versions this rvqgan reads (it writes FORMAT_VERSION).
READ_VERSIONS = (1, 2, 3)

PREAMBLE = struct.Struct("<4sBI")  # magic, version, header_len
CRC = struct.Struct("<I")
CHUNK_HEAD_V1 = struct.Struct("<BHI")  # kind, n_frames, payload_len
CHUNK_HEAD = struct.Struct("<BHII")  # kind, n_frames, start_frame, payload_len
END_BODY = struct.Struct("<QQII")  # total_frames, original_length, n_chunks, payload_crc

KIND_RAW = 0x01
KIND_STATIC = 0x02
KIND_LM = 0x03
KIND_END = 0x45
# Entropy-coded chunk kinds and the header's ``entropy.coding`` each belongs to.
CODED_KINDS = {KIND_STATIC: "static", KIND_LM: "lm"}

# A header longer than this is not a header we wrote: refuse before allocating it.
MAX_HEADER_BYTES = 1 << 16
# Frame counts of a chunk are stored in 16 bits.
MAX_CHUNK_FRAMES = 0xFFFF
# Chunk start frames are stored in 32 bits (1.6 years of frames at 86 frames/s).
MAX_START_FRAME = 0xFFFF_FFFF
# 2**64 - 1 in the end record means "original length unknown".
UNKNOWN_LENGTH = 0xFFFF_FFFF_FFFF_FFFF

CHUNK_OVERHEAD = CHUNK_HEAD.size + CRC.size
CHUNK_OVERHEAD_V1 = CHUNK_HEAD_V1.size + CRC.size
END_SIZE = 1 + END_BODY.size + CRC.size

# First bytes of files people may hand us by mistake, to name them in the error.
_FOREIGN_SIGNATURES = (
    (b"fLaC", "FLAC audio"),
    (b"RIFF", "WAV/RIFF audio"),
    (b"OggS", "Ogg audio"),
    (b"ID3", "MP3 audio"),
    (b"\xff\xfb", "MP3 audio"),
    (b"PK\x03\x04", "a zip archive (a PyTorch checkpoint?)"),
    (b"\x80\x02", "a Python pickle (an official .dac file?)"),
    (b"\x80\x04", "a Python pickle (an official .dac file?)"),
)


@dataclass(frozen=True)
class RvqEnd:
    """What the end-of-stream record says about the whole file.

    Attributes:
        total_frames: frames over all chunks.
        original_length: length of the input audio in samples at its original sample
            rate, or ``None`` if the writer did not know it.
        n_chunks: number of code chunks.
    """

    total_frames: int
    original_length: int | None
    n_chunks: int


def crc32(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    """CRC32 (zlib polynomial) of ``data``, continuing from ``value``."""
    return zlib.crc32(data, value) & 0xFFFF_FFFF


def describe_foreign(start: bytes) -> str:
    """Message for a file that does not start with :data:`MAGIC`."""
    if not start:
        return "not an .rvq file: it is empty (0 bytes)"
    for signature, name in _FOREIGN_SIGNATURES:
        if start.startswith(signature):
            return f"not an .rvq file: it looks like {name}; encode audio with `rvqgan encode` first"
    return f"not an .rvq file: it starts with {start[:4]!r}, expected {MAGIC!r}"


def encode_preamble(header_json: bytes, version: int = FORMAT_VERSION) -> bytes:
    """Magic, version, header length, header JSON and header CRC, ready to write."""
    if len(header_json) > MAX_HEADER_BYTES:
        raise BitstreamError(f"header JSON is {len(header_json)} bytes, more than the {MAX_HEADER_BYTES} allowed")
    head = PREAMBLE.pack(MAGIC, version, len(header_json)) + header_json
    return head + CRC.pack(crc32(head))


def encode_chunk(
    n_frames: int, payload: bytes, *, kind: int = KIND_RAW, start_frame: int = 0, version: int = FORMAT_VERSION
) -> bytes:
    """A chunk record: chunk head, payload and CRC (``start_frame`` is not stored in version 1)."""
    if version == 1:
        head = CHUNK_HEAD_V1.pack(kind, n_frames, len(payload))
    else:
        if not 0 <= start_frame <= MAX_START_FRAME:
            raise BitstreamError(f"chunk start frame {start_frame} does not fit the format's 32 bits")
        head = CHUNK_HEAD.pack(kind, n_frames, start_frame, len(payload))
    return head + payload + CRC.pack(crc32(payload, crc32(head)))


def encode_end(end: RvqEnd, payload_crc: int) -> bytes:
    """The end-of-stream record; ``payload_crc`` is the CRC32 of all chunk payloads."""
    length = UNKNOWN_LENGTH if end.original_length is None else end.original_length
    body = bytes([KIND_END]) + END_BODY.pack(end.total_frames, length, end.n_chunks, payload_crc)
    return body + CRC.pack(crc32(body))


def decode_end(record: bytes, offset: int) -> tuple[RvqEnd, int]:
    """Parse an ``END_SIZE``-byte end record found at byte ``offset``.

    Returns:
        The end info and the payload CRC it carries.
    """
    body, (crc,) = record[: END_SIZE - CRC.size], CRC.unpack(record[END_SIZE - CRC.size :])
    if body[0] != KIND_END:
        raise BitstreamError(f"no end-of-stream record at byte {offset}: the file is truncated or corrupt")
    if crc32(body) != crc:
        raise BitstreamError(f"end-of-stream record at byte {offset} is corrupt (CRC mismatch)")
    total_frames, length, n_chunks, payload_crc = END_BODY.unpack(body[1:])
    original_length = None if length == UNKNOWN_LENGTH else length
    return RvqEnd(total_frames=total_frames, original_length=original_length, n_chunks=n_chunks), payload_crc
