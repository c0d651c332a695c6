"""Adversarial and feature-matching losses on hand-made discriminator outputs."""

from __future__ import annotations

import pytest
import torch

from rvqgan.errors import ConfigError, InputError
from rvqgan.losses import discriminator_loss, feature_matching_loss, generator_adversarial_loss


def output(*logit_values: list[float], feats: list[list[list[float]]] | None = None):
    """One (logits, features) entry per list of logit values."""
    feats = feats or [[[0.0]] for _ in logit_values]
    return [(torch.tensor(v), [torch.tensor(f) for f in fs]) for v, fs in zip(logit_values, feats)]


REAL = output([1.5, 0.5], [2.0, -1.0])
FAKE = output([-2.0, 0.5], [0.0, 3.0])


def test_lsgan_values():
    # Sub-discriminator 1: mean((1-r)^2) = (0.25+0.25)/2 = 0.25, mean(f^2) = (4+0.25)/2 = 2.125
    # Sub-discriminator 2: mean((1-r)^2) = (1+4)/2 = 2.5,        mean(f^2) = (0+9)/2 = 4.5
    assert discriminator_loss(REAL, FAKE, "lsgan").item() == pytest.approx(0.25 + 2.125 + 2.5 + 4.5)
    # Generator: mean((1-f)^2) = (9+0.25)/2 + (1+4)/2
    assert generator_adversarial_loss(FAKE, "lsgan").item() == pytest.approx(4.625 + 2.5)


def test_hinge_values():
    # Sub-discriminator 1: relu(1-r) = (0, 0.5) -> 0.25; relu(1+f) = (0, 1.5) -> 0.75
    # Sub-discriminator 2: relu(1-r) = (0, 2) -> 1.0;    relu(1+f) = (1, 4) -> 2.5
    assert discriminator_loss(REAL, FAKE, "hinge").item() == pytest.approx(0.25 + 0.75 + 1.0 + 2.5)
    # Generator: relu(1-f) = (3, 0.5) -> 1.75; (1, 0) -> 0.5
    assert generator_adversarial_loss(FAKE, "hinge").item() == pytest.approx(1.75 + 0.5)


def test_confident_discriminator_has_zero_hinge_but_positive_lsgan_loss():
    real, fake = output([1.0, 2.0]), output([-1.0, -3.0])
    assert discriminator_loss(real, fake, "hinge").item() == 0.0
    assert discriminator_loss(real, fake, "lsgan").item() > 0.0


def test_feature_matching_values_and_detach():
    real = output([0.0], feats=[[[1.0, 2.0], [0.0, 0.0, 4.0]]])
    fake_feats = [torch.tensor([1.0, 0.0], requires_grad=True), torch.tensor([0.0, 0.0, 0.0], requires_grad=True)]
    fake = [(torch.tensor([0.0]), fake_feats)]
    assert feature_matching_loss(real, real).item() == 0.0
    loss = feature_matching_loss(real, fake)
    assert loss.item() == pytest.approx(1.0 + 4.0 / 3)  # summed per-layer means
    loss.backward()
    assert fake_feats[0].grad is not None
    rel = feature_matching_loss(real, fake, relative=True)
    assert rel.item() == pytest.approx(((1.0 / 1.5) + (4.0 / 3) / (4.0 / 3)) / 2)


def test_real_features_get_no_gradient():
    r = torch.tensor([1.0, 2.0], requires_grad=True)
    f = torch.tensor([0.0, 0.0], requires_grad=True)
    feature_matching_loss([(torch.zeros(1), [r])], [(torch.zeros(1), [f])]).backward()
    assert r.grad is None and f.grad is not None


def test_gan_losses_with_a_real_discriminator_are_finite_and_differentiable():
    from rvqgan.discriminators import DiscriminatorConfig, build_discriminator

    disc = build_discriminator(
        DiscriminatorConfig(periods=(2, 3), stft_windows=(512,), mpd_channels=(2, 4, 4, 4, 4), channels=4)
    )
    real_audio = torch.randn(2, 1, 4096, generator=torch.Generator().manual_seed(0))
    fake_audio = (0.5 * real_audio).requires_grad_(True)
    real, fake = disc(real_audio), disc(fake_audio)
    for kind in ("lsgan", "hinge"):
        assert torch.isfinite(discriminator_loss(real, fake, kind))
    total = generator_adversarial_loss(fake) + feature_matching_loss(real, fake)
    total.backward()
    assert torch.isfinite(fake_audio.grad).all() and fake_audio.grad.abs().sum() > 0


def test_bad_arguments():
    with pytest.raises(ConfigError, match="hinge"):
        discriminator_loss(REAL, FAKE, "wgan")
    with pytest.raises(ConfigError):
        generator_adversarial_loss(FAKE, "vanilla")
    with pytest.raises(InputError):
        feature_matching_loss(REAL, FAKE[:1])
