"""WAV through pipes: read from and write to non-seekable streams (stdin, stdout).

libsndfile (soundfile) seeks while it opens a WAV, so it cannot read one from a pipe,
nor finish one on a pipe. These two small classes do just RIFF/WAVE:

* :class:`WavPipeReader` parses the header front to back and then reads sample frames
  as they arrive: PCM 8/16/24/32-bit, IEEE float 32/64-bit, plain or
  ``WAVE_FORMAT_EXTENSIBLE``. The data size in the header is not trusted (programs
  that write WAV to a pipe put 0 or 0xFFFFFFFF there): samples are read until the data
  chunk's announced end or the end of the stream, whichever comes first.
* :class:`WavPipeWriter` writes 16-bit PCM (or 32-bit float) with the sizes set to
  0xFFFFFFFF ("unknown", as ffmpeg and sox do on pipes); if the target turns out to
  be seekable (stdout redirected to a file), the sizes are patched on close.
"""

from __future__ import annotations

import os
import stat
import struct
from typing import BinaryIO

import numpy as np

from rvqgan.errors import AudioError

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
_UNKNOWN = 0xFFFFFFFF


def _read_upto(stream: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at the end of the stream (pipes may return short reads)."""
    parts, got = [], 0
    while got < n:
        part = stream.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _read_exact(stream: BinaryIO, n: int, where: str) -> bytes:
    data = _read_upto(stream, n)
    if len(data) < n:
        raise AudioError(f"standard input ends inside {where}: not a complete WAV stream")
    return data


class WavPipeReader:
    """Read a WAV stream front to back.

    Args:
        stream: a binary file object (``sys.stdin.buffer``); never seeked, not closed.

    Attributes:
        sample_rate, channels: from the ``fmt`` chunk.
        announced_frames: frames the header announces, ``None`` when it says "unknown".
        frames_read: frames returned so far.

    Raises:
        AudioError: not RIFF/WAVE, an unsupported sample format, a header cut short.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        start = _read_upto(stream, 4)
        if start not in (b"RIFF", b"RF64"):
            raise AudioError(
                f"standard input is not a WAV stream (it starts with {start!r}); --stream reads WAV from a pipe: "
                "convert first, e.g. `ffmpeg -i in.mp3 -f wav -`"
            )
        riff = start + _read_exact(stream, 8, "the RIFF header")
        if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            what = "an RF64 file (not supported on pipes)" if riff[:4] == b"RF64" else f"{riff[:4]!r}"
            raise AudioError(
                f"standard input is not a WAV stream (it starts with {what}); --stream reads WAV "
                "from a pipe: convert first, e.g. `ffmpeg -i in.mp3 -f wav -`"
            )
        fmt = None
        while True:
            chunk_id, size = struct.unpack("<4sI", _read_exact(stream, 8, "a WAV chunk header"))
            if chunk_id == b"data":
                break
            body = _read_exact(stream, size + (size & 1), f"the WAV {chunk_id!r} chunk")
            if chunk_id == b"fmt ":
                fmt = body[:size]
        if fmt is None:
            raise AudioError("the WAV stream has no 'fmt ' chunk before its data")
        self._parse_format(fmt)
        self._remaining = None if size in (0, _UNKNOWN) else size // self._frame_bytes
        self.announced_frames = self._remaining
        self.frames_read = 0
        self._carry = b""

    def _parse_format(self, fmt: bytes) -> None:
        if len(fmt) < 16:
            raise AudioError("the WAV 'fmt ' chunk is too short")
        tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
        if tag == _EXTENSIBLE and len(fmt) >= 26:
            tag = struct.unpack("<H", fmt[24:26])[0]  # first two bytes of the sub-format GUID
        kinds = {(_PCM, 8): "u1", (_PCM, 16): "<i2", (_PCM, 24): "i3", (_PCM, 32): "<i4"}
        kinds |= {(_FLOAT, 32): "<f4", (_FLOAT, 64): "<f8"}
        if (tag, bits) not in kinds or channels < 1 or rate < 1:
            raise AudioError(
                f"unsupported WAV sample format (format tag {tag}, {bits} bits, {channels} channels, {rate} Hz); "
                "--stream reads PCM 8/16/24/32-bit or float 32/64-bit"
            )
        self.sample_rate, self.channels, self._kind = rate, channels, kinds[(tag, bits)]
        self._frame_bytes = channels * bits // 8
        if block_align not in (0, self._frame_bytes):
            raise AudioError(f"WAV block align {block_align} does not match {channels} x {bits} bits")

    def _decode(self, data: bytes) -> np.ndarray:
        """Interleaved bytes -> float32 [C, n], integers scaled to [-1, 1)."""
        if self._kind == "i3":
            raw = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int32)
            ints = (raw[:, 0] | raw[:, 1] << 8 | raw[:, 2] << 16) << 8 >> 8  # sign-extend 24 bits
            samples = ints.astype(np.float32) / float(1 << 23)
        elif self._kind == "u1":
            samples = (np.frombuffer(data, np.uint8).astype(np.float32) - 128.0) / 128.0
        else:
            values = np.frombuffer(data, self._kind)
            bits = values.dtype.itemsize * 8
            scale = 1.0 if values.dtype.kind == "f" else float(1 << (bits - 1))
            samples = values.astype(np.float32) / scale
        return np.ascontiguousarray(samples.reshape(-1, self.channels).T)

    def read(self, frames: int) -> np.ndarray:
        """Up to ``frames`` frames as float32 [C, n]; fewer (0) only at the end of the data."""
        if self._remaining is not None:
            frames = min(frames, self._remaining)
        data = self._carry + _read_upto(self._stream, max(frames * self._frame_bytes - len(self._carry), 0))
        whole = len(data) - len(data) % self._frame_bytes
        data, self._carry = data[:whole], data[whole:]
        n = whole // self._frame_bytes
        self.frames_read += n
        if self._remaining is not None:
            self._remaining -= n
        return self._decode(data)


