"""A prepared audio cache: decoded, mono, resampled once, read by memory map.

Layout of a cache folder::

    index.json          what is in it (written last: a cache without it is incomplete)
    shard_00000.npy     int16 samples of many files, concatenated (plain .npy, no pickle)
    shard_00001.npy
    ...

Each file is mixed to mono, resampled to the model's rate (soxr), scaled to a peak of
0.99 before int16 quantization (so quiet files keep their precision; levels do not
matter because excerpts are loudness-normalized), and appended to the current shard.
``index.json`` lists, per file: path, domain, full_band, weight, shard, offset, length,
the scale applied, and the files that could not be read (skipped, with the reason).

Decoding needs ``soundfile`` and ``soxr``; reading a cache needs only numpy, so a
machine without audio libraries trains from a cache prepared elsewhere.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rvqgan.data.sources import SourceFile
from rvqgan.errors import AudioError, ConfigError

FORMAT = "rvqgan-audio-cache"
VERSION = 1
PEAK = 0.99
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedFile:
    """One file of a cache (an entry of ``index.json``)."""

    path: str
    domain: str
    full_band: bool
    weight: float
    shard: int
    offset: int
    length: int
    scale: float


def decode_file(path: str, sample_rate: int) -> np.ndarray:
    """Decode, mix to mono and resample one file: float32 (T,) at ``sample_rate``.

    Raises:
        AudioError: the file cannot be decoded, holds no samples, or NaN/Inf.
    """
    import soundfile
    import soxr

    try:
        audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile raises several types for corrupt input
        raise AudioError(f"{path}: cannot decode ({exc})") from exc
    if audio.shape[0] == 0:
        raise AudioError(f"{path}: no samples")
    mono = audio.mean(axis=1)
    if not np.isfinite(mono).all():
        raise AudioError(f"{path}: NaN or Inf samples")
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate, quality="HQ")
    return mono.astype(np.float32)


def to_int16(audio: np.ndarray) -> tuple[np.ndarray, float]:
    """Scale (T,) float audio to a peak of 0.99 and quantize: (int16 samples, scale applied)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    scale = PEAK / peak if peak > 0 else 1.0
    return np.round(audio * (scale * 32767)).astype(np.int16), scale


def _decode_job(job: tuple[str, int]) -> tuple[np.ndarray | None, str]:
    try:
        return decode_file(*job), ""
    except AudioError as exc:
        return None, str(exc)


