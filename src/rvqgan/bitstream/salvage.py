"""Salvage the good chunks of a damaged ``.rvq`` file and say exactly what was lost.

The strict reader stops at the first damaged chunk. Salvage reads the whole file into
memory, keeps every chunk whose CRC holds, and steps over the damage:

* a chunk whose head is plausible but whose CRC fails is skipped by its declared
  length (the usual case: a damaged payload byte);
* otherwise the reader resynchronises: it scans forward, byte by byte, for the next
  offset where a complete record with a valid CRC starts (a false match needs a
  plausible head *and* a matching CRC32, about one chance in 4 billion per offset).

In format version 2 every chunk records its ``start_frame``, so the frames lost between
two good chunks are known exactly, whatever was damaged. Version 1 chunks have no
such field: the lost frames are taken from the damaged chunk's own head when it is
plausible, and otherwise from the end record (when intact) for the first such gap.
The header must be intact: without it nothing can be decoded.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from rvqgan.bitstream.header import RvqHeader
from rvqgan.bitstream.layout import (
    CHUNK_HEAD,
    CHUNK_HEAD_V1,
    CODED_KINDS,
    CRC,
    END_SIZE,
    KIND_END,
    KIND_RAW,
    RvqEnd,
    crc32,
    decode_end,
)
from rvqgan.bitstream.reader import ChunkRecord, RvqReader, chunk_head_problem
from rvqgan.errors import BitstreamError


@dataclass(frozen=True)
class LostSpan:
    """Frames ``start_frame .. start_frame + n_frames - 1`` could not be recovered.

    ``n_frames`` is ``None`` when a version 1 file does not say how many were lost.
    """

    start_frame: int
    n_frames: int | None
    reason: str


@dataclass
class Salvage:
    """What could be read from a damaged file.

    Attributes:
        header: the (intact) header.
        records: the good chunk records, in stream order, each placed at its
            ``start_frame``.
        lost: the spans between them (and at the end) that could not be read.
        end: the end record if it was found intact, else ``None``.
        problems: one line per damaged stretch of bytes.
    """

    header: RvqHeader
    records: list[ChunkRecord] = field(default_factory=list)
    lost: list[LostSpan] = field(default_factory=list)
    end: RvqEnd | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def frames_read(self) -> int:
        """Frames in the good chunks."""
        return sum(record.n_frames for record in self.records)


def salvage_rvq(source: str | os.PathLike[str] | BinaryIO | bytes) -> Salvage:
    """Read every intact chunk of an ``.rvq`` file, however damaged the rest is.

    Args:
        source: a path, a binary file object, or the file's bytes.

    Returns:
        The good records and the lost spans (see :class:`Salvage`).

    Raises:
        BitstreamError: the file cannot be opened, is not an ``.rvq`` file, or its
            header is damaged.
    """
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise BitstreamError(f"cannot open {source}: {exc.strerror or exc}") from exc
    else:
        data = source.read()
    with RvqReader(io.BytesIO(data)) as reader:
        header, pos = reader.header, reader.header_size
    return _Scanner(header, data).run(pos)


class _Scanner:
    """Walks the records of ``data`` from a byte offset, stepping over damage."""

    def __init__(self, header: RvqHeader, data: bytes) -> None:
        self.header = header
        self.data = data
        self.v2 = header.format_version >= 2
        self.head = CHUNK_HEAD if self.v2 else CHUNK_HEAD_V1
        self.result = Salvage(header)
        self.frames = 0  # frames placed so far (good chunks and lost spans)
        self.last_damage = "damaged bytes"

    def run(self, pos: int) -> Salvage:
        unknown_gap = None
        while pos < len(self.data):
            if self.data[pos] == KIND_END and self._end_at(pos):
                if pos + END_SIZE != len(self.data):
                    self.result.problems.append(
                        f"{len(self.data) - pos - END_SIZE} unexpected bytes after the end record"
                    )
                break
            record = self._record_at(pos, self.frames)
            if record is not None:
                self._place(record)
                pos += self.head.size + len(record.payload) + CRC.size
                continue
            skipped = None if self.v2 else self._plausible_size(pos)
            if skipped is not None and self._intact_at(pos + skipped):
                # Version 1, a damaged payload under an intact head: its frames are known.
                self.result.problems.append(f"chunk at byte {pos} is damaged (CRC mismatch)")
                self._lose(self.head.unpack_from(self.data, pos)[1], f"damaged chunk at byte {pos}")
                pos += skipped
                continue
            # Version 2 always resynchronises: a damaged length could skip good chunks,
            # and the next good chunk's start_frame says how much was lost anyway.
            found = self._resync(pos + 1)
            self.result.problems.append(f"bytes {pos}..{found - 1} are damaged")
            if self.v2:
                self.last_damage = f"damaged bytes {pos}..{found - 1}"
            else:
                unknown_gap = unknown_gap if unknown_gap is not None else len(self.result.lost)
                self.result.lost.append(LostSpan(self.frames, None, f"damaged bytes {pos}..{found - 1}"))
            pos = found
        else:
            self.result.problems.append("the end-of-stream record is missing (the file is truncated)")
        self._finish(unknown_gap)
        return self.result

    def _intact_at(self, pos: int) -> bool:
        """Whether an intact record starts at ``pos``, or the file ends there."""
        if pos >= len(self.data):
            return pos == len(self.data)
        return (self.data[pos] == KIND_END and self._end_at(pos)) or self._record_at(pos, self.frames) is not None

    def _end_at(self, pos: int) -> bool:
        record = self.data[pos : pos + END_SIZE]
        if len(record) < END_SIZE:
            return False
        try:
            self.result.end = decode_end(record, pos)[0]
        except BitstreamError:
            return False
        return True

    def _fields(self, pos: int) -> tuple[int, int, int, int] | None:
        """``(kind, n_frames, start_frame, payload_len)`` of a plausible head at ``pos``."""
        if pos + self.head.size > len(self.data):
            return None
        if self.v2:
            kind, n_frames, start, length = self.head.unpack_from(self.data, pos)
        else:
            (kind, n_frames, length), start = self.head.unpack_from(self.data, pos), self.frames
        if kind != KIND_RAW and not (self.v2 and kind in CODED_KINDS):
            return None
        if chunk_head_problem(self.header, kind, n_frames, length) is not None:
            return None
        if pos + self.head.size + length + CRC.size > len(self.data):
            return None
        return kind, n_frames, start, length

    def _plausible_size(self, pos: int) -> int | None:
        """Size of the record at ``pos`` if its head is plausible (its CRC failed)."""
        fields = self._fields(pos)
        return None if fields is None else self.head.size + fields[3] + CRC.size

    def _record_at(self, pos: int, min_start: int) -> ChunkRecord | None:
        fields = self._fields(pos)
        if fields is None:
            return None
        kind, n_frames, start, length = fields
        if start < min_start:
            return None
        body_end = pos + self.head.size + length
        (stored,) = CRC.unpack_from(self.data, body_end)
        if crc32(self.data[pos:body_end]) != stored:
            return None
        payload = self.data[pos + self.head.size : body_end]
        return ChunkRecord(len(self.result.records), pos, kind, start, n_frames, payload)

    def _resync(self, pos: int) -> int:
        """Offset of the next intact record (chunk or end) at or after ``pos``; else the file's end."""
        while pos < len(self.data):
            if self.data[pos] == KIND_END and self._end_at(pos):
                return pos
            if self._record_at(pos, self.frames) is not None:
                return pos
            pos += 1
        return pos

    def _lose(self, n_frames: int, reason: str) -> None:
        self.result.lost.append(LostSpan(self.frames, n_frames, reason))
        self.frames += n_frames

    def _place(self, record: ChunkRecord) -> None:
        if record.start_frame > self.frames:  # version 2: frames lost in a resynchronised gap
            self._lose(record.start_frame - self.frames, self.last_damage)
        self.result.records.append(record)
        self.frames += record.n_frames

    def _finish(self, unknown_gap: int | None) -> None:
        """Settle version 1 gaps of unknown size, and frames lost at the end."""
        lost, end = self.result.lost, self.result.end
        if unknown_gap is not None:
            missing = end.total_frames - self.frames if end is not None else None
            span = lost[unknown_gap]
            lost[unknown_gap] = LostSpan(span.start_frame, missing if missing and missing > 0 else None, span.reason)
            if missing and missing > 0:
                # Later chunks were placed as if the gap were empty: shift them.
                self.result.records = [
                    _moved(r, missing) if r.start_frame >= span.start_frame else r for r in self.result.records
                ]
                self.result.lost = [
                    LostSpan(s.start_frame + missing, s.n_frames, s.reason) if i > unknown_gap else s
                    for i, s in enumerate(lost)
                ]
                self.frames += missing
            lost = self.result.lost
        # Drop v1 placeholders that turned out to be empty.
        self.result.lost = [s for s in lost if s.n_frames is None or s.n_frames > 0]
        if end is not None and end.total_frames > self.frames:
            reason = self.last_damage if self.v2 else "damaged bytes at the end"
            self.result.lost.append(LostSpan(self.frames, end.total_frames - self.frames, reason))


def _moved(record: ChunkRecord, frames: int) -> ChunkRecord:
    return ChunkRecord(
        record.index, record.offset, record.kind, record.start_frame + frames, record.n_frames, record.payload
    )
