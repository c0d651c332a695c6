"""Streaming writer of ``.rvq`` files.

Codes are appended as they come (any number of frames per call) and written out in
chunks of ``header.chunk_frames`` frames, so memory stays bounded by one chunk and a
pipe reader can start decoding before the encoder finishes.

A path target is written under a temporary name in the same folder and renamed into
place only by a successful :meth:`RvqWriter.close`: an interrupted encode never leaves
a half-written file under the final name (an existing file is never damaged either).

Entropy coding: with a ``chunk_coder`` (from ``rvqgan.entropy``; any object with a
``kind`` and ``encode(codes) -> bytes``), each chunk is coded and stored coded only if
that makes it smaller than the raw payload, so a coded file is never larger than a
plain one by more than its header.
"""

from __future__ import annotations

import io
import os
import secrets
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Protocol, Self

import numpy as np

from rvqgan.bitstream.header import RvqHeader
from rvqgan.bitstream.layout import (
    CODED_KINDS,
    KIND_RAW,
    MAX_START_FRAME,
    RvqEnd,
    crc32,
    encode_chunk,
    encode_end,
    encode_preamble,
)
from rvqgan.bitstream.packing import pack_codes
from rvqgan.errors import BitstreamError, InputError

_OPEN, _CLOSED, _ABORTED = "open", "closed", "aborted"


def _create_temp(path: Path) -> tuple[Path, int]:
    """Create ``.<name>.partial-XXXXXXXX`` next to ``path``; return its path and fd."""
    for _ in range(16):
        temp = path.with_name(f".{path.name}.partial-{secrets.token_hex(4)}")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return temp, os.open(temp, flags, 0o666)  # 0o666: final mode follows the umask
        except FileExistsError:
            continue
        except OSError as exc:
            raise BitstreamError(f"cannot create {path}: {exc.strerror or exc}") from exc
    raise BitstreamError(f"cannot create a temporary file next to {path}")


def _move_into_place(temp: Path, path: Path, overwrite: bool) -> None:
    """Rename ``temp`` to ``path``; without ``overwrite``, never replace an existing file."""
    if overwrite:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)  # atomic "create only if absent"
    except FileExistsError:
        raise BitstreamError(f"{path} already exists; pass --overwrite (overwrite=True) to replace it") from None
    except OSError:
        # Hard links unsupported here (some network or FAT file systems): check, then rename.
        if path.exists():
            raise BitstreamError(f"{path} already exists; pass --overwrite (overwrite=True) to replace it") from None
        os.replace(temp, path)
        return
    os.unlink(temp)


def _check_coder(header: RvqHeader, coder: ChunkCoder | None) -> None:
    coding = CODED_KINDS.get(getattr(coder, "kind", None)) if coder is not None else None
    if coder is not None and coding is None:
        raise InputError(f"chunk_coder.kind must be one of {sorted(CODED_KINDS)}, got {getattr(coder, 'kind', None)!r}")
    wanted = header.entropy.coding if header.entropy is not None else None
    if coding != wanted:
        raise InputError(
            f"the header's entropy coding ({wanted}) and the chunk coder's ({coding}) differ; give both or neither"
        )


def as_codes_array(codes: Any, header: RvqHeader) -> np.ndarray:
    """Check codes against ``header`` and return them as an int64 numpy array.

    Args:
        codes: numpy array or torch tensor of shape ``[channels, n_codebooks, frames]``.
        header: the header the codes must match.

    Returns:
        int64 array, same shape.
    """
    if hasattr(codes, "detach"):  # a torch tensor; duck-typed so this layer needs no torch
        codes = codes.detach().cpu().numpy()
    array = np.asarray(codes)
    if array.dtype.kind not in "iu":
        raise InputError(f"codes must be integers, got dtype {array.dtype}")
    expected = (header.channels, header.n_codebooks)
    if array.ndim != 3 or array.shape[:2] != expected:
        raise InputError(
            f"codes must have shape [channels={expected[0]}, n_codebooks={expected[1]}, frames] "
            f"as in the header, got {list(array.shape)}"
        )
    if array.size:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high >= header.codebook_size:
            raise InputError(f"codes must be in [0, {header.codebook_size}), got values in [{low}, {high}]")
    return array.astype(np.int64, copy=False)


