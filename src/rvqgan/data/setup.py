"""Opening the training and validation caches a recipe names (preparing them if needed)."""

from __future__ import annotations

import logging
from pathlib import Path

from rvqgan.data.cache import AudioCache, prepare_cache
from rvqgan.data.config import DataConfig
from rvqgan.data.sampler import holdout_paths
from rvqgan.data.sources import list_sources
from rvqgan.errors import ConfigError

log = logging.getLogger(__name__)


def ensure_cache(config: DataConfig, sample_rate: int, workers: int = 1) -> Path:
    """The training cache folder, prepared from ``config.sources`` when it does not exist."""
    folder = Path(config.cache)
    if (folder / "index.json").is_file():
        return folder
    if not config.sources:
        raise ConfigError(
            f"data.cache {folder} is not a prepared cache and data.sources is empty; run "
            "`rvqgan prepare SOURCES -o CACHE` or list data.sources in the recipe"
        )
    log.warning("preparing the audio cache %s from %d source(s); this runs once", folder, len(config.sources))
    prepare_cache(list_sources(config.sources), folder, sample_rate, workers=workers)
    return folder


def open_caches(config: DataConfig, sample_rate: int) -> tuple[AudioCache, AudioCache | None]:
    """(training cache, validation cache or None), checked against the model's rate.

    Validation files come from ``data.valid_cache`` or, without it, are held out of the
    training cache (``data.valid_files_per_domain`` per domain); either way the two
    sets share no file.
    """
    full = AudioCache(config.cache)
    if config.valid_cache:
        train, valid = full, AudioCache(config.valid_cache)
        overlap = {f.path for f in train.files} & {f.path for f in valid.files}
        if overlap:
            raise ConfigError(f"{len(overlap)} file(s) are in both the training and validation caches, "
                              f"e.g. {min(overlap)}")
    else:
        held = holdout_paths(full.files, config.valid_files_per_domain)
        train = AudioCache(config.cache, exclude=held)
        valid = AudioCache(config.cache, only=held) if held else None
    for cache in (train, valid):
        if cache is not None and cache.sample_rate != sample_rate:
            raise ConfigError(f"cache {cache.folder} holds {cache.sample_rate} Hz audio but the model runs at "
                              f"{sample_rate} Hz; prepare the cache with --sample-rate {sample_rate}")
    return train, valid
