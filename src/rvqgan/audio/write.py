"""Writing audio: streamed, atomic (temp file renamed into place), never overwriting by accident."""

from __future__ import annotations

import os
import secrets
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import soundfile as sf

from rvqgan.audio.info import AudioWarning
from rvqgan.errors import AudioError

# Suffix -> (container, default subtype). WAV and FLAC default to 16-bit PCM: decoded
# audio is bounded to [-1, 1] by the decoder's tanh, and 16-bit rounding noise (~-98 dB)
# lies far below any codec error, at half the size of float; pass subtype="FLOAT" (WAV)
# or "PCM_24" (WAV, FLAC) to keep more.
WRITE_FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".opus": ("OGG", "OPUS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}
_INTEGER_SUBTYPES = {"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32"}


def _to_numpy(x: Any) -> np.ndarray:
    """ndarray from an array or a torch tensor (duck-typed, so this module needs no torch)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _target_format(path: Path, subtype: str | None) -> tuple[str, str]:
    suffix = path.suffix.lower()
    if suffix not in WRITE_FORMATS:
        raise AudioError(
            f"{path}: cannot tell the format from the suffix {suffix!r}; use one of {sorted(WRITE_FORMATS)}"
        )
    container, default = WRITE_FORMATS[suffix]
    subtype = subtype or default
    if not sf.check_format(container, subtype):
        raise AudioError(f"{path}: subtype {subtype!r} cannot be written in {container}")
    return container, subtype


class AudioWriter:
    """Stream audio into a file that appears only when complete.

    Samples go to a hidden temp file in the destination folder; :meth:`close` renames it
    into place (atomic on one file system), :meth:`abort` or an exception inside the
    ``with`` block removes it, so a crash never leaves a half-written file under ``path``.

    Float samples beyond [-1, 1] are clipped for integer subtypes (counted, and warned
    about on close) and written as they are for ``FLOAT``; NaN/Inf samples are refused.

    Example:
        >>> with AudioWriter(path, 44100, 2) as w:  # doctest: +SKIP
        ...     w.write(block)  # [2, n] float

    Args:
        path: destination; the format comes from its suffix (see ``WRITE_FORMATS``).
        sample_rate: rate in Hz.
        channels: C.
        subtype: sample encoding; default per suffix (16-bit PCM for WAV and FLAC).
        overwrite: replace an existing file; without it an existing ``path`` is an error.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        sample_rate: int,
        channels: int,
        *,
        subtype: str | None = None,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        self.channels = channels
        self.frames_written = 0
        self._clipped = 0
        self._check_destination(overwrite)
        self.overwrite = overwrite
        container, self.subtype = _target_format(self.path, subtype)
        if channels < 1 or sample_rate < 1:
            raise AudioError(f"{self.path}: need channels >= 1 and sample_rate >= 1, got {channels}, {sample_rate}")
        self._tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.part")
        try:
            self._file: sf.SoundFile | None = sf.SoundFile(
                self._tmp, "w", samplerate=sample_rate, channels=channels, format=container, subtype=self.subtype
            )
        except (sf.SoundFileError, RuntimeError, OSError) as exc:
            self._tmp.unlink(missing_ok=True)
            detail = getattr(exc, "error_string", None) or str(exc)
            raise AudioError(
                f"{self.path}: cannot write {container}/{self.subtype} at {sample_rate} Hz, {channels} channel(s): {detail}"
            ) from None

    def _check_destination(self, overwrite: bool) -> None:
        if self.path.is_dir():
            raise AudioError(f"{self.path}: is a folder; give a file name")
        if not self.path.parent.is_dir():
            raise AudioError(f"{self.path}: the folder {self.path.parent} does not exist; create it first")
        if self.path.exists() and not overwrite:
            raise AudioError(f"{self.path}: file exists; pass --overwrite (overwrite=True) to replace it")

    def write(self, x: Any) -> None:
        """Append samples, x [C, n] float (ndarray or tensor)."""
        if self._file is None:
            raise AudioError(f"{self.path}: writer already closed")
        x = _to_numpy(x)
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise AudioError(f"{self.path}: expected samples of shape [{self.channels}, n], got {x.shape}")
        x = x.astype(np.float32, copy=False)
        if not np.isfinite(x).all():
            raise AudioError(f"{self.path}: refusing to write {int((~np.isfinite(x)).sum())} NaN/Inf sample(s)")
        if self.subtype in _INTEGER_SUBTYPES:
            over = np.abs(x) > 1.0
            if over.any():
                self._clipped += int(over.sum())
                x = np.clip(x, -1.0, 1.0)
        try:
            self._file.write(np.ascontiguousarray(x.T))
        except (sf.SoundFileError, RuntimeError, OSError) as exc:
            raise AudioError(f"{self.path}: write failed: {exc}") from None
        self.frames_written += x.shape[1]

    def close(self) -> None:
        """Finish the file and move it into place (idempotent)."""
        if self._file is None:
            return
        try:
            self._file.close()
            self._file = None
            if self.path.exists() and not self.overwrite:
                raise AudioError(f"{self.path}: file appeared while writing; pass --overwrite to replace it")
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        if self._clipped:
            warnings.warn(
                f"{self.path}: {self._clipped} sample(s) beyond [-1, 1] were clipped to fit {self.subtype}",
                AudioWarning,
                stacklevel=2,
            )

    def abort(self) -> None:
        """Drop the partial file; ``path`` is left as it was."""
        if self._file is not None:
            try:
                self._file.close()
            except (sf.SoundFileError, RuntimeError, OSError):
                pass  # the file is thrown away anyway
            self._file = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_audio(
    path: str | os.PathLike, x: Any, sample_rate: int, *, subtype: str | None = None, overwrite: bool = False
) -> None:
    """Write x [C, T] float to ``path`` atomically (see :class:`AudioWriter`)."""
    x = _to_numpy(x)
    if x.ndim != 2:
        raise AudioError(f"{path}: audio must have shape [C, T], got {x.shape}")
    with AudioWriter(path, sample_rate, x.shape[0], subtype=subtype, overwrite=overwrite) as w:
        w.write(x)
