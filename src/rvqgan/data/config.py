"""Configuration of the training data: where audio comes from and how excerpts are made."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceConfig:
    """One source of training audio, prepared into the cache by ``rvqgan prepare``.

    Attributes:
        path: a folder (searched recursively for audio files) or a manifest
            (``.jsonl``: one JSON object per file with ``path``, ``domain``,
            ``full_band``, ``weight``; relative paths are relative to the manifest).
        domain: the domain of every file of a folder ("speech", "music",
            "environmental", or any label); a manifest gives it per file.
        full_band: whether a folder's files carry energy up to Nyquist.
        weight: sampling weight of each file of a folder, relative to the other
            files of its domain.
    """

    path: str
    domain: str = "music"
    full_band: bool = False
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.weight < 0:
            raise ValueError(f"source {self.path}: weight must be >= 0, got {self.weight}")


@dataclass(frozen=True)
class DataConfig:
    """How training batches are drawn from a prepared cache.

    Attributes:
        cache: folder of a prepared cache (``rvqgan prepare``); built from
            ``sources`` on first use when it does not exist yet.
        sources: what ``cache`` is prepared from (ignored once it exists).
        valid_cache: a separate prepared cache of held-out files for validation.
        valid_files_per_domain: without ``valid_cache``, hold out this many files of
            each domain of ``cache`` (chosen by a hash of their path) for validation.
        excerpt_seconds: length of a training excerpt (0.38 s in the paper).
        loudness_db: every excerpt is normalized to this loudness (LUFS); ``None`` keeps levels.
        silence_db: excerpts quieter than this (LUFS) are redrawn...
        max_tries: ...at most this many times (the last draw is then kept).
        phase_shift: random global phase rotation of every excerpt (DAC's ShiftPhase).
        gain_db: optional random gain range in dB applied after loudness normalization.
        domains: domain order of the balanced sampler; empty means every domain of the
            cache, sorted. Each batch holds equal numbers of items per domain.
        full_band_fraction: at least this fraction of each batch (and at least one
            item) is drawn from full-band files, taken in the domains that have any.
        weight_by_duration: draw files in proportion to weight x duration rather than
            weight alone (the official loader draws files uniformly).
        num_workers: DataLoader worker processes (0 = load in the training process).
        prefetch_factor: batches prefetched by each worker.
        valid_items: number of validation excerpts.
        valid_seconds: length of each validation excerpt.
    """

    cache: str = "data/cache"
    sources: tuple[SourceConfig, ...] = ()
    valid_cache: str | None = None
    valid_files_per_domain: int = 0
    excerpt_seconds: float = 0.38
    loudness_db: float | None = -24.0
    silence_db: float = -40.0
    max_tries: int = 8
    phase_shift: bool = True
    # (low, high); "..." because rvqgan.config mis-converts fixed-length tuples (reported).
    gain_db: tuple[float, ...] | None = None
    domains: tuple[str, ...] = ()
    full_band_fraction: float = 0.25
    weight_by_duration: bool = False
    num_workers: int = 2
    prefetch_factor: int = 4
    valid_items: int = 16
    valid_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.excerpt_seconds <= 0:
            raise ValueError(f"excerpt_seconds must be positive, got {self.excerpt_seconds}")
        if self.max_tries < 1:
            raise ValueError(f"max_tries must be >= 1, got {self.max_tries}")
        if not 0.0 <= self.full_band_fraction <= 1.0:
            raise ValueError(f"full_band_fraction must be in [0, 1], got {self.full_band_fraction}")
        if self.num_workers < 0 or self.valid_items < 0 or self.valid_files_per_domain < 0:
            raise ValueError("num_workers, valid_items and valid_files_per_domain must be >= 0")
        if self.gain_db is not None and (len(self.gain_db) != 2 or self.gain_db[0] > self.gain_db[1]):
            raise ValueError(f"gain_db must be (low, high) with low <= high, got {self.gain_db}")