def prepare_cache(
    files: list[SourceFile],
    output: str | Path,
    sample_rate: int,
    *,
    shard_mb: float = 64.0,
    workers: int = 1,
    min_seconds: float = 0.05,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Decode ``files`` into a cache folder at ``output``; return its index.

    Unreadable (or shorter than ``min_seconds``) files are skipped with a warning and
    counted in ``index["skipped"]``; they never stop the preparation.

    Raises:
        ConfigError: ``output`` exists already, or no file could be read.
    """
    decoded = _map(_decode_job, [(f.path, sample_rate) for f in files], workers)
    return write_cache(zip(files, decoded), output, sample_rate, shard_mb=shard_mb, min_seconds=min_seconds,
                       progress=progress, total=len(files))


def write_cache(
    items: Iterable[tuple[SourceFile, tuple[np.ndarray | None, str]]],
    output: str | Path,
    sample_rate: int,
    *,
    shard_mb: float = 64.0,
    min_seconds: float = 0.05,
    progress: Callable[[int, int], None] | None = None,
    total: int = 0,
) -> dict:
    """Write a cache from already decoded audio: ``(file, (mono float (T,) or None, error))`` pairs.

    The audio must be at ``sample_rate``. The cache is built in a temporary folder and
    renamed into place when complete. Used by :func:`prepare_cache`, and directly to
    cache synthetic or otherwise produced audio.
    """
    output = Path(output)
    if output.exists():
        raise ConfigError(f"cache {output} exists already; remove it or choose another folder")
    tmp = output.with_name(output.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    writer = _ShardWriter(tmp, int(shard_mb * 2**20 / 2))
    entries, skipped = [], []
    for number, (item, (audio, error)) in enumerate(items, start=1):
        if audio is None or audio.shape[0] < min_seconds * sample_rate:
            reason = error or f"{item.path}: shorter than {min_seconds} s"
            log.warning("skipping unreadable file: %s", reason)
            skipped.append({"path": item.path, "error": reason})
        else:
            samples, scale = to_int16(audio)
            shard, offset = writer.add(samples)
            entries.append(
                CachedFile(item.path, item.domain, item.full_band, item.weight, shard, offset, len(samples), scale)
            )
        if progress is not None:
            progress(number, total)
    shards = writer.close()
    if not entries:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ConfigError(f"none of the {len(skipped)} source files could be read; nothing to prepare")
    index = {
        "format": FORMAT,
        "version": VERSION,
        "sample_rate": sample_rate,
        "dtype": "int16",
        "shards": shards,
        "files": [entry.__dict__ for entry in entries],
        "skipped": skipped,
    }
    (tmp / "index.json").write_text(json.dumps(index, indent=1))
    os.replace(tmp, output)
    return index


def _map(function: Callable, jobs: list, workers: int) -> Iterable:
    if workers <= 1:
        yield from map(function, jobs)
        return
    # Ordered map: the cache layout does not depend on which worker finishes first.
    with ProcessPoolExecutor(workers) as executor:
        yield from executor.map(function, jobs, chunksize=1)


class _ShardWriter:
    """Appends int16 arrays to shards of at most ``max_samples`` samples."""

    def __init__(self, folder: Path, max_samples: int) -> None:
        self.folder = folder
        self.max_samples = max(1, max_samples)
        self.names: list[str] = []
        self.pending: list[np.ndarray] = []
        self.size = 0

    def add(self, samples: np.ndarray) -> tuple[int, int]:
        if self.pending and self.size + len(samples) > self.max_samples:
            self._flush()
        offset = self.size
        self.pending.append(samples)
        self.size += len(samples)
        return len(self.names), offset

    def _flush(self) -> None:
        name = f"shard_{len(self.names):05d}.npy"
        np.save(self.folder / name, np.concatenate(self.pending), allow_pickle=False)
        self.names.append(name)
        self.pending, self.size = [], 0

    def close(self) -> list[str]:
        if self.pending:
            self._flush()
        return self.names


class AudioCache:
    """Read-only view of a prepared cache; samples are memory-mapped, opened lazily.

    Safe to hand to DataLoader worker processes: each process opens its own maps.

    Args:
        folder: the cache folder.
        exclude: paths of files to leave out (e.g. held out for validation).
        only: if given, keep only the files with these paths.
    """

    def __init__(self, folder: str | Path, exclude: Iterable[str] = (), only: Iterable[str] | None = None) -> None:
        self.folder = Path(folder)
        index_path = self.folder / "index.json"
        if not index_path.is_file():
            raise ConfigError(
                f"{self.folder} is not a prepared audio cache (no index.json); "
                "create it with `rvqgan prepare SOURCES -o FOLDER`"
            )
        index = json.loads(index_path.read_text())
        if index.get("format") != FORMAT or index.get("version") != VERSION:
            raise ConfigError(f"{index_path}: not a version {VERSION} {FORMAT} index")
        self.sample_rate: int = index["sample_rate"]
        self.shards: list[str] = index["shards"]
        excluded = set(exclude)
        kept = None if only is None else set(only)
        self.files = [
            CachedFile(**entry)
            for entry in index["files"]
            if entry["path"] not in excluded and (kept is None or entry["path"] in kept)
        ]
        self.skipped: list[dict] = index.get("skipped", [])
        self._maps: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.files)

    def __getstate__(self) -> dict:
        # Memory maps are reopened in each worker process rather than copied.
        state = self.__dict__.copy()
        state["_maps"] = {}
        return state

    def _shard(self, number: int) -> np.ndarray:
        if number not in self._maps:
            self._maps[number] = np.load(self.folder / self.shards[number], mmap_mode="r", allow_pickle=False)
        return self._maps[number]

    def read(self, file: int, start: int = 0, length: int | None = None) -> np.ndarray:
        """Samples ``[start, start + length)`` of file number ``file`` as float32 (T,).

        Reading past the end returns fewer samples (the caller pads).
        """
        entry = self.files[file]
        start = max(0, min(start, entry.length))
        stop = entry.length if length is None else min(entry.length, start + length)
        raw = self._shard(entry.shard)[entry.offset + start : entry.offset + stop]
        return raw.astype(np.float32) * np.float32(1 / 32767)

    def seconds(self) -> float:
        """Total duration of the cached files, in seconds."""
        return sum(f.length for f in self.files) / self.sample_rate
