"""One iteration: finite losses, a gradient on every trainable parameter, both networks move."""

from __future__ import annotations

import math

import pytest
import torch

from rvqgan.errors import ConfigError
from rvqgan.train import Trainer
from tests.train.helpers import tiny_train_config


def _one_step(trainer: Trainer) -> dict[str, torch.Tensor]:
    audio = torch.stack([trainer.dataset[(0, i)][0] for i in range(2)])
    return trainer.train_step(audio)


def test_one_step_is_finite_and_reaches_every_parameter(piano_cache, tmp_path):
    trainer = Trainer(tiny_train_config(piano_cache), tmp_path)
    before_g = [p.detach().clone() for p in trainer.generator.parameters()]
    before_d = [p.detach().clone() for p in trainer.discriminator.parameters()]
    logs = _one_step(trainer)
    for name in ("mel", "adversarial", "feature_matching", "codebook", "commitment", "discriminator", "generator"):
        assert math.isfinite(float(logs[f"loss/{name}"])), name
    for module in (trainer.generator, trainer.discriminator):
        for name, param in module.named_parameters():
            assert param.grad is not None, f"no gradient reached {name}"
            assert torch.isfinite(param.grad).all(), name
    moved_g = sum(not torch.equal(a, p) for a, p in zip(before_g, trainer.generator.parameters()))
    moved_d = sum(not torch.equal(a, p) for a, p in zip(before_d, trainer.discriminator.parameters()))
    assert moved_g == len(before_g) and moved_d == len(before_d)
    assert trainer.step == 1


def test_adversarial_start_skips_the_discriminator(piano_cache, tmp_path):
    trainer = Trainer(tiny_train_config(piano_cache, "schedule.adversarial_start=5"), tmp_path)
    before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    logs = _one_step(trainer)
    assert "loss/discriminator" not in logs and "loss/adversarial" not in logs
    assert all(torch.equal(a, p) for a, p in zip(before, trainer.discriminator.parameters()))


def test_learning_rate_decays_per_step(piano_cache, tmp_path):
    trainer = Trainer(tiny_train_config(piano_cache, "optim.lr_gamma=0.5", "optim.d_lr=2.0e-4"), tmp_path)
    _one_step(trainer)
    logs = _one_step(trainer)
    assert trainer.optimizer_g.param_groups[0]["lr"] == 1e-4 * 0.5
    assert trainer.optimizer_d.param_groups[0]["lr"] == 2e-4 * 0.5
    assert float(logs["lr/generator"]) == 1e-4 * 0.5


def test_learning_rate_milestones_drop_the_rate_from_their_step_on(piano_cache, tmp_path):
    config = tiny_train_config(piano_cache, "optim.lr_gamma=0.5", "optim.lr_milestones=[1, 2]",
                               "optim.lr_milestone_factor=0.25")
    trainer = Trainer(config, tmp_path)
    rates = [float(_one_step(trainer)["lr/generator"]) for _ in range(3)]
    # step 0: no drop yet; step 1: gamma and one drop; step 2: gamma twice and two drops
    assert rates == [1e-4, 1e-4 * 0.5 * 0.25, 1e-4 * 0.25 * 0.0625]
    assert trainer.optimizer_d.param_groups[0]["lr"] == rates[-1]


@pytest.mark.parametrize("milestones, factor", [("[5, 5]", "0.5"), ("[0]", "0.5"), ("[7, 3]", "0.5"), ("[5]", "0"),
                                                ("[5]", "1.5")])
def test_bad_learning_rate_milestones_are_refused(piano_cache, milestones, factor):
    with pytest.raises(ConfigError, match="lr_milestone"):
        tiny_train_config(piano_cache, f"optim.lr_milestones={milestones}", f"optim.lr_milestone_factor={factor}")


def test_balancer_and_ema_options_train(piano_cache, tmp_path):
    config = tiny_train_config(piano_cache, "loss.balancer=true", "schedule.ema_decay=0.9", "loss.weights.waveform=1.0",
                         "loss.weights.stft=1.0")
    trainer = Trainer(config, tmp_path)
    logs = _one_step(trainer)
    assert math.isfinite(float(logs["loss/generator"])) and "loss/waveform" in logs and "loss/stft" in logs
    ema = dict(trainer.ema.module.named_parameters())
    live = dict(trainer.generator.named_parameters())
    # After one update the EMA lies 10 % of the way from the initial weights to the new ones.
    assert any(not torch.equal(ema[k], live[k]) for k in live)


def test_sisdr_term_is_the_negative_si_sdr_and_only_built_when_weighted():
    from rvqgan.losses import LossWeights, si_sdr
    from rvqgan.train.config import LossConfig
    from rvqgan.train.factory import ReconstructionLosses

    torch.manual_seed(0)
    real = torch.randn(2, 1, 4000)
    fake = 0.5 * real + 0.3 * torch.randn(2, 1, 4000)
    off = ReconstructionLosses(LossConfig(), 44100)
    assert off.sisdr is None and "sisdr" not in off(fake, real)
    on = ReconstructionLosses(LossConfig(weights=LossWeights(sisdr=1.0)), 44100)
    assert torch.allclose(on(fake, real)["sisdr"], -si_sdr(fake, real).mean())
    # A step down its gradient brings the estimate closer to the reference's waveform.
    fake.requires_grad_(True)
    on(fake, real)["sisdr"].backward()
    with torch.no_grad():
        assert (si_sdr(fake - 0.1 * fake.grad / fake.grad.norm() * fake.norm(), real) > si_sdr(fake, real)).all()


def test_sisdr_weight_trains(piano_cache, tmp_path):
    trainer = Trainer(tiny_train_config(piano_cache, "loss.weights.sisdr=0.5"), tmp_path)
    logs = _one_step(trainer)
    assert math.isfinite(float(logs["loss/sisdr"]))