class ChunkCoder(Protocol):
    """Entropy-codes the codes of one chunk."""

    kind: int  # layout.KIND_STATIC or KIND_LM

    def encode(self, codes: np.ndarray) -> bytes:
        """Payload for int64 codes ``[channels, n_codebooks, n]``."""
        ...


class RvqWriter:
    """Write an ``.rvq`` file chunk by chunk.

    Example::

        with RvqWriter("out.rvq", header) as writer:
            for codes in blocks:          # each [channels, n_codebooks, n] int
                writer.write_chunk(codes)
            writer.close(original_length=n_samples)

    Leaving the ``with`` block normally closes the writer (if not closed yet); an
    exception escaping it deletes the temporary file and leaves ``target`` untouched.

    Args:
        target: a path, or a binary file object with ``write`` (it may be non-seekable,
            e.g. ``sys.stdout.buffer``; it is flushed, not closed, by :meth:`close`).
        header: the file header; its ``chunk_frames`` sets the chunk length.
        overwrite: replace an existing file at a path ``target``.
        chunk_coder: entropy coder of the chunks; needs ``header.entropy`` of the same
            coding (and no coder needs ``header.entropy`` to be ``None``).

    Attributes:
        kind_counts: chunks written so far per kind (``layout.KIND_RAW`` ...).
        payload_bytes: payload bytes written so far (what the codes cost).
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | BinaryIO,
        header: RvqHeader,
        *,
        overwrite: bool = False,
        chunk_coder: ChunkCoder | None = None,
    ):
        if not isinstance(header, RvqHeader):
            raise InputError(f"header must be an RvqHeader, got {type(header).__name__}")
        _check_coder(header, chunk_coder)
        self.header = header
        self.chunk_coder = chunk_coder
        self.kind_counts: dict[int, int] = {}
        self.payload_bytes = 0
        self._path: Path | None = None
        self._temp: Path | None = None
        if isinstance(target, (str, os.PathLike)):
            self._path = Path(target)
            if self._path.is_dir():
                raise BitstreamError(f"{self._path} is a folder; give a file name such as {self._path / 'out.rvq'}")
            if self._path.exists() and not overwrite:
                raise BitstreamError(f"{self._path} already exists; pass --overwrite (overwrite=True) to replace it")
            self._temp, fd = _create_temp(self._path)
            self._file: BinaryIO = os.fdopen(fd, "wb")
        elif hasattr(target, "write") and not isinstance(target, io.TextIOBase):
            self._file = target
        else:
            raise InputError(
                f"target must be a path or a binary file object (e.g. sys.stdout.buffer), got {type(target).__name__}"
            )
        self._overwrite = overwrite
        self._state = _OPEN
        self._pending: list[np.ndarray] = []
        self._pending_frames = 0
        self._total_frames = 0
        self._n_chunks = 0
        self._payload_crc = 0
        self.bytes_written = 0
        try:
            self._emit(encode_preamble(header.to_json().encode("utf-8"), header.format_version))
        except BaseException:
            self.abort()
            raise
        self.header_size = self.bytes_written

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()
        elif self._state == _OPEN:
            self.close()

    def _emit(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            # Raw (unbuffered) file objects may write only part; buffered ones return None or all.
            written = len(view) if written is None else written
            view = view[written:]
        self.bytes_written += len(data)

    def _check_open(self) -> None:
        if self._state != _OPEN:
            raise BitstreamError(f"the writer is {self._state}; no more codes can be written")

    def _emit_chunk(self, codes: np.ndarray) -> None:
        kind, payload = KIND_RAW, pack_codes(codes, self.header.bits_per_code)
        if self.chunk_coder is not None:
            coded = self.chunk_coder.encode(codes)
            if len(coded) < len(payload):
                kind, payload = self.chunk_coder.kind, coded
        if self._total_frames > MAX_START_FRAME:
            raise BitstreamError(f"more than {MAX_START_FRAME} frames: split the stream into several files")
        version = self.header.format_version
        self._emit(encode_chunk(codes.shape[2], payload, kind=kind, start_frame=self._total_frames, version=version))
        self.kind_counts[kind] = self.kind_counts.get(kind, 0) + 1
        self.payload_bytes += len(payload)
        self._payload_crc = crc32(payload, self._payload_crc)
        self._total_frames += codes.shape[2]
        self._n_chunks += 1

    def write_chunk(self, codes: Any) -> None:
        """Append codes; full chunks are written at once, the rest is kept for later.

        Args:
            codes: int array or tensor ``[channels, n_codebooks, n]``, any ``n >= 0``,
                values in ``[0, codebook_size)``.
        """
        self._check_open()
        array = as_codes_array(codes, self.header)
        if array.shape[2] == 0:
            return
        self._pending.append(array)
        self._pending_frames += array.shape[2]
        step = self.header.chunk_frames
        if self._pending_frames < step:
            return
        joined = np.concatenate(self._pending, axis=2) if len(self._pending) > 1 else self._pending[0]
        n_full = (joined.shape[2] // step) * step
        for start in range(0, n_full, step):
            self._emit_chunk(joined[:, :, start : start + step])
        rest = joined[:, :, n_full:]
        self._pending = [rest] if rest.shape[2] else []
        self._pending_frames = rest.shape[2]

    def flush(self) -> None:
        """Write the frames kept so far as a (short) chunk now, and flush the target.

        For live streaming, where a reader should get codes without waiting for a full
        chunk; each call costs one chunk overhead (11 bytes).
        """
        self._check_open()
        if self._pending_frames:
            joined = np.concatenate(self._pending, axis=2) if len(self._pending) > 1 else self._pending[0]
            self._emit_chunk(joined)
            self._pending, self._pending_frames = [], 0
        self._file.flush()

    def close(self, original_length: int | None = None) -> RvqEnd:
        """Write the remaining frames and the end-of-stream record; finish the file.

        Args:
            original_length: input length in samples at the original rate. Needed only if
                the header has none (streaming); if both are given they must agree.

        Returns:
            What the end record says (total frames, original length, chunk count).
        """
        self._check_open()
        length = self._end_length(original_length)
        try:
            return self._finish(length)
        except BaseException:
            self.abort()
            raise

    def _end_length(self, original_length: int | None) -> int | None:
        known = self.header.original_length
        if original_length is None:
            return known
        if isinstance(original_length, bool) or not isinstance(original_length, (int, np.integer)):
            raise InputError(f"original_length must be an integer, got {original_length!r}")
        if not 0 <= original_length < 1 << 63:
            raise InputError(f"original_length must be a sample count >= 0, got {original_length}")
        if known is not None and original_length != known:
            raise InputError(f"original_length {original_length} contradicts the header's {known}")
        return int(original_length)

    def _finish(self, length: int | None) -> RvqEnd:
        self.flush()
        end = RvqEnd(total_frames=self._total_frames, original_length=length, n_chunks=self._n_chunks)
        self._emit(encode_end(end, self._payload_crc))
        self._file.flush()
        if self._temp is not None:
            os.fsync(self._file.fileno())  # the data is on disk before the name points at it
            self._file.close()
            _move_into_place(self._temp, self._path, self._overwrite)
            self._temp = None
        self._state = _CLOSED
        return end

    def abort(self) -> None:
        """Stop writing; a path target's temporary file is deleted (nothing is renamed)."""
        if self._state != _OPEN:
            return
        self._state = _ABORTED
        if self._temp is not None:
            try:
                self._file.close()
            finally:
                self._temp.unlink(missing_ok=True)
                self._temp = None
