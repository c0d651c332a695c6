"""The training recipe: one frozen dataclass tree, read from YAML with dotted overrides.

A recipe file looks like ``configs/dac_44khz.yaml``; an ablation names a ``base:``
file and overrides a few keys. ``model:`` may start from a named preset
(``model: {preset: small_44khz, decoder_dim: 256}``). Unknown keys are errors that
name the dotted key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from rvqgan.config import apply_overrides, from_dict, load_yaml, merge, to_dict
from rvqgan.data.config import DataConfig
from rvqgan.discriminators import DiscriminatorConfig
from rvqgan.errors import ConfigError
from rvqgan.losses import PAPER_MEL_BINS, PAPER_MEL_WINDOWS, LossWeights
from rvqgan.model import CodecConfig, preset


@dataclass(frozen=True)
class QuantizerConfig:
    """Which codebook learning rule the residual VQ uses.

    Attributes:
        kind: ``"factorized"`` (the paper: L2-normalized look-up, codebook loss) or
            ``"ema_kmeans"`` (EnCodec's: Euclidean, EMA updates, k-means init, dead-code restart).
        ema_decay, kmeans_iters, dead_code_threshold: the ``ema_kmeans`` settings.
        restart_after: ``factorized`` only: a code not chosen for this many steps is
            restarted from a latent of the current batch (0: never, as the paper; see
            :mod:`rvqgan.train.restart`). A training rule, not part of the architecture:
            it may be switched on when a run is resumed.
        restart_check_every: how often (steps) to look for such codes.
    """

    kind: Literal["factorized", "ema_kmeans"] = "factorized"
    ema_decay: float = 0.99
    kmeans_iters: int = 10
    dead_code_threshold: float = 2.0
    restart_after: int = 0
    restart_check_every: int = 25

    def __post_init__(self) -> None:
        if self.restart_after < 0 or self.restart_check_every < 1:
            raise ConfigError("quantizer: restart_after must be >= 0 and restart_check_every >= 1")
        if self.restart_after and self.kind != "factorized":
            raise ConfigError("quantizer.restart_after applies to the factorized quantizer; "
                              "ema_kmeans restarts codes by dead_code_threshold")


@dataclass(frozen=True)
class LossConfig:
    """Loss weights and forms.

    Attributes:
        weights: weight of each term (paper: mel 15, adversarial 1, feature matching 2,
            codebook 1, commitment 0.25).
        gan: ``"hinge"`` (the paper's text) or ``"lsgan"`` (the official code).
        mel_windows, mel_bins: the multi-scale mel loss (paper: 32..2048, 5..320 bins).
        stft_windows: windows of the optional STFT loss (weight ``stft``).
        relative_feature_matching: EnCodec's relative feature-matching form.
        balancer: weight the losses that reach the output audio by EnCodec's gradient
            balancer (their weights then set shares of the gradient).
        balancer_ema: EMA decay of the balancer's gradient norms.
    """

    weights: LossWeights = field(default_factory=LossWeights)
    gan: Literal["lsgan", "hinge"] = "hinge"
    mel_windows: tuple[int, ...] = PAPER_MEL_WINDOWS
    mel_bins: tuple[int, ...] = PAPER_MEL_BINS
    stft_windows: tuple[int, ...] = (2048, 512)
    relative_feature_matching: bool = False
    balancer: bool = False
    balancer_ema: float = 0.999

    def __post_init__(self) -> None:
        if len(self.mel_windows) != len(self.mel_bins):
            raise ConfigError(f"loss.mel_windows {self.mel_windows} and loss.mel_bins {self.mel_bins} differ in length")


@dataclass(frozen=True)
class OptimConfig:
    """AdamW for both networks, exponential decay per step, step drops, gradient clipping.

    Attributes:
        lr: learning rate of the generator (1e-4).
        d_lr: of the discriminator; ``None`` means ``lr``.
        betas: paper (0.8, 0.9); the official code (0.8, 0.99).
        eps: AdamW's epsilon (torch default 1e-8).
        weight_decay: AdamW's decoupled weight decay (torch default 0.01, as the official code).
        lr_gamma: the learning rate is ``lr * lr_gamma ** step`` ...
        lr_milestones: ... times ``lr_milestone_factor`` for each of these steps already
            reached (increasing; ``()``: none). Lets a long run lower its rate at a step
            without changing the rate of the steps before it.
        lr_milestone_factor: the factor of each milestone, in (0, 1].
        grad_clip_g, grad_clip_d: max gradient norms (official: 1000 and 10).
    """

    lr: float = 1e-4
    d_lr: float | None = None
    # tuple[float, ...] rather than tuple[float, float]: rvqgan.config's fixed-length
    # tuple conversion swaps value and type (reported); the length is checked below.
    betas: tuple[float, ...] = (0.8, 0.9)
    eps: float = 1e-8
    weight_decay: float = 0.01
    lr_gamma: float = 0.999996
    lr_milestones: tuple[int, ...] = ()
    lr_milestone_factor: float = 0.1
    grad_clip_g: float = 1000.0
    grad_clip_d: float = 10.0

    def __post_init__(self) -> None:
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"optim.betas must be two numbers in [0, 1), got {self.betas}")
        if self.lr <= 0 or (self.d_lr is not None and self.d_lr <= 0) or not 0 < self.lr_gamma <= 1:
            raise ConfigError("optim: lr and d_lr must be > 0, lr_gamma in (0, 1]")
        milestones = self.lr_milestones
        if any(m <= 0 for m in milestones) or any(a >= b for a, b in pairwise(milestones)):
            raise ConfigError(f"optim.lr_milestones must be increasing positive steps, got {list(milestones)}")
        if not 0 < self.lr_milestone_factor <= 1:
            raise ConfigError(f"optim.lr_milestone_factor must be in (0, 1], got {self.lr_milestone_factor}")

    def learning_rates(self, step: int) -> tuple[float, float]:
        """The generator's and the discriminator's rates at ``step`` (at step 0: lr and d_lr)."""
        scale = self.lr_gamma**step * self.lr_milestone_factor ** sum(step >= m for m in self.lr_milestones)
        return self.lr * scale, (self.lr if self.d_lr is None else self.d_lr) * scale


@dataclass(frozen=True)
class ScheduleConfig:
    """How long, how big, how often.

    Attributes:
        max_steps: training steps (paper 400k; ablations 250k).
        batch_size: global batch (all processes together; paper 72, ablations 12).
        seed: fixes initial weights, data order and every random draw.
        precision: ``"bf16"`` autocasts the networks on CUDA (losses stay float32).
        ema_decay: keep an EMA copy of the generator with this decay (``None``: off).
        adversarial_start: steps before the discriminator and adversarial losses start
            (0 = from the beginning, as the paper).
        valid_every, checkpoint_every, keep_checkpoints: validation and checkpoint cadence.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        threads: CPU threads of torch (0: leave torch's default).
        init_from: start a fresh run from these weights (fine-tuning): a training
            checkpoint folder or a run folder (its newest checkpoint; generator and
            discriminator weights), or an rvqgan model file (generator only). The
            optimizers, step and schedule start afresh. Ignored when the run folder
            holds a checkpoint of its own (that is resumed). The shapes must match;
            options that change no shape (``model.causal``) may differ.
        init_step: with ``init_from``, the step the fresh run starts at (default 0). The
            learning-rate schedule, its milestones and the data order go on from there,
            as if the run had reached that step itself: continuing a lineage whose
            checkpoint was lost, from the model file exported at that step.
        discriminator_warmup: with ``init_from``, the first this many steps of the run
            train the discriminator alone; the generator (its EMA and its codebooks) stays
            as loaded. A model file carries no discriminator, and a fresh one's
            adversarial and feature-matching gradients are noise that would pull a trained
            generator away from where it was.
        trainable: shell-style patterns (``fnmatch``) of the generator's parameter names
            that train; the others stay as loaded (``()``: all train). E.g.
            ``["encoder.*", "quantizer.quantizers.*.in_proj.*"]`` trains the encoder's side
            alone: the codebooks and the decoder stay fixed, so codes keep their meaning and
            any decoder of the model reads the new encoder's codes (docs/recipe.md,
            "Training the encoder alone"). Each pattern must match some parameter.
    """

    max_steps: int = 400_000
    batch_size: int = 72
    seed: int = 0
    precision: Literal["fp32", "bf16"] = "fp32"
    ema_decay: float | None = None
    adversarial_start: int = 0
    valid_every: int = 5000
    checkpoint_every: int = 5000
    keep_checkpoints: int = 3
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = 0
    init_from: str | None = None
    init_step: int = 0
    discriminator_warmup: int = 0
    trainable: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_steps < 0 or self.batch_size < 1 or self.seed < 0:
            raise ConfigError("schedule: max_steps and seed must be >= 0, batch_size >= 1")
        if self.init_step < 0 or self.discriminator_warmup < 0:
            raise ConfigError("schedule: init_step and discriminator_warmup must be >= 0")
        if (self.init_step or self.discriminator_warmup) and not self.init_from:
            raise ConfigError("schedule.init_step and schedule.discriminator_warmup need schedule.init_from "
                              "(the weights to start from)")
        if self.keep_checkpoints < 1 or self.checkpoint_every < 1 or self.valid_every < 1:
            raise ConfigError("schedule: keep_checkpoints, checkpoint_every and valid_every must be >= 1")
        if any(not pattern.strip() for pattern in self.trainable):
            raise ConfigError("schedule.trainable: an empty pattern")

    @property
    def frozen_until(self) -> int:
        """The first step at which the generator trains (``init_step`` when there is no warm-up)."""
        return self.init_step + self.discriminator_warmup if self.init_from else 0


@dataclass(frozen=True)
class LogConfig:
    """Where progress goes.

    Attributes:
        every: a plain log line (stdout and RUN_DIR/train.log) and a metrics.jsonl
            record every this many steps.
        tensorboard: write TensorBoard events to RUN_DIR/tb (needs ``tensorboard``).
        audio_items: validation items whose audio and spectrograms go to TensorBoard.
        progress_bar: ``"auto"`` shows tqdm when stdout is a terminal; ``"always"``, ``"never"``
            (not on/off, which YAML reads as booleans).
    """

    every: int = 50
    tensorboard: bool = True
    audio_items: int = 2
    progress_bar: Literal["auto", "always", "never"] = "auto"


@dataclass(frozen=True)
class TrainConfig:
    """The whole recipe (see ``configs/dac_44khz.yaml``)."""

    model: CodecConfig = field(default_factory=CodecConfig)
    quantizer: QuantizerConfig = field(default_factory=QuantizerConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    log: LogConfig = field(default_factory=LogConfig)

    def __post_init__(self) -> None:
        if self.schedule.trainable and self.quantizer.restart_after:
            raise ConfigError("schedule.trainable freezes part of the generator, but quantizer.restart_after "
                              "rewrites codebooks: set quantizer.restart_after=0")
        if self.discriminator.sample_rate != self.model.sample_rate:
            raise ConfigError(
                f"discriminator.sample_rate {self.discriminator.sample_rate} differs from model.sample_rate "
                f"{self.model.sample_rate}; leave it out to inherit the model's"
            )


def resolve(data: dict[str, Any]) -> dict[str, Any]:
    """Expand ``model.preset`` and let the discriminator inherit the model's rate."""
    data = merge({}, data)
    model = data.get("model")
    if isinstance(model, dict) and "preset" in model:
        model = dict(model)
        data["model"] = merge(to_dict(preset(model.pop("preset"))), model)
    rate = data.get("model", {}).get("sample_rate", CodecConfig.sample_rate)
    disc = data.setdefault("discriminator", {})
    if isinstance(disc, dict):
        disc.setdefault("sample_rate", rate)
    return data


_SCIENTIFIC = re.compile(r"^([+-]?\d+(?:\.\d*)?)[eE]([+-]?\d+)$")


def normalize_override(text: str) -> str:
    """Make ``lr=2e-4`` mean the number: YAML 1.1 (PyYAML) reads ``2e-4`` as a string and
    needs ``2.0e-4``; the value is rewritten in that form."""
    key, sep, value = text.partition("=")
    match = _SCIENTIFIC.match(value.strip())
    if not sep or not match:
        return text
    mantissa, exponent = match.groups()
    if "." not in mantissa:
        mantissa += ".0"
    if exponent[0] not in "+-":
        exponent = "+" + exponent
    return f"{key}={mantissa}e{exponent}"


def config_from_dict(data: dict[str, Any], overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Build a :class:`TrainConfig` from a mapping and ``key.path=value`` overrides."""
    overrides = [normalize_override(o) for o in overrides]
    return from_dict(TrainConfig, resolve(apply_overrides(data, overrides)))


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Read a recipe YAML (following ``base:``), apply overrides, check every key."""
    return config_from_dict(load_yaml(path), overrides)
