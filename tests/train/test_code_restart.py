"""Dead-code restart: unused codes move to the data, resume stays bit-exact, off changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rvqgan.errors import CheckpointError, ConfigError
from rvqgan.quantize.rvq import ResidualVectorQuantizer
from rvqgan.train import Trainer
from rvqgan.train.restart import CodeRestarter
from tests.train.helpers import tiny_train_config, weights


def _quantize(rvq: ResidualVectorQuantizer, z: torch.Tensor):
    out = rvq(z)
    return out.codes, out.latents, out.n_quantizers


def test_unused_codes_get_batch_latents_and_used_ones_stay():
    torch.manual_seed(0)
    rvq = ResidualVectorQuantizer(input_dim=16, n_codebooks=2, codebook_size=64, codebook_dim=4, dropout=0.0)
    restarter = CodeRestarter(rvq, restart_after=4, check_every=3)
    z = torch.randn(2, 16, 20)
    before = [vq.codebook.weight.detach().clone() for vq in rvq.quantizers]
    for step in (1, 2):
        assert restarter.observe(*_quantize(rvq, z), step) == {}
    codes, latents, n = _quantize(rvq, z)
    logs = restarter.observe(codes, latents, n, 3)
    # Nothing has been unused for 4 steps yet (the table starts at step 0).
    assert logs["quantizer/restarted"] == 0
    for step in range(4, 7):
        codes, latents, n = _quantize(rvq, z)
        logs = restarter.observe(codes, latents, n, step)
    restarted = int(logs["quantizer/restarted"])
    assert restarted > 0
    for k, vq in enumerate(rvq.quantizers):
        used = codes[:, k].unique()
        weight = vq.codebook.weight.detach()
        assert torch.equal(weight[used], before[k][used]), "a code in use was moved"
        unused = torch.ones(64, dtype=torch.bool)
        unused[used] = False
        # Every restarted vector is exactly one of this codebook's batch latents.
        batch = latents[:, k * 4:(k + 1) * 4].transpose(1, 2).reshape(-1, 4)
        for row in weight[unused]:
            assert (batch == row).all(dim=1).any()
    # Restarted codes are chosen again: usage grows.
    after = _quantize(rvq, z)[0]
    assert sum(after[:, k].unique().numel() for k in range(2)) >= sum(codes[:, k].unique().numel() for k in range(2))


def test_restart_state_round_trips_and_checks_shape():
    rvq = ResidualVectorQuantizer(input_dim=8, n_codebooks=2, codebook_size=16, codebook_dim=4)
    a = CodeRestarter(rvq, restart_after=5, check_every=1)
    a.last_used[1, 3] = 7
    b = CodeRestarter(rvq, restart_after=5, check_every=1)
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.last_used, b.last_used)
    other = CodeRestarter(ResidualVectorQuantizer(8, 3, 16, 4), restart_after=5, check_every=1)
    with pytest.raises(ValueError, match="shape"):
        other.load_state_dict(a.state_dict())


def test_resume_with_restart_is_bit_exact(piano_cache, tmp_path):
    config = tiny_train_config(piano_cache, "quantizer.restart_after=2", "quantizer.restart_check_every=1")
    straight = Trainer(config, tmp_path / "straight")
    assert straight.run() == 6
    assert straight.restarter.restarted_total > 0, "the tiny run should restart some codes"

    first = Trainer(config, tmp_path / "resumed", max_steps=3)
    assert first.run() == 3
    del first
    second = Trainer(config, tmp_path / "resumed")
    assert second.run() == 6
    a, b = weights(straight.generator), weights(second.generator)
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    assert torch.equal(straight.restarter.last_used, second.restarter.last_used)


def test_restart_can_be_switched_on_at_resume_but_architecture_cannot_change(piano_cache, tmp_path):
    plain = tiny_train_config(piano_cache)
    assert Trainer(plain, tmp_path / "run", max_steps=2).run() == 2
    switched = Trainer(tiny_train_config(piano_cache, "quantizer.restart_after=50"), tmp_path / "run")
    assert switched.step == 2 and int(switched.restarter.last_used.min()) == 2
    with pytest.raises(CheckpointError, match="quantizer"):
        Trainer(tiny_train_config(piano_cache, "quantizer.kmeans_iters=3"), tmp_path / "run")


def test_restart_rejects_ema_quantizer_and_negative_values(piano_cache):
    with pytest.raises(ConfigError, match="restart_after"):
        tiny_train_config(piano_cache, "quantizer.kind=ema_kmeans", "quantizer.restart_after=10")
    with pytest.raises(ConfigError, match="restart_after"):
        tiny_train_config(piano_cache, "quantizer.restart_after=-1")
