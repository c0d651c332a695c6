"""Decoding, resampling, hashing and atomic writing of audio files and manifests."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

TARGET_RATE = 44100
#: Peak level written files are scaled down to when decoding overshoots full scale.
MAX_PEAK = 0.999


@dataclass(frozen=True)
class Decoded:
    """A decoded original file.

    Attributes:
        mono: channel average, shape (T,), float32 at ``sample_rate``.
        sample_rate: original rate in Hz.
        channels: original channel count.
        audio_sha256: hash of the decoded samples (all channels, rounded to 16 bit), which
            identifies the same recording stored in differently named or tagged files.
    """

    mono: np.ndarray
    sample_rate: int
    channels: int
    audio_sha256: str


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pcm_sha256(samples: np.ndarray) -> str:
    """SHA-256 of samples rounded to 16-bit integers (any shape, C order)."""
    q = np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32767.0), -32768, 32767).astype("<i2")
    return hashlib.sha256(np.ascontiguousarray(q).tobytes()).hexdigest()


def decode(path: Path) -> Decoded:
    """Decode an audio file (any format libsndfile reads: WAV, FLAC, Vorbis, Opus, MP3).

    Raises:
        RuntimeError / soundfile errors: for unreadable files (callers skip and count them).
    """
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    if data.size == 0:
        raise RuntimeError(f"{path}: no samples")
    if not np.all(np.isfinite(data)):
        raise RuntimeError(f"{path}: non-finite samples")
    return Decoded(data.mean(axis=1).astype(np.float32), int(sr), int(data.shape[1]), pcm_sha256(data))


def resample(audio: np.ndarray, rate_in: int, rate_out: int = TARGET_RATE) -> np.ndarray:
    """Resample mono audio with soxr (very high quality); a copy-free no-op at equal rates."""
    if rate_in == rate_out:
        return audio.astype(np.float32, copy=False)
    return soxr.resample(audio, rate_in, rate_out, quality="VHQ").astype(np.float32, copy=False)


def limit_peak(audio: np.ndarray) -> tuple[np.ndarray, float]:
    """Scale audio down so its peak is at most :data:`MAX_PEAK` (decoders and resamplers can
    overshoot 1.0, and integer FLAC would clip). Returns the audio and the gain applied."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= MAX_PEAK:
        return audio, 1.0
    gain = MAX_PEAK / peak
    return (audio * gain).astype(np.float32), gain


def write_flac_atomic(path: Path, audio: np.ndarray, sample_rate: int, subtype: str) -> None:
    """Write mono FLAC through a temporary file renamed into place (never a partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    sf.write(str(tmp), audio, sample_rate, subtype=subtype, format="FLAC")
    os.replace(tmp, path)


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSON-lines file (a missing file gives [], a torn last line is dropped)."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break  # an interrupted append; everything before it is intact
    return rows


def write_jsonl_atomic(path: Path, rows: list[dict]) -> None:
    """Write JSON lines through a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        f.writelines(json.dumps(row, sort_keys=True) + "\n" for row in rows)
    os.replace(tmp, path)


def write_json_atomic(path: Path, obj) -> None:
    """Write one JSON document through a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def slug(text: str) -> str:
    """A file-name-safe version of a source id or path."""
    keep = [c if c.isalnum() or c in "-_." else "_" for c in text]
    return "".join(keep).strip("._")[:120] or "x"