def _patchable(stream: BinaryIO) -> bool:
    """True for a regular file at offset 0 not opened for appending (``> f`` but not ``>> f``, /dev/null, pipes)."""
    try:
        fd = stream.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode) or stream.tell() != 0:
            return False
        return not _appending(fd)
    except (OSError, ValueError, AttributeError):
        return False


def _appending(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # not POSIX: never patch rather than risk writing at the end
        return True
    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND)


class WavPipeWriter:
    """Write a WAV stream whose length is not known in advance.

    Args:
        stream: a binary file object (``sys.stdout.buffer``); flushed, not closed.
        sample_rate, channels: of the audio.
        subtype: ``"PCM_16"`` (default, as ``AudioWriter`` for ``.wav``) or ``"FLOAT"``.
    """

    def __init__(self, stream: BinaryIO, sample_rate: int, channels: int, subtype: str = "PCM_16") -> None:
        if subtype not in ("PCM_16", "FLOAT"):
            raise AudioError(f"WAV on a pipe is written as PCM_16 or FLOAT, not {subtype!r}")
        self._stream, self.channels, self._float = stream, channels, subtype == "FLOAT"
        self._patchable = _patchable(stream)
        bits = 32 if self._float else 16
        tag = _FLOAT if self._float else _PCM
        block = channels * bits // 8
        self._frame_bytes = block
        fmt = struct.pack("<HHIIHH", tag, channels, sample_rate, sample_rate * block, block, bits)
        header = b"RIFF" + struct.pack("<I", _UNKNOWN) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        self._stream.write(header + b"data" + struct.pack("<I", _UNKNOWN))
        self._data_size_at = len(header) + 4
        self.frames_written = 0

    def write(self, block: np.ndarray) -> None:
        """Append float samples [C, n] (clipped to [-1, 1] for PCM) and flush them out."""
        block = np.asarray(block, dtype=np.float32)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise AudioError(f"expected samples of shape [{self.channels}, n], got {block.shape}")
        if not block.shape[1]:
            return
        if not np.isfinite(block).all():
            raise AudioError("refusing to write NaN/Inf samples")
        frames = block.T
        if self._float:
            data = np.ascontiguousarray(frames, dtype="<f4").tobytes()
        else:
            data = np.round(np.clip(frames, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        self._stream.write(data)
        self._stream.flush()
        self.frames_written += block.shape[1]

    def close(self) -> None:
        """Flush; patch the sizes into the header when the target can seek."""
        self._stream.flush()
        data_bytes = self.frames_written * self._frame_bytes
        if not self._patchable or data_bytes + self._data_size_at + 4 > _UNKNOWN:
            return
        try:
            end = self._data_size_at + 4 + data_bytes
            self._stream.seek(4)
            self._stream.write(struct.pack("<I", end - 8))
            self._stream.seek(self._data_size_at)
            self._stream.write(struct.pack("<I", data_bytes))
            self._stream.seek(end)
            self._stream.flush()
        except (OSError, ValueError, AttributeError):
            return  # a pipe after all: the "unknown" sizes stay, which readers accept
