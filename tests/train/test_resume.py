"""Resuming an interrupted run reaches the same weights, bit for bit, as never stopping."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from rvqgan.train import Trainer
from rvqgan.train.state import CheckpointStore
from tests.train.helpers import tiny_train_config, weights


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        assert np.array_equal(value, b[key]), key


def test_resume_is_bit_exact(piano_cache, tmp_path):
    config = tiny_train_config(piano_cache)
    straight = Trainer(config, tmp_path / "straight")
    assert straight.run() == 6

    first = Trainer(config, tmp_path / "resumed", max_steps=3)
    assert first.run() == 3
    del first
    second = Trainer(config, tmp_path / "resumed")
    assert second.step == 3 and second.resumed_from is not None
    assert second.run() == 6

    _assert_same(weights(straight.generator), weights(second.generator))
    _assert_same(weights(straight.discriminator), weights(second.discriminator))
    for a, b in ((straight.optimizer_g, second.optimizer_g), (straight.optimizer_d, second.optimizer_d)):
        state_a, state_b = a.state_dict()["state"], b.state_dict()["state"]
        assert state_a.keys() == state_b.keys()
        for i in state_a:
            for name in ("exp_avg", "exp_avg_sq", "step"):
                assert np.array_equal(state_a[i][name].numpy(), state_b[i][name].numpy()), (i, name)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_writes_checkpoint_and_stops(piano_cache, tmp_path, signum):
    config = tiny_train_config(piano_cache, "schedule.max_steps=50")
    trainer = Trainer(config, tmp_path / "run")
    original = trainer.train_step

    def interrupted_step(audio):
        logs = original(audio)
        if trainer.step == 2:
            os.kill(os.getpid(), signum)  # as Ctrl-C or a scheduler would, between steps
        return logs

    trainer.train_step = interrupted_step
    # What was installed before the run (a shell's background job starts with SIGINT ignored).
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert trainer.run() == 2
    folder = CheckpointStore(tmp_path / "run").latest()
    assert folder is not None and folder.name == "step_00000002"
    # The run's handlers are gone again: the previous ones are back.
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert Trainer(config, tmp_path / "run").step == 2
