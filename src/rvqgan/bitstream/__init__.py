"""The ``.rvq`` file format: JSON header, bit-packed CRC-checked chunks, end record.

See ``layout.py`` for the byte layout and ``header.py`` for the header fields and the
code order. Typical use::

    header = RvqHeader.from_codec(codec, channels=2, original_sample_rate=sr, original_length=n)
    with RvqWriter("out.rvq", header) as writer:
        writer.write_chunk(codes)            # [channels, n_codebooks, frames]
    header, codes, end = read_rvq("out.rvq")
"""

from rvqgan.bitstream.header import (
    CODE_LAYOUT,
    DEFAULT_CHUNK_SECONDS,
    LoudnessInfo,
    RvqHeader,
    default_chunk_frames,
)
from rvqgan.bitstream.layout import CHUNK_OVERHEAD, END_SIZE, FORMAT_VERSION, MAGIC, RvqEnd
from rvqgan.bitstream.packing import pack_codes, packed_size, unpack_codes
from rvqgan.bitstream.reader import RvqReader, read_rvq
from rvqgan.bitstream.writer import RvqWriter

__all__ = [
    "CHUNK_OVERHEAD",
    "CODE_LAYOUT",
    "DEFAULT_CHUNK_SECONDS",
    "END_SIZE",
    "FORMAT_VERSION",
    "MAGIC",
    "LoudnessInfo",
    "RvqEnd",
    "RvqHeader",
    "RvqReader",
    "RvqWriter",
    "default_chunk_frames",
    "pack_codes",
    "packed_size",
    "read_rvq",
    "unpack_codes",
]
