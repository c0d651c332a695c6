"""Streaming reader of ``.rvq`` files (format versions 1 to 3).

The reader consumes its source strictly front to back, one record at a time, so it
works on pipes and holds at most one chunk in memory. Every chunk is checked (CRC,
declared sizes, its place in the stream) before it is yielded; a problem anywhere
raises :class:`~rvqgan.errors.BitstreamError` naming the byte offset and chunk index,
after every good chunk before it has been yielded, so a streaming decoder can play what
came before a cut or a damaged chunk.

Entropy-coded chunks (version 2) are turned back into codes by a ``chunk_decoder``
given by the caller (``rvqgan.entropy`` provides them; this layer knows no entropy
model): any object with ``decode(kind, payload, n_frames) -> int array
[channels, n_codebooks, n_frames]``. :meth:`RvqReader.records` yields the checked
records without decoding them, which needs no entropy model.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol, Self

import numpy as np

from rvqgan.bitstream.header import RvqHeader
from rvqgan.bitstream.layout import (
    CHUNK_HEAD,
    CHUNK_HEAD_V1,
    CODED_KINDS,
    CRC,
    END_SIZE,
    KIND_END,
    KIND_RAW,
    MAGIC,
    MAX_HEADER_BYTES,
    PREAMBLE,
    READ_VERSIONS,
    RvqEnd,
    crc32,
    decode_end,
    describe_foreign,
)
from rvqgan.bitstream.packing import unpack_codes
from rvqgan.errors import BitstreamError


class ChunkDecoder(Protocol):
    """Turns an entropy-coded chunk payload back into codes."""

    def decode(self, kind: int, payload: bytes, n_frames: int) -> np.ndarray:
        """Codes int ``[channels, n_codebooks, n_frames]``; raises BitstreamError if undecodable."""
        ...


@dataclass(frozen=True)
class ChunkRecord:
    """One CRC-checked chunk record, not yet decoded.

    Attributes:
        index: position of the chunk in the file (0-based).
        offset: byte offset of its first byte.
        kind: its coding (``layout.KIND_RAW``, ``KIND_STATIC`` or ``KIND_LM``).
        start_frame: index of its first frame in the stream.
        n_frames: frames it holds.
        payload: the payload bytes.
    """

    index: int
    offset: int
    kind: int
    start_frame: int
    n_frames: int
    payload: bytes


def raw_codes(header: RvqHeader, payload: bytes, n_frames: int, where: str) -> np.ndarray:
    """Unpack a raw chunk payload to int64 ``[channels, n_codebooks, n_frames]``."""
    codes = unpack_codes(payload, header.bits_per_code, header.channels * header.n_codebooks * n_frames)
    # Only a codebook size that is not a power of two leaves room for out-of-range codes.
    if header.codebook_size != 1 << header.bits_per_code and codes.size and codes.max() >= header.codebook_size:
        raise BitstreamError(f"{where} is corrupt (code >= {header.codebook_size})")
    return codes.reshape(header.channels, header.n_codebooks, n_frames)


def check_decoded(header: RvqHeader, codes: np.ndarray, n_frames: int, where: str) -> np.ndarray:
    """Check what a chunk decoder returned: shape and code range."""
    expected = (header.channels, header.n_codebooks, n_frames)
    codes = np.asarray(codes)
    if codes.shape != expected or codes.dtype.kind not in "iu":
        raise BitstreamError(
            f"{where}: the entropy decoder returned {codes.dtype} {list(codes.shape)}, "
            f"expected integer codes {list(expected)}"
        )
    if codes.size and (codes.min() < 0 or codes.max() >= header.codebook_size):
        raise BitstreamError(f"{where} is corrupt (decoded codes out of range)")
    return codes.astype(np.int64, copy=False)


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
        chunk_decoder: decodes entropy-coded chunks (see :class:`ChunkDecoder`); without
            one, meeting such a chunk raises a BitstreamError naming the model needed.

    Attributes:
        header: the parsed :class:`RvqHeader`.
        header_size: bytes taken by magic, version, header and its CRC.
        end: the :class:`RvqEnd` record, set once iteration has finished without error.
    """

    def __init__(self, source: str | os.PathLike[str] | BinaryIO, *, chunk_decoder: ChunkDecoder | None = None):
        self.chunk_decoder = chunk_decoder
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
        if version not in READ_VERSIONS:
            raise BitstreamError(
                f"unsupported .rvq format version {version} (this rvqgan reads versions "
                f"{', '.join(map(str, READ_VERSIONS))}); upgrade rvqgan, or the file is corrupt"
            )
        if length > MAX_HEADER_BYTES:
            raise BitstreamError(f"header length {length} at byte 5 is implausible: the file is corrupt")
        text = self._read_exact(length, "the header")
        (stored,) = CRC.unpack(self._read_exact(CRC.size, "the header CRC"))
        if crc32(text, crc32(start)) != stored:
            raise BitstreamError(f"header is corrupt (CRC mismatch over bytes 0..{self._offset - CRC.size - 1})")
        header = RvqHeader.from_json(text)
        if header.format_version != version:
            raise BitstreamError(
                f"the preamble says format version {version} but the header {header.format_version}: corrupt"
            )
        return header

    # -- chunks ----------------------------------------------------------------------

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield each chunk's codes as int64 ``[channels, n_codebooks, n]``; then check the end."""
        return (self.decode(record) for record in self.records())

    def records(self) -> Iterator[ChunkRecord]:
        """Yield each chunk record, CRC-checked but not decoded; then check the end record.

        Needs no entropy model: ``rvqgan info --verify`` checks a file this way.
        """
        if self._started:
            raise BitstreamError("an RvqReader can be iterated only once; open the file again")
        self._started = True
        return self._records()

    def decode(self, record: ChunkRecord) -> np.ndarray:
        """The codes of one record: unpacked if raw, else through the chunk decoder."""
        where = f"chunk {record.index} at byte {record.offset}"
        if record.kind == KIND_RAW:
            return raw_codes(self.header, record.payload, record.n_frames, where)
        if self.chunk_decoder is None:
            entropy = self.header.entropy
            raise BitstreamError(
                f"{where} is entropy-coded ({CODED_KINDS[record.kind]}) with {entropy.model_name!r} "  # type: ignore[union-attr]
                f"(hash {entropy.model_hash[:16]}); load that entropy model to decode it"  # type: ignore[union-attr]
            )
        codes = self.chunk_decoder.decode(record.kind, record.payload, record.n_frames)
        return check_decoded(self.header, codes, record.n_frames, where)

    def _records(self) -> Iterator[ChunkRecord]:
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
            if kind[0] == KIND_END:
                self.end = self._read_end(record_start, index, total_frames)
                return
            if kind[0] != KIND_RAW and not (self.header.format_version >= 2 and kind[0] in CODED_KINDS):
                raise BitstreamError(
                    f"chunk {index} at byte {record_start} has unknown kind 0x{kind[0]:02x}: "
                    "the file is corrupt (or needs a newer rvqgan)"
                )
            record = self._read_chunk(index, record_start, kind[0], total_frames)
            total_frames += record.n_frames
            index += 1
            yield record

    def _read_chunk(self, index: int, start: int, kind: int, expected_start: int) -> ChunkRecord:
        where = f"chunk {index}"
        version = self.header.format_version
        head = bytes([kind]) + self._read_exact((CHUNK_HEAD if version >= 2 else CHUNK_HEAD_V1).size - 1, where)
        if version >= 2:
            _, n_frames, start_frame, payload_len = CHUNK_HEAD.unpack(head)
        else:
            (_, n_frames, payload_len), start_frame = CHUNK_HEAD_V1.unpack(head), expected_start
        # Checked before reading the payload, so a damaged length cannot make us allocate
        # or wait for more than one chunk.
        # (start_frame is covered by the CRC; chunks dropped, repeated or reordered whole
        # are caught by the end record, and salvage.py uses start_frame to place chunks.)
        problem = chunk_head_problem(self.header, kind, n_frames, payload_len)
        if problem is not None:
            raise BitstreamError(f"chunk {index} at byte {start} is corrupt ({problem})")
        payload = self._read_exact(payload_len, where)
        (stored,) = CRC.unpack(self._read_exact(CRC.size, where))
        if crc32(payload, crc32(head)) != stored:
            raise BitstreamError(f"chunk {index} at byte {start} is corrupt (CRC mismatch)")
        self._payload_crc = crc32(payload, self._payload_crc)
        return ChunkRecord(index, start, kind, start_frame, n_frames, payload)

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


