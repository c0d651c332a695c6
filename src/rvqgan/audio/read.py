"""Reading audio: whole small files, or long files block by block with on-the-fly resampling."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from rvqgan.audio.info import AudioInfo, AudioWarning, audio_info, info_of, open_audio
from rvqgan.audio.resample import Resampler
from rvqgan.errors import AudioError

# Formats whose header frame count is an estimate (MP3 without a Xing/LAME tag): a
# shortfall there is warned about; everywhere else it means a truncated file.
_ESTIMATED_LENGTH_FORMATS = {"MP3"}
# libsndfile logs "data : 352800 (should be 176378)" when a WAV header promises more
# data than the file holds.  Piped WAVs carry such bogus sizes legitimately, hence a warning.
_WAV_SIZE_MISMATCH = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def _check_finite(block: np.ndarray, path: Path, start: int, sample_rate: int) -> None:
    """Raise :class:`AudioError` naming how many samples of ``block`` [n, C] are NaN/Inf and where."""
    bad = ~np.isfinite(block)
    if bad.any():
        frame, channel = np.argwhere(bad)[0]
        first = start + int(frame)
        raise AudioError(
            f"{path}: {int(bad.sum())} NaN or infinite sample(s) in frames {start}..{start + len(block) - 1}, "
            f"the first at frame {first} ({first / sample_rate:.3f} s), channel {int(channel)}; the float data "
            "is damaged; repair the file (e.g. replace them with zeros in an editor) and try again"
        )


class _Peaks:
    """Counts float samples beyond [-1, 1] across blocks, to warn once at the end."""

    def __init__(self) -> None:
        self.count = 0
        self.peak = 0.0

    def update(self, block: np.ndarray) -> None:
        if block.size:
            over = np.abs(block) > 1.0
            if over.any():
                self.count += int(over.sum())
                self.peak = max(self.peak, float(np.abs(block).max()))

    def warn(self, path: Path) -> None:
        if self.count:
            warnings.warn(
                f"{path}: {self.count} float sample(s) lie beyond [-1, 1] (peak {self.peak:.3f}); kept as they "
                "are (the encoder accepts them) but the decoder's output is bounded to [-1, 1]: normalise the "
                "input to avoid clipped peaks",
                AudioWarning,
                stacklevel=3,
            )


def _check_length(info: AudioInfo, path: Path, read: int, log: str) -> None:
    """After the last block: refuse empty audio, flag files shorter than their header says."""
    if read == 0:
        raise AudioError(f"{path}: no audio samples (the file holds 0 frames); nothing to code")
    if 0 <= read < info.frames:
        message = f"{path}: the header announces {info.frames} frames but only {read} could be decoded"
        if info.format not in _ESTIMATED_LENGTH_FORMATS:
            raise AudioError(message + "; the file is truncated; re-create or re-download it")
        warnings.warn(message + "; the file may be truncated", AudioWarning, stacklevel=3)
    mismatch = _WAV_SIZE_MISMATCH.search(log) if info.format in {"WAV", "WAVEX", "RF64"} else None
    if mismatch and int(mismatch.group(1)) > int(mismatch.group(2)):
        warnings.warn(
            f"{path}: the WAV header announces {mismatch.group(1)} bytes of audio but the file holds "
            f"{mismatch.group(2)}; the file may be truncated (read {read} frames)",
            AudioWarning,
            stacklevel=3,
        )


def _file_blocks(path: Path, block_frames: int) -> Iterator[np.ndarray]:
    """Blocks [C, n] float32 at the file's rate, checked; the file is open only while iterating."""
    with open_audio(path) as f:
        info = info_of(f)
        peaks, pos = _Peaks(), 0
        while True:
            try:
                block = f.read(block_frames, dtype="float32", always_2d=True)
            except (sf.SoundFileError, RuntimeError, OSError) as exc:
                detail = getattr(exc, "error_string", None) or str(exc)
                raise AudioError(
                    f"{path}: corrupt or truncated audio: decoding failed in the block from frame {pos} "
                    f"({pos / info.sample_rate:.2f} s) on: {detail}; re-create or re-download the file"
                ) from None
            if not len(block):
                break
            _check_finite(block, path, pos, info.sample_rate)
            peaks.update(block)
            pos += len(block)
            yield np.ascontiguousarray(block.T)
        log = f.extra_info
    _check_length(info, path, pos, log)
    peaks.warn(path)


def iter_audio_blocks(
    path: str | os.PathLike,
    target_rate: int | None = None,
    block_seconds: float = 10.0,
    *,
    quality: str = "HQ",
) -> Iterator[np.ndarray]:
    """Stream a file as float32 blocks [C, n], resampled on the fly; memory stays constant.

    The file is checked (exists, readable, recognised) when this is called; decoding
    errors, NaN/Inf samples, truncation and "no audio samples" are raised while
    iterating, at the block where they are met. Blocks hold about ``block_seconds`` of
    audio at the input rate (the last ones may be shorter, some may be empty).

    Args:
        path: the file.
        target_rate: rate of the blocks; ``None`` keeps the file's rate.
        block_seconds: reading granularity.
        quality: soxr quality, ``"HQ"`` or ``"VHQ"``.

    Returns:
        An iterator of ndarray [C, n] float32 whose lengths add up to
        ``resampled_length(frames, file_rate, target_rate)``.
    """
    info = audio_info(path)
    if not block_seconds > 0:
        raise AudioError(f"block_seconds must be positive, got {block_seconds}")
    block_frames = max(1, round(block_seconds * info.sample_rate))
    blocks = _file_blocks(Path(path), block_frames)
    if target_rate is None or target_rate == info.sample_rate:
        return blocks
    # Build the resampler now so that a bad rate or quality is refused at the call.
    return _resampled(blocks, Resampler(info.sample_rate, target_rate, info.channels, quality=quality))


def _resampled(blocks: Iterator[np.ndarray], resampler: Resampler) -> Iterator[np.ndarray]:
    for block in blocks:
        out = resampler.process(block)
        if out.shape[1]:
            yield out
    yield resampler.flush()


def read_audio(
    path: str | os.PathLike, target_rate: int | None = None, *, quality: str = "HQ"
) -> tuple[np.ndarray, int]:
    """Read a whole (small) file; same checks as :func:`iter_audio_blocks`.

    Returns:
        (ndarray [C, T] float32, sample_rate): int PCM scaled to [-1, 1), float data as
        stored, at ``target_rate`` if given, else at the file's rate.
    """
    info = audio_info(path)
    blocks = list(iter_audio_blocks(path, target_rate, block_seconds=60.0, quality=quality))
    return np.concatenate(blocks, axis=1), target_rate or info.sample_rate
