"""Adversarial and feature-matching losses over a :data:`DiscriminatorOutput`.

Reductions follow the official DAC code: each term is a mean over one
sub-discriminator's logits (or one layer's features), and terms are **summed** over
sub-discriminators (and layers). The paper's weights (adversarial 1, feature
matching 2) are calibrated for these sums.

Kinds:
    ``"lsgan"`` (official code): D minimises ``(1 - D(x))^2 + D(x_hat)^2``,
    G minimises ``(1 - D(x_hat))^2``.
    ``"hinge"`` (the paper's text; EnCodec): D minimises ``relu(1 - D(x)) + relu(1 + D(x_hat))``,
    G minimises ``relu(1 - D(x_hat))`` (EnCodec's generator form).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from rvqgan.errors import ConfigError, InputError

if TYPE_CHECKING:
    from rvqgan.discriminators import DiscriminatorOutput

GAN_KINDS = ("lsgan", "hinge")


def _check_kind(kind: str) -> None:
    if kind not in GAN_KINDS:
        raise ConfigError(f"unknown GAN loss kind {kind!r}; use one of {GAN_KINDS}")


def _check_pair(real: DiscriminatorOutput, fake: DiscriminatorOutput) -> None:
    if len(real) != len(fake):
        raise InputError(f"real and fake discriminator outputs differ in length ({len(real)} vs {len(fake)})")


def discriminator_loss(real: DiscriminatorOutput, fake: DiscriminatorOutput, kind: str = "lsgan") -> torch.Tensor:
    """The discriminator's loss: real logits pushed to +1, fake ones to 0 (lsgan) or below -1 (hinge).

    Args:
        real: discriminator output on reference audio.
        fake: discriminator output on generated audio (detach the generator output first).
        kind: ``"lsgan"`` or ``"hinge"``.

    Returns:
        Tensor: scalar, summed over sub-discriminators.
    """
    _check_kind(kind)
    _check_pair(real, fake)
    loss = real[0][0].new_zeros(())
    for (logit_real, _), (logit_fake, _) in zip(real, fake):
        if kind == "lsgan":
            loss = loss + (1 - logit_real).pow(2).mean() + logit_fake.pow(2).mean()
        else:
            loss = loss + F.relu(1 - logit_real).mean() + F.relu(1 + logit_fake).mean()
    return loss


def generator_adversarial_loss(fake: DiscriminatorOutput, kind: str = "lsgan") -> torch.Tensor:
    """The generator's adversarial loss: fake logits pushed towards +1.

    Args:
        fake: discriminator output on generated audio (not detached).
        kind: ``"lsgan"`` or ``"hinge"``.

    Returns:
        Tensor: scalar, summed over sub-discriminators.
    """
    _check_kind(kind)
    loss = fake[0][0].new_zeros(())
    for logit_fake, _ in fake:
        if kind == "lsgan":
            loss = loss + (1 - logit_fake).pow(2).mean()
        else:
            loss = loss + F.relu(1 - logit_fake).mean()
    return loss


def feature_matching_loss(real: DiscriminatorOutput, fake: DiscriminatorOutput, relative: bool = False) -> torch.Tensor:
    """L1 between the discriminator's feature maps on reference and generated audio.

    Real features are detached: this loss trains the generator only.

    Args:
        real: discriminator output on reference audio.
        fake: discriminator output on generated audio.
        relative: EnCodec's form instead of the official one: each layer's L1 divided
            by the mean absolute real feature, averaged (not summed) over all layers.

    Returns:
        Tensor: scalar; official: sum over sub-discriminators and layers of mean |f - r|.
    """
    _check_pair(real, fake)
    loss = fake[0][0].new_zeros(())
    count = 0
    for (_, feats_real), (_, feats_fake) in zip(real, fake):
        if len(feats_real) != len(feats_fake):
            raise InputError("real and fake outputs have different numbers of feature maps")
        for r, f in zip(feats_real, feats_fake):
            r = r.detach()
            term = F.l1_loss(f, r)
            if relative:
                term = term / (r.abs().mean() + 1e-12)
            loss = loss + term
            count += 1
    return loss / count if relative and count else loss
