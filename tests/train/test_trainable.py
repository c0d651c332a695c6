"""schedule.trainable: only the named generator parameters train (the encoder alone)."""

from __future__ import annotations

import numpy as np
import pytest

from rvqgan.errors import CheckpointError, ConfigError
from rvqgan.model import Codec
from rvqgan.train import Trainer
from rvqgan.train.factory import freeze_except
from tests.train.helpers import tiny_train_config, weights

ENCODER_SIDE = "schedule.trainable=['encoder.*', 'quantizer.quantizers.*.in_proj.*']"


def _encoder_side(name: str) -> bool:
    return name.startswith("encoder.") or (name.startswith("quantizer.") and ".in_proj." in name)


def test_freeze_except_keeps_only_the_named_parameters(piano_cache):
    model = Codec(tiny_train_config(piano_cache).model)
    total = sum(p.numel() for p in model.parameters())
    assert freeze_except(model, ()) == total
    count = freeze_except(model, ("encoder.*", "quantizer.quantizers.*.in_proj.*"))
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and trainable == {name for name, _ in model.named_parameters() if _encoder_side(name)}
    assert count == sum(p.numel() for p in model.parameters() if p.requires_grad) < total


def test_a_pattern_that_matches_nothing_is_refused(piano_cache, tmp_path):
    with pytest.raises(ConfigError, match="'encodr.\\*' matches no parameter"):
        Trainer(tiny_train_config(piano_cache, "schedule.trainable=['encodr.*']"), tmp_path / "run")


def test_trainable_refuses_code_restart(piano_cache):
    with pytest.raises(ConfigError, match="restart_after=0"):
        tiny_train_config(piano_cache, ENCODER_SIDE, "quantizer.restart_after=5")
    with pytest.raises(ConfigError, match="empty pattern"):
        tiny_train_config(piano_cache, "schedule.trainable=['']")


def test_only_the_encoder_side_changes_and_a_resume_equals_a_straight_run(piano_cache, tmp_path):
    config = tiny_train_config(piano_cache, ENCODER_SIDE, "loss.weights.sisdr=1.0", "schedule.max_steps=4")
    straight = Trainer(config, tmp_path / "straight")
    before = weights(straight.generator)
    assert straight.run() == 4
    after = weights(straight.generator)
    changed = {k for k in before if not np.array_equal(before[k], after[k])}
    assert changed, "nothing trained"
    assert all(_encoder_side(k) for k in changed), sorted(k for k in changed if not _encoder_side(k))
    assert any(k.startswith("encoder.") for k in changed)
    log = (tmp_path / "straight" / "train.log").read_text()
    assert "generator parameters train: schedule.trainable" in log

    first = Trainer(config, tmp_path / "resumed", max_steps=2)
    assert first.run() == 2
    second = Trainer(config, tmp_path / "resumed")
    assert second.step == 2 and second.run() == 4
    resumed = weights(second.generator)
    for key, value in after.items():
        assert np.array_equal(value, resumed[key]), key


def test_a_run_cannot_resume_with_other_trainable_parameters(piano_cache, tmp_path):
    Trainer(tiny_train_config(piano_cache, "schedule.max_steps=1"), tmp_path / "run").run()
    with pytest.raises(CheckpointError, match="cannot resume"):
        Trainer(tiny_train_config(piano_cache, ENCODER_SIDE, "schedule.max_steps=2"), tmp_path / "run")