def chunk_head_problem(header: RvqHeader, kind: int, n_frames: int, payload_len: int) -> str | None:
    """What is impossible about a chunk head, or ``None`` if it is plausible.

    A raw payload has an exact size; an entropy-coded one is a whole number of 32-bit
    words, shorter than the raw payload (the writer stores raw otherwise), and belongs to
    the coding the header names.
    """
    if not 1 <= n_frames <= header.chunk_frames:
        return f"it declares {n_frames} frames in {payload_len} bytes"
    raw = header.chunk_payload_bytes(n_frames)
    if kind == KIND_RAW:
        return None if payload_len == raw else f"it declares {n_frames} frames in {payload_len} bytes"
    coding = CODED_KINDS.get(kind)
    if header.entropy is None or coding != header.entropy.coding:
        named = header.entropy.coding if header.entropy else "no entropy coding"
        return f"its kind 0x{kind:02x} ({coding}) does not match the header's {named}"
    if payload_len == 0 or payload_len % 4 or payload_len >= raw:
        return f"an entropy-coded payload of {payload_len} bytes for {n_frames} frames is impossible"
    return None


def read_rvq(
    source: str | os.PathLike[str] | BinaryIO, *, chunk_decoder: ChunkDecoder | None = None
) -> tuple[RvqHeader, np.ndarray, RvqEnd]:
    """Read a whole ``.rvq`` file, verifying every chunk.

    Args:
        source: path or binary file object.
        chunk_decoder: decodes entropy-coded chunks, if the file has any.

    Returns:
        ``(header, codes, end)`` with codes int64 ``[channels, n_codebooks, total_frames]``.
    """
    with RvqReader(source, chunk_decoder=chunk_decoder) as reader:
        chunks = list(reader)
        header, end = reader.header, reader.end
    if chunks:
        codes = np.concatenate(chunks, axis=2)
    else:
        codes = np.zeros((header.channels, header.n_codebooks, 0), dtype=np.int64)
    return header, codes, end  # type: ignore[return-value]  # end is set once iteration completes
