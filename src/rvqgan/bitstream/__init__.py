"""The ``.rvq`` file format: JSON header, bit-packed CRC-checked chunks, end record.

See ``layout.py`` for the byte layout and ``header.py`` for the header fields and the
code order. Typical use::

    header = RvqHeader.from_codec(codec, channels=2, original_sample_rate=sr, original_length=n)
    with RvqWriter("out.rvq", header) as writer:
        writer.write_chunk(codes)            # [channels, n_codebooks, frames]
    header, codes, end = read_rvq("out.rvq")

Entropy-coded chunks (format version 2) need a chunk coder / decoder from
``rvqgan.entropy``; :func:`salvage_rvq` recovers the intact chunks of a damaged file.
"""

from rvqgan.bitstream.header import (
    CODE_LAYOUT,
    DEFAULT_CHUNK_SECONDS,
    EntropyInfo,
    LoudnessInfo,
    RvqHeader,
    default_chunk_frames,
)
from rvqgan.bitstream.layout import (
    CHUNK_OVERHEAD,
    CHUNK_OVERHEAD_V1,
    END_SIZE,
    FORMAT_VERSION,
    KIND_LM,
    KIND_RAW,
    KIND_STATIC,
    MAGIC,
    READ_VERSIONS,
    RvqEnd,
)
from rvqgan.bitstream.packing import pack_codes, packed_size, unpack_codes
from rvqgan.bitstream.reader import ChunkRecord, RvqReader, read_rvq
from rvqgan.bitstream.salvage import LostSpan, Salvage, salvage_rvq
from rvqgan.bitstream.writer import RvqWriter

__all__ = [
    "CHUNK_OVERHEAD",
    "CHUNK_OVERHEAD_V1",
    "CODE_LAYOUT",
    "DEFAULT_CHUNK_SECONDS",
    "END_SIZE",
    "FORMAT_VERSION",
    "KIND_LM",
    "KIND_RAW",
    "KIND_STATIC",
    "MAGIC",
    "READ_VERSIONS",
    "ChunkRecord",
    "EntropyInfo",
    "LostSpan",
    "LoudnessInfo",
    "RvqEnd",
    "RvqHeader",
    "RvqReader",
    "RvqWriter",
    "Salvage",
    "default_chunk_frames",
    "pack_codes",
    "packed_size",
    "read_rvq",
    "salvage_rvq",
    "unpack_codes",
]
