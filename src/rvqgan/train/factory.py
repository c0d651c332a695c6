"""Builds what a recipe describes: the generator (with its quantizer variant), the
discriminator, the loss modules, the optimizers."""

from __future__ import annotations

import fnmatch

import torch
from torch import nn

from rvqgan.discriminators import Discriminator, build_discriminator
from rvqgan.errors import ConfigError
from rvqgan.losses import MelLoss, SISDRLoss, STFTLoss, WaveformL1Loss
from rvqgan.model import Codec
from rvqgan.quantize.ema import EMAVectorQuantizer
from rvqgan.train.config import LossConfig, OptimConfig, TrainConfig


def build_generator(config: TrainConfig) -> Codec:
    """The generator of ``config.model``, its codebooks swapped for the EMA variant if asked.

    ``CodecConfig`` describes the paper's quantizer only; the ``ema_kmeans`` option
    lives in the training recipe, so the swap happens here.
    """
    model = Codec(config.model)
    if config.quantizer.kind == "ema_kmeans":
        model_cfg, q_cfg = config.model, config.quantizer
        rvq = model.quantizer
        rvq.quantizers = nn.ModuleList(
            EMAVectorQuantizer(
                model_cfg.latent_channels,
                model_cfg.codebook_size,
                model_cfg.codebook_dim,
                decay=q_cfg.ema_decay,
                kmeans_iters=q_cfg.kmeans_iters,
                dead_code_threshold=q_cfg.dead_code_threshold,
            )
            for _ in range(model_cfg.n_codebooks)
        )
    return model


def build_models(config: TrainConfig) -> tuple[Codec, Discriminator]:
    """Generator and discriminator with initial weights fixed by ``schedule.seed``."""
    torch.manual_seed(config.schedule.seed)
    generator = build_generator(config)
    discriminator = build_discriminator(config.discriminator)
    return generator, discriminator


# Loss names, as in LossWeights and in the logs.
RECONSTRUCTION = ("mel", "stft", "waveform", "sisdr")


class ReconstructionLosses(nn.Module):
    """The non-adversarial losses between the output and the reference audio.

    Only the terms with a non-zero weight are built and computed.
    """

    def __init__(self, config: LossConfig, sample_rate: int) -> None:
        super().__init__()
        weights = config.weights
        self.mel = MelLoss(sample_rate, config.mel_windows, config.mel_bins) if weights.mel else None
        self.stft = STFTLoss(config.stft_windows) if weights.stft else None
        self.waveform = WaveformL1Loss() if weights.waveform else None
        self.sisdr = SISDRLoss() if weights.sisdr else None

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
        """fake, real (B, 1, T) -> {"mel": scalar, ...} for the enabled terms (float32)."""
        fake, real = fake.float(), real.float()
        out = {}
        for name in RECONSTRUCTION:
            module = getattr(self, name)
            if module is not None:
                out[name] = module(fake, real)
        return out


def freeze_except(generator: nn.Module, patterns: tuple[str, ...]) -> int:
    """Leave only the parameters named by ``patterns`` (fnmatch) trainable; ``()``: all.

    Returns the number of trainable values. Raises ``ConfigError`` for a pattern that
    matches no parameter (a typo would otherwise freeze the whole generator).
    """
    if not patterns:
        return sum(p.numel() for p in generator.parameters() if p.requires_grad)
    named = list(generator.named_parameters())
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(name, pattern) for name, _ in named):
            raise ConfigError(f"schedule.trainable: {pattern!r} matches no parameter of the generator "
                              f"(names look like {named[0][0]!r})")
    count = 0
    for name, param in named:
        keep = any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
        param.requires_grad_(keep and param.requires_grad)
        count += param.numel() if param.requires_grad else 0
    return count


def build_optimizers(
    config: OptimConfig, generator: nn.Module, discriminator: nn.Module
) -> tuple[torch.optim.AdamW, torch.optim.AdamW]:
    """AdamW for each network over its trainable parameters (EMA codebooks are not)."""

    def adamw(module: nn.Module, lr: float) -> torch.optim.AdamW:
        params = [p for p in module.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=lr, betas=config.betas, eps=config.eps, weight_decay=config.weight_decay)

    lr, d_lr = config.learning_rates(0)
    return adamw(generator, lr), adamw(discriminator, d_lr)


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> float:
    """Give every parameter group of ``optimizer`` the rate ``lr``; returns it.

    The rate is a pure function of the step (``OptimConfig.learning_rates``): nothing to save
    or restore, so a resumed run gets exactly the same rates.
    """
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr
