"""Training data: sources and manifests, the prepared cache, balanced excerpts, the loader.

Only :mod:`rvqgan.data.cache`'s ``decode_file`` / ``prepare_cache`` need soundfile and
soxr (imported when called); training from a prepared cache needs numpy and torch only.
"""

from rvqgan.data.cache import AudioCache, CachedFile, decode_file, prepare_cache, to_int16, write_cache
from rvqgan.data.config import DataConfig, SourceConfig
from rvqgan.data.dataset import ExcerptDataset, StepBatchSampler, make_loader, validation_excerpts
from rvqgan.data.sampler import BalancedSampler, holdout_paths
from rvqgan.data.signal import loudness, normalize_loudness, rotate_phase
from rvqgan.data.sources import AUDIO_SUFFIXES, SourceFile, list_source, list_sources, read_manifest

__all__ = [
    "AUDIO_SUFFIXES",
    "AudioCache",
    "BalancedSampler",
    "CachedFile",
    "DataConfig",
    "ExcerptDataset",
    "SourceConfig",
    "SourceFile",
    "StepBatchSampler",
    "decode_file",
    "holdout_paths",
    "list_source",
    "list_sources",
    "loudness",
    "make_loader",
    "normalize_loudness",
    "prepare_cache",
    "read_manifest",
    "rotate_phase",
    "to_int16",
    "validation_excerpts",
    "write_cache",
]
