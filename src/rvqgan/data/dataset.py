"""Training excerpts from a prepared cache, and the loader that batches them.

Item ``(step, index)`` (slot ``index`` of the global batch of ``step``) is a pure
function of (seed, step, index): its numpy Generator is seeded with exactly those
three numbers. This makes the data order independent of workers and ranks, makes
resuming exact (the next batch is the one for the next step), and lets rank ``r``
of ``W`` take slots ``r, r + W, ...`` of the same global batch.
"""

from __future__ import annotations

import math
import signal
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from rvqgan.data.cache import AudioCache
from rvqgan.data.config import DataConfig
from rvqgan.data.sampler import BalancedSampler
from rvqgan.data.signal import ABSOLUTE_GATE_LUFS, loudness, peak_guard, rotate_phase
from rvqgan.errors import ConfigError


class ExcerptDataset(Dataset):
    """Random, loudness-normalized, phase-shifted excerpts, indexed by (step, index).

    Args:
        cache: the prepared audio (its rate must be the model's).
        config: the data configuration.
        batch_size: global batch size (fixes the balanced composition).
        seed: the run's seed (>= 0).

    ``dataset[(step, index)]`` returns ``(audio, domain)``: float32 (1, T) and the
    domain number (in ``self.sampler.domains``).
    """

    def __init__(self, cache: AudioCache, config: DataConfig, batch_size: int, seed: int) -> None:
        if seed < 0:
            raise ConfigError(f"seed must be >= 0, got {seed}")
        if not len(cache):
            raise ConfigError(f"cache {cache.folder} holds no file to train on")
        self.cache = cache
        self.config = config
        self.seed = seed
        self.sample_rate = cache.sample_rate
        self.length = max(1, round(config.excerpt_seconds * cache.sample_rate))
        self.sampler = BalancedSampler(
            cache.files, batch_size, config.domains, config.full_band_fraction, config.weight_by_duration
        )

    def __len__(self) -> int:  # an endless stream: the loader's batch sampler bounds it
        return 2**62

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, int]:
        audio, domain, _ = self.excerpt(*key)
        return torch.from_numpy(audio)[None], domain

    def excerpt(self, step: int, index: int) -> tuple[np.ndarray, int, int]:
        """(audio (T,), domain number, file number) of slot ``index`` at ``step``."""
        rng = np.random.default_rng([self.seed, step, index])
        file = self.sampler.draw(rng, index)
        length = self.cache.files[file].length
        for _ in range(self.config.max_tries):
            # The official loader also retries offsets in the same file until the excerpt
            # is louder than the cutoff, and keeps the last draw otherwise.
            start = int(rng.integers(0, max(1, length - self.length + 1)))
            audio = _fit(self.cache.read(file, start, self.length), self.length)
            level = loudness(audio, self.sample_rate)
            if level > self.config.silence_db:
                break
        audio = self._augment(audio, level, rng)
        return audio, self.sampler.slot(index)[0], file

    def _augment(self, audio: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
        # Random numbers are drawn unconditionally so that switching an augmentation
        # off does not change the other draws.
        gain = rng.uniform(*self.config.gain_db) if self.config.gain_db else 0.0
        angle = rng.uniform(-math.pi, math.pi)
        if self.config.loudness_db is not None and level > ABSOLUTE_GATE_LUFS:
            audio = audio * np.float32(10 ** ((self.config.loudness_db - level) / 20))
        if gain:
            audio = audio * np.float32(10 ** (gain / 20))
        if self.config.phase_shift:
            audio = rotate_phase(audio, angle)
        return peak_guard(audio).astype(np.float32)


def _fit(audio: np.ndarray, length: int) -> np.ndarray:
    """Zero-pad (a file shorter than an excerpt) to ``length`` samples."""
    if audio.shape[0] < length:
        audio = np.pad(audio, (0, length - audio.shape[0]))
    return audio


class StepBatchSampler(Sampler):
    """Yields, for each step in ``[start, stop)``, this rank's keys of the global batch.

    Rank ``r`` of ``world`` takes slots ``r, r + world, ...``: the ranks together see
    exactly the global batch a single process would.
    """

    def __init__(self, start: int, stop: int, batch_size: int, rank: int = 0, world: int = 1) -> None:
        if batch_size % world:
            raise ConfigError(f"batch size {batch_size} must be divisible by the number of processes {world}")
        self.start, self.stop = start, stop
        self.slots = list(range(rank, batch_size, world))

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.stop):
            yield [(step, slot) for slot in self.slots]


def _worker_init(worker_id: int) -> None:
    """Workers leave Ctrl-C and SIGTERM to the training process, which stops cleanly
    after the current step (a terminal sends SIGINT to the whole process group)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def make_loader(
    dataset: ExcerptDataset,
    start: int,
    stop: int,
    batch_size: int,
    rank: int = 0,
    world: int = 1,
    pin_memory: bool = False,
) -> DataLoader:
    """Batches ``(audio (B/world, 1, T), domains (B/world,))`` for steps ``start..stop-1``, in order."""
    workers = dataset.config.num_workers
    return DataLoader(
        dataset,
        batch_sampler=StepBatchSampler(start, stop, batch_size, rank, world),
        num_workers=workers,
        prefetch_factor=dataset.config.prefetch_factor if workers else None,
        pin_memory=pin_memory,
        worker_init_fn=_worker_init if workers else None,
    )


def validation_excerpts(cache: AudioCache, items: int, seconds: float, loudness_db: float | None) -> torch.Tensor:
    """Fixed validation excerpts (no augmentation): (items, 1, T) float32.

    Item ``i`` comes from file ``i % F``; repeated visits of a file take evenly spaced
    positions. The set depends only on the cache, so it is the same at every validation.
    """
    length = max(1, round(seconds * cache.sample_rate))
    n_files = len(cache)
    if not n_files or not items:
        return torch.zeros(0, 1, length)
    out = np.zeros((items, length), dtype=np.float32)
    for i in range(items):
        file, visit = i % n_files, i // n_files
        visits = -(-items // n_files)
        span = max(0, cache.files[file].length - length)
        audio = _fit(cache.read(file, span * (visit + 1) // (visits + 1), length), length)
        level = loudness(audio, cache.sample_rate)
        if loudness_db is not None and level > ABSOLUTE_GATE_LUFS:
            audio = audio * np.float32(10 ** ((loudness_db - level) / 20))
        out[i] = peak_guard(audio)
    return torch.from_numpy(out)[:, None]
