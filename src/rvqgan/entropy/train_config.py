"""The recipe of ``rvqgan train-lm``: frozen dataclasses built from YAML (see ``configs/lm/``).

Example::

    config = load_lm_config("configs/lm/default.yaml", ["optim.lr=5e-4"])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rvqgan.config import apply_overrides, from_dict, load_yaml
from rvqgan.entropy.lm import CodeLMConfig
from rvqgan.errors import ConfigError


@dataclass(frozen=True)
class LMDataConfig:
    """Where the codes come from.

    Attributes:
        manifest: JSON-lines corpus manifest (``path``, ``domain``, ``source_id``...).
        valid_manifest: a separate validation manifest; ``None`` holds out
            ``valid_fraction`` of the corpus's sources instead.
        valid_fraction: share of sources held out for validation.
        max_items: use at most this many items (spread over the manifest); for quick runs.
        max_seconds: cut each item to this many seconds before encoding.
        cache_dir: where codes are cached; ``None``: ``<run_dir>/codes``.
    """

    manifest: str = "data/corpus/manifest.jsonl"
    valid_manifest: str | None = None
    valid_fraction: float = 0.05
    max_items: int | None = None
    max_seconds: float | None = 60.0
    cache_dir: str | None = None


@dataclass(frozen=True)
class LMArchConfig:
    """The LM's architecture; codebook count and size come from the codec (see CodeLMConfig)."""

    dim: int = 200
    layers: int = 5
    heads: int = 8
    ff_dim: int = 800
    context_frames: int = 256
    same_frame: bool = True
    depth_dim: int = 0
    floor_fraction: float = 1.0 / 256
    norm_eps: float = 1e-5

    def for_codec(self, n_codebooks: int, codebook_size: int) -> CodeLMConfig:
        return CodeLMConfig(n_codebooks=n_codebooks, codebook_size=codebook_size, **self.__dict__)


@dataclass(frozen=True)
class LMOptimConfig:
    """AdamW with linear warm-up and cosine decay to ``min_lr_fraction * lr``."""

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.98)
    weight_decay: float = 0.01
    warmup_steps: int = 200
    min_lr_fraction: float = 0.1
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.warmup_steps < 0 or not 0 <= self.min_lr_fraction <= 1:
            raise ConfigError("optim: lr must be > 0, warmup_steps >= 0, min_lr_fraction in [0, 1]")


@dataclass(frozen=True)
class LMScheduleConfig:
    """Steps, batches and how often to validate, checkpoint and log.

    Attributes:
        window_frames: frames per training sequence; each starts the LM afresh, as a
            file chunk does (make it at least the chunk length of the files coded).
        full_codebooks_prob: share of batches coded with all codebooks; the others
            use a uniformly drawn number, so every bitrate is learned.
    """

    max_steps: int = 20000
    batch_size: int = 16
    window_frames: int = 176
    full_codebooks_prob: float = 0.5
    valid_every: int = 500
    valid_windows: int = 64
    checkpoint_every: int = 250
    log_every: int = 25
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        for name in (
            "max_steps",
            "batch_size",
            "window_frames",
            "valid_every",
            "valid_windows",
            "checkpoint_every",
            "log_every",
            "threads",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"schedule.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.full_codebooks_prob <= 1.0:
            raise ConfigError("schedule.full_codebooks_prob must be in [0, 1]")


@dataclass(frozen=True)
class LMExportConfig:
    """What the run writes when it ends.

    Attributes:
        weight_bits: bits per stored weight of the integer LM (8 keeps it small).
        lm_path: the LM file; ``None``: beside the codec (``NAME.lm.safetensors``).
        static_path: the static tables; ``None``: beside the codec.
        static: also write static tables (counted on the training codes).
        name: the entropy models' name; ``None``: ``<codec name>.lm`` / ``.static``.
    """

    weight_bits: int = 8
    lm_path: str | None = None
    static_path: str | None = None
    static: bool = True
    name: str | None = None


@dataclass(frozen=True)
class LMTrainConfig:
    """A whole ``train-lm`` recipe; ``codec`` is a bundled model name or a checkpoint path."""

    codec: str = "default"
    data: LMDataConfig = field(default_factory=LMDataConfig)
    model: LMArchConfig = field(default_factory=LMArchConfig)
    optim: LMOptimConfig = field(default_factory=LMOptimConfig)
    schedule: LMScheduleConfig = field(default_factory=LMScheduleConfig)
    export: LMExportConfig = field(default_factory=LMExportConfig)


def load_lm_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> LMTrainConfig:
    """Read a recipe (``base:`` files allowed) and apply ``key.path=value`` overrides."""
    data = apply_overrides(load_yaml(path), list(overrides))
    return from_dict(LMTrainConfig, data)
