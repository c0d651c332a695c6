"""Streaming reader of ``.rvq`` files.

The reader consumes its source strictly front to back, one record at a time, so it
works on pipes and holds at most one chunk in memory. Every chunk is checked (CRC,
declared sizes) before it is yielded; a problem anywhere raises
:class:`~rvqgan.errors.BitstreamError` naming the byte offset and chunk index, after
every good chunk before it has been yielded, so a streaming decoder can play what came
before a cut or a damaged chunk.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import BinaryIO, Self

import numpy as np

from rvqgan.bitstream.header import RvqHeader
from rvqgan.bitstream.layout import (
    CHUNK_HEAD,
    CRC,
    END_SIZE,
    FORMAT_VERSION,
    KIND_END,
    KIND_RAW,
    MAGIC,
    MAX_HEADER_BYTES,
    PREAMBLE,
    RvqEnd,
    crc32,
    decode_end,
    describe_foreign,
)
from rvqgan.bitstream.packing import unpack_codes
from rvqgan.errors import BitstreamError


class RvqReader:
    """Read an ``.rvq`` file: ``.header`` at once, then codes chunk by chunk.

    Example::

        with RvqReader("in.rvq") as reader:
            for codes in reader:        # int64 [channels, n_codebooks, n]
                ...
            print(reader.end.original_length)

    Args:
        source: a path, or a binary file object with ``read`` (may be a non-seekable
            pipe such as ``sys.stdin.buffer``; it is not closed by the reader).

    Attributes:
        header: the parsed :class:`RvqHeader`.
        header_size: bytes taken by magic, version, header and its CRC.
        end: the :class:`RvqEnd` record, set once iteration has finished without error.
    """

    def __init__(self, source: str | os.PathLike[str] | BinaryIO):
        self._owns = isinstance(source, (str, os.PathLike))
        if self._owns:
            try:
                self._file: BinaryIO = open(source, "rb")  # noqa: SIM115 - closed by close()
            except OSError as exc:
                raise BitstreamError(f"cannot open {source}: {exc.strerror or exc}") from exc
        elif hasattr(source, "read") and not isinstance(source, io.TextIOBase):
            self._file = source
        else:
            raise BitstreamError(
                f"source must be a path or a binary file object (e.g. sys.stdin.buffer), got {type(source).__name__}"
            )
        self._offset = 0
        self._payload_crc = 0  # CRC32 of the chunk payloads so far, checked by the end record
        self._started = False
        self.end: RvqEnd | None = None
        try:
            self.header = self._read_header()
        except BaseException:
            self.close()
            raise
        self.header_size = self._offset

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the source if the reader opened it (a path)."""
        if self._owns:
            self._file.close()

    # -- low-level reads -------------------------------------------------------------

    def _read_upto(self, n: int) -> bytes:
        """Read up to ``n`` bytes, fewer only at end of file (pipes return short reads)."""
        parts, got = [], 0
        while got < n:
            part = self._file.read(n - got)
            if not part:
                break
            parts.append(part)
            got += len(part)
        data = b"".join(parts)
        self._offset += len(data)
        return data

    def _read_exact(self, n: int, where: str) -> bytes:
        data = self._read_upto(n)
        if len(data) < n:
            raise BitstreamError(f"file ends at byte {self._offset} inside {where}: truncated")
        return data

    # -- header ----------------------------------------------------------------------

    def _read_header(self) -> RvqHeader:
        start = self._read_upto(PREAMBLE.size)
        if not start.startswith(MAGIC[: len(start)]) or not start:
            raise BitstreamError(describe_foreign(start))
        if len(start) < PREAMBLE.size:
            raise BitstreamError(f"file ends at byte {len(start)} inside the file preamble: truncated")
        _, version, length = PREAMBLE.unpack(start)
        if version != FORMAT_VERSION:
            raise BitstreamError(
                f"unsupported .rvq format version {version} (this rvqgan reads version {FORMAT_VERSION}); "
                "upgrade rvqgan, or the file is corrupt"
            )
        if length > MAX_HEADER_BYTES:
            raise BitstreamError(f"header length {length} at byte 5 is implausible: the file is corrupt")
        text = self._read_exact(length, "the header")
        (stored,) = CRC.unpack(self._read_exact(CRC.size, "the header CRC"))
        if crc32(text, crc32(start)) != stored:
            raise BitstreamError(f"header is corrupt (CRC mismatch over bytes 0..{self._offset - CRC.size - 1})")
        return RvqHeader.from_json(text)

    # -- chunks ----------------------------------------------------------------------

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield each chunk's codes as int64 ``[channels, n_codebooks, n]``; then check the end."""
        if self._started:
            raise BitstreamError("an RvqReader can be iterated only once; open the file again")
        self._started = True
        return self._chunks()

    def _chunks(self) -> Iterator[np.ndarray]:
        index, total_frames = 0, 0
        while True:
            record_start = self._offset
            kind = self._read_upto(1)
            if not kind:
                after = f"after chunk {index - 1}" if index else "after the header"
                raise BitstreamError(
                    f"file ends at byte {record_start} {after} without an end-of-stream record: "
                    "truncated (an interrupted encode or copy?)"
                )
            if kind[0] == KIND_RAW:
                codes = self._read_chunk(index, record_start)
                total_frames += codes.shape[2]
                index += 1
                yield codes
            elif kind[0] == KIND_END:
                self.end = self._read_end(record_start, index, total_frames)
                return
            else:
                raise BitstreamError(
                    f"chunk {index} at byte {record_start} has unknown kind 0x{kind[0]:02x}: "
                    "the file is corrupt (or needs a newer rvqgan)"
                )

    def _read_chunk(self, index: int, start: int) -> np.ndarray:
        where = f"chunk {index}"
        rest = self._read_exact(CHUNK_HEAD.size - 1, where)
        _, n_frames, payload_len = CHUNK_HEAD.unpack(bytes([KIND_RAW]) + rest)
        header = self.header
        # Checked before reading the payload, so a damaged length cannot make us allocate
        # or wait for more than one chunk.
        if not 1 <= n_frames <= header.chunk_frames or payload_len != header.chunk_payload_bytes(n_frames):
            raise BitstreamError(
                f"chunk {index} at byte {start} is corrupt (it declares {n_frames} frames in {payload_len} bytes)"
            )
        payload = self._read_exact(payload_len, where)
        (stored,) = CRC.unpack(self._read_exact(CRC.size, where))
        if crc32(payload, crc32(bytes([KIND_RAW]) + rest)) != stored:
            raise BitstreamError(f"chunk {index} at byte {start} is corrupt (CRC mismatch)")
        self._payload_crc = crc32(payload, self._payload_crc)
        codes = unpack_codes(payload, header.bits_per_code, header.channels * header.n_codebooks * n_frames)
        # Only a codebook size that is not a power of two leaves room for out-of-range codes.
        if header.codebook_size != 1 << header.bits_per_code and codes.size and codes.max() >= header.codebook_size:
            raise BitstreamError(f"chunk {index} at byte {start} is corrupt (code >= {header.codebook_size})")
        return codes.reshape(header.channels, header.n_codebooks, n_frames)

    def _read_end(self, start: int, n_chunks: int, total_frames: int) -> RvqEnd:
        record = bytes([KIND_END]) + self._read_exact(END_SIZE - 1, "the end-of-stream record")
        end, payload_crc = decode_end(record, start)
        if payload_crc != self._payload_crc:
            raise BitstreamError(
                f"end-of-stream record at byte {start}: payload CRC mismatch (chunks dropped, repeated or reordered)"
            )
        if (end.n_chunks, end.total_frames) != (n_chunks, total_frames):
            raise BitstreamError(
                f"end-of-stream record at byte {start} says {end.n_chunks} chunks / {end.total_frames} frames, "
                f"the file holds {n_chunks} / {total_frames}: corrupt"
            )
        known = self.header.original_length
        if known is not None and end.original_length != known:
            raise BitstreamError(
                f"end-of-stream record says {end.original_length} samples, the header {known}: corrupt"
            )
        if self._file.read(1):
            raise BitstreamError(f"unexpected data after the end-of-stream record at byte {self._offset}: corrupt")
        return end

    def peek_end(self) -> RvqEnd:
        """Read the end record from the end of a seekable file without reading the chunks.

        Cheap (O(1)) but checks only the end record's own CRC; iterate to verify every chunk.
        """
        if self._started:
            raise BitstreamError("peek_end() must be called before iterating")
        try:
            size = self._file.seek(0, os.SEEK_END)
        except (AttributeError, OSError) as exc:
            raise BitstreamError("peek_end() needs a seekable file; iterate over the reader instead") from exc
        if size - END_SIZE < self.header_size:
            raise BitstreamError(f"file ends at byte {size}, too short for an end-of-stream record: truncated")
        self._file.seek(size - END_SIZE)
        record = self._file.read(END_SIZE)
        self._file.seek(self.header_size)
        return decode_end(record, size - END_SIZE)[0]


def read_rvq(source: str | os.PathLike[str] | BinaryIO) -> tuple[RvqHeader, np.ndarray, RvqEnd]:
    """Read a whole ``.rvq`` file, verifying every chunk.

    Returns:
        ``(header, codes, end)`` with codes int64 ``[channels, n_codebooks, total_frames]``.
    """
    with RvqReader(source) as reader:
        chunks = list(reader)
        header, end = reader.header, reader.end
    if chunks:
        codes = np.concatenate(chunks, axis=2)
    else:
        codes = np.zeros((header.channels, header.n_codebooks, 0), dtype=np.int64)
    return header, codes, end  # type: ignore[return-value]  # end is set once iteration completes
