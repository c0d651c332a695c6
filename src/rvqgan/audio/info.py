"""Opening audio files through soundfile with clear errors, and what a file holds."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from rvqgan.errors import AudioError

# What users are told they can read; libsndfile reads a few more (AIFF, W64, CAF...),
# which work too but are not promised.
READ_FORMATS = "WAV, FLAC, OGG/Vorbis, Opus (.opus in Ogg) and MP3"

# soundfile reports "unknown length" as a huge sentinel on some streams.
_UNKNOWN_FRAMES_ABOVE = 2**62


class AudioWarning(UserWarning):
    """Something about an audio file worth knowing that does not stop the work (clipping...)."""


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, from its header.

    Attributes:
        sample_rate: samples per second per channel.
        channels: number of channels C.
        frames: samples per channel T, or -1 when the header does not say.
        format: container name as libsndfile spells it ("WAV", "FLAC", "OGG", "MP3"...).
        subtype: sample encoding ("PCM_16", "FLOAT", "VORBIS", "OPUS", "MPEG_LAYER_III"...).
    """

    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float | None:
        """Seconds, or ``None`` when the number of frames is unknown."""
        return self.frames / self.sample_rate if self.frames >= 0 else None


def check_readable(path: str | os.PathLike) -> Path:
    """Raise :class:`AudioError` unless ``path`` is an existing, readable, non-empty file."""
    p = Path(path)
    if not p.exists():
        raise AudioError(f"{p}: no such file; check the path")
    if p.is_dir():
        raise AudioError(f"{p}: is a folder, not an audio file")
    if not os.access(p, os.R_OK):
        raise AudioError(f"{p}: permission denied; make the file readable")
    if p.stat().st_size == 0:
        raise AudioError(f"{p}: empty file (0 bytes); it holds no audio")
    return p


def open_audio(path: str | os.PathLike) -> sf.SoundFile:
    """Open ``path`` for reading; every failure is an :class:`AudioError` saying why.

    The caller closes the returned file (use it as a context manager).
    """
    p = check_readable(path)
    try:
        return sf.SoundFile(p)
    except (sf.SoundFileError, RuntimeError, OSError) as exc:
        detail = getattr(exc, "error_string", None) or str(exc)
        raise AudioError(
            f"{p}: not a readable audio file ({detail}); the file is corrupt, truncated or of an "
            f"unsupported format (supported: {READ_FORMATS})"
        ) from None


def info_of(f: sf.SoundFile) -> AudioInfo:
    """The :class:`AudioInfo` of an open soundfile."""
    frames = int(f.frames)
    if frames < 0 or frames >= _UNKNOWN_FRAMES_ABOVE:
        frames = -1
    return AudioInfo(
        sample_rate=int(f.samplerate), channels=int(f.channels), frames=frames, format=f.format, subtype=f.subtype
    )


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Read the header of an audio file.

    A file with zero frames is described (``frames == 0``), not refused: refusing it is
    left to the readers, which have audio to return.

    Raises:
        AudioError: missing, unreadable, empty (0 bytes) or unrecognised file.
    """
    with open_audio(path) as f:
        info = info_of(f)
    if info.channels < 1 or info.sample_rate < 1:
        raise AudioError(f"{path}: header gives {info.channels} channels at {info.sample_rate} Hz; the file is corrupt")
    return info
