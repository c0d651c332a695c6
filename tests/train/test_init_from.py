"""schedule.init_from: a fresh run (fine-tuning) starts from another run's or a model file's weights."""

from __future__ import annotations

import numpy as np
import pytest

from rvqgan.errors import CheckpointError
from rvqgan.train import Trainer
from rvqgan.train.export import export_run
from tests.train.helpers import tiny_train_config, weights


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        assert np.array_equal(value, b[key]), key


@pytest.fixture(scope="module")
def source_run(piano_cache, tmp_path_factory):
    run = tmp_path_factory.mktemp("source")
    trainer = Trainer(tiny_train_config(piano_cache), run, max_steps=2)
    trainer.run()
    return run, weights(trainer.generator), weights(trainer.discriminator)


def test_a_causal_run_starts_from_a_run_folder(piano_cache, tmp_path, source_run):
    run, generator, discriminator = source_run
    config = tiny_train_config(piano_cache, f"schedule.init_from={run}", "model.causal=true")
    fine = Trainer(config, tmp_path / "fine")
    assert fine.step == 0 and fine.generator.config.causal
    _same(weights(fine.generator), generator)
    _same(weights(fine.discriminator), discriminator)
    assert fine.run() == 6
    # Resuming the fine-tuned run takes its own checkpoint, not init_from again.
    again = Trainer(config, tmp_path / "fine")
    assert again.step == 6
    _same(weights(again.generator), weights(fine.generator))


def test_a_run_starts_from_a_model_file(piano_cache, tmp_path, source_run):
    run, generator, _ = source_run
    model_file = tmp_path / "m.safetensors"
    export_run(run, model_file)
    fine = Trainer(tiny_train_config(piano_cache, f"schedule.init_from={model_file}"), tmp_path / "fine")
    for key, value in weights(fine.generator).items():
        np.testing.assert_allclose(value, generator[key], rtol=1e-6, atol=1e-7, err_msg=key)


def test_init_from_refuses_what_does_not_fit(piano_cache, tmp_path, source_run):
    run, _, _ = source_run
    with pytest.raises(CheckpointError, match="init_from"):
        Trainer(tiny_train_config(piano_cache, f"schedule.init_from={tmp_path / 'nothing'}"), tmp_path / "a")
    with pytest.raises(CheckpointError):
        Trainer(tiny_train_config(piano_cache, f"schedule.init_from={run}", "model.decoder_dim=16"), tmp_path / "b")
