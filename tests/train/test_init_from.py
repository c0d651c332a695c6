"""schedule.init_from: a fresh run (fine-tuning) starts from another run's or a model file's weights."""

from __future__ import annotations

import numpy as np
import pytest

from rvqgan.errors import CheckpointError, ConfigError
from rvqgan.train import Trainer
from rvqgan.train.export import export_run
from tests.conftest import load_repo_script
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


def _warmup_config(piano_cache, model_file, *overrides):
    return tiny_train_config(piano_cache, f"schedule.init_from={model_file}", "schedule.init_step=10",
                             "schedule.discriminator_warmup=3", "schedule.max_steps=15", *overrides)


@pytest.fixture()
def model_file(tmp_path, source_run):
    run, _, _ = source_run
    path = tmp_path / "m.safetensors"
    export_run(run, path)
    return path


def test_discriminator_warmup_trains_the_discriminator_alone(piano_cache, tmp_path, model_file):
    config = _warmup_config(piano_cache, model_file, "quantizer.restart_after=2", "quantizer.restart_check_every=1")
    trainer = Trainer(config, tmp_path / "fine", max_steps=13)
    assert trainer.step == 10  # init_step: the schedule goes on from there
    loaded_g, loaded_d = weights(trainer.generator), weights(trainer.discriminator)
    assert trainer.run() == 13
    _same(weights(trainer.generator), loaded_g)  # codebooks included: no code restart while frozen
    assert any(not np.array_equal(v, loaded_d[k]) for k, v in weights(trainer.discriminator).items())
    assert int(trainer.restarter.last_used.min()) == 13  # no code looks dead when watching starts
    assert trainer.optimizer_d.param_groups[0]["lr"] == config.optim.learning_rates(12)[1]
    log = (tmp_path / "fine" / "train.log").read_text()
    assert "frozen until step 13" in log and "discriminator warm-up" in log and "loss is" not in log

    after = Trainer(config, tmp_path / "fine")
    assert after.step == 13 and after.resumed_from is not None
    assert after.run() == 15
    assert any(not np.array_equal(v, loaded_g[k]) for k, v in weights(after.generator).items())
    assert after.optimizer_g.param_groups[0]["lr"] == config.optim.learning_rates(14)[0]


def test_a_resume_inside_the_warmup_equals_a_straight_run(piano_cache, tmp_path, model_file):
    config = _warmup_config(piano_cache, model_file)
    straight = Trainer(config, tmp_path / "straight")
    assert straight.run() == 15
    first = Trainer(config, tmp_path / "resumed", max_steps=12)
    assert first.run() == 12
    second = Trainer(config, tmp_path / "resumed")
    assert second.step == 12
    assert second.run() == 15
    _same(weights(straight.generator), weights(second.generator))
    _same(weights(straight.discriminator), weights(second.discriminator))


def test_init_step_and_warmup_need_init_from(piano_cache):
    for option in ("schedule.init_step=5", "schedule.discriminator_warmup=5"):
        with pytest.raises(ConfigError, match="init_from"):
            tiny_train_config(piano_cache, option)
    with pytest.raises(ConfigError, match=">= 0"):
        tiny_train_config(piano_cache, "schedule.init_from=x", "schedule.init_step=-1")


def test_a_lineage_seed_in_git_continues_the_run(piano_cache, tmp_path, source_run):
    """scripts/save_lineage_seed.py keeps what init_from needs; the run goes on from its step."""

    module = load_repo_script("scripts/save_lineage_seed.py")
    run, generator, discriminator = source_run
    seed = tmp_path / "lineage" / "default"
    assert module.save_seed(run, seed) == 2
    assert sorted(p.name for p in seed.iterdir()) == sorted(module.FILES)  # no optimizer, no RNG
    assert module.save_seed(run, seed) == 2  # replaced whole, nothing left beside it
    assert not list(seed.parent.glob(".*"))
    config = tiny_train_config(piano_cache, f"schedule.init_from={seed}", "schedule.init_step=2")
    trainer = Trainer(config, tmp_path / "run")
    assert trainer.step == 2
    _same(weights(trainer.generator), generator)
    _same(weights(trainer.discriminator), discriminator)
    assert trainer.run() == 6
