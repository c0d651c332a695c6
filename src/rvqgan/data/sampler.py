"""Balanced sampling: which file each slot of a batch draws from.

The paper's recipe: every batch holds equal numbers of items of each domain (speech,
music, environmental), and some full-band items (without them the model stops at
~18 kHz). Slot ``i`` of a global batch draws from domain ``domains[i % D]``; the first
``n_full_band`` slots whose domain has full-band files draw only from those (so the
domain balance is exact, and a domain without full-band audio, typically speech,
simply contributes none). Within its pool a file is drawn in proportion to its
weight (optionally times its duration).

The draw is a pure function of the slot and a numpy Generator, so a batch is a pure
function of (seed, step), whatever process or worker computes it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np

from rvqgan.data.cache import CachedFile
from rvqgan.errors import ConfigError


class _Pool:
    """Files of one pool with their cumulative sampling weights."""

    def __init__(self, files: list[int], weights: list[float]) -> None:
        total = float(sum(weights))
        if not files or total <= 0:
            raise ValueError("empty pool")
        self.files = np.asarray(files, dtype=np.int64)
        self.cumulative = np.cumsum(np.asarray(weights, dtype=np.float64)) / total

    def draw(self, rng: np.random.Generator) -> int:
        position = int(np.searchsorted(self.cumulative, rng.random(), side="right"))
        return int(self.files[min(position, len(self.files) - 1)])


class BalancedSampler:
    """Assigns a domain and a full-band requirement to each batch slot and draws files.

    Args:
        files: the cache's files (index = file number in the cache).
        batch_size: items of a global batch (all ranks together).
        domains: domain order; empty means every domain of ``files``, sorted.
        full_band_fraction: share of each batch drawn from full-band files (at least
            one item when there are full-band files and the fraction is > 0).
        weight_by_duration: weight x length instead of weight.

    Raises:
        ConfigError: a listed domain has no file, or no file has a positive weight.
    """

    def __init__(
        self,
        files: Sequence[CachedFile],
        batch_size: int,
        domains: Sequence[str] = (),
        full_band_fraction: float = 0.25,
        weight_by_duration: bool = False,
    ) -> None:
        self.batch_size = batch_size
        self.domains = tuple(domains) or tuple(sorted({f.domain for f in files}))
        weights = [f.weight * (f.length if weight_by_duration else 1.0) for f in files]
        self.pools: list[_Pool] = []
        self.full_band_pools: list[_Pool | None] = []
        for domain in self.domains:
            members = [i for i, f in enumerate(files) if f.domain == domain and weights[i] > 0]
            if not members:
                raise ConfigError(f"data: domain {domain!r} has no file with a positive weight in the cache")
            self.pools.append(_Pool(members, [weights[i] for i in members]))
            full = [i for i in members if files[i].full_band]
            self.full_band_pools.append(_Pool(full, [weights[i] for i in full]) if full else None)
        wanted = max(1, math.ceil(batch_size * full_band_fraction)) if full_band_fraction > 0 else 0
        eligible = [i for i in range(batch_size) if self.full_band_pools[i % len(self.domains)] is not None]
        self.full_band_slots = frozenset(eligible[:wanted])

    @property
    def n_full_band(self) -> int:
        """Full-band items in every batch."""
        return len(self.full_band_slots)

    def slot(self, index: int) -> tuple[int, bool]:
        """(domain number, full-band only) of slot ``index`` of a global batch."""
        return index % len(self.domains), index % self.batch_size in self.full_band_slots

    def draw(self, rng: np.random.Generator, index: int) -> int:
        """The file number drawn for slot ``index``."""
        domain, full_band = self.slot(index)
        pool = self.full_band_pools[domain] if full_band else self.pools[domain]
        return pool.draw(rng)


def holdout_paths(files: Sequence[CachedFile], per_domain: int) -> list[str]:
    """Paths of ``per_domain`` files of each domain held out for validation.

    Chosen by a hash of the path (stable when files are added), and never every file
    of a domain: at least one stays for training.
    """
    if per_domain <= 0:
        return []
    held = []
    for domain in sorted({f.domain for f in files}):
        members = sorted((f.path for f in files if f.domain == domain), key=_path_hash)
        held.extend(members[: min(per_domain, len(members) - 1)])
    return held


def _path_hash(path: str) -> str:
    return hashlib.sha1(path.encode()).hexdigest()
