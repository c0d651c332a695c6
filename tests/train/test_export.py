"""`rvqgan export`: a run's generator becomes a model file the codec loader reads."""

from __future__ import annotations

import argparse

import pytest
import torch

from rvqgan.checkpoint import load_model_file, read_checkpoint_info
from rvqgan.cli import export as export_cli
from rvqgan.errors import CheckpointError, ConfigError
from rvqgan.train import Trainer, export_run
from tests.train.helpers import tiny_train_config


@pytest.fixture(scope="module")
def trained_run(piano_cache, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    trainer = Trainer(tiny_train_config(piano_cache, "schedule.max_steps=2", "schedule.ema_decay=0.5"), run_dir)
    trainer.run()
    return run_dir, trainer


def test_export_loads_back_with_the_same_weights(trained_run, tmp_path):
    run_dir, trainer = trained_run
    content_hash = export_run(run_dir, tmp_path / "model.safetensors", name="tiny-test")
    model = load_model_file(tmp_path / "model.safetensors")
    assert model.name == "tiny-test" and model.content_hash == content_hash
    live = trainer.generator.state_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(value, live[key]), key
    card = read_checkpoint_info(tmp_path / "model.safetensors")["card"]
    assert card["steps"] == 2 and card["weights"] == "generator"
    assert card["recipe"]["model"]["decoder_dim"] == 32 and card["data"]["files"] == 2


def test_export_ema_in_float16_through_the_cli(trained_run, tmp_path):
    run_dir, trainer = trained_run
    parser = argparse.ArgumentParser()
    export_cli.register(parser.add_subparsers())
    args = parser.parse_args(["export", str(run_dir), "-o", str(tmp_path / "ema.safetensors"), "--ema",
                              "--dtype", "float16"])
    assert args.func(args) == 0
    info = read_checkpoint_info(tmp_path / "ema.safetensors")
    assert info["dtype"] == "float16" and info["card"]["weights"] == "ema"
    model = load_model_file(tmp_path / "ema.safetensors")
    ema = trainer.ema.module.state_dict()
    key = "decoder.conv_out.weight_v"
    torch.testing.assert_close(model.state_dict()[key], ema[key].half().float())


def test_export_errors(piano_cache, tmp_path):
    with pytest.raises(CheckpointError, match="no training checkpoint"):
        export_run(tmp_path / "empty", tmp_path / "x.safetensors")
    Trainer(tiny_train_config(piano_cache, "schedule.max_steps=1", "quantizer.kind=ema_kmeans"), tmp_path / "ema").run()
    with pytest.raises(ConfigError, match="ema_kmeans"):
        export_run(tmp_path / "ema", tmp_path / "x.safetensors")


def test_export_one_checkpoint_folder_of_a_run(piano_cache, tmp_path):
    from safetensors.torch import load_file

    run_dir = tmp_path / "run"
    Trainer(tiny_train_config(piano_cache, "schedule.max_steps=2", "schedule.checkpoint_every=1",
                              "schedule.keep_checkpoints=2"), run_dir).run()
    older = run_dir / "checkpoints" / "step_00000001"
    export_run(older, tmp_path / "older.safetensors")
    card = read_checkpoint_info(tmp_path / "older.safetensors")["card"]
    assert card["steps"] == 1 and card["run"] == "run"
    saved = load_file(str(older / "generator.safetensors"))
    model = load_model_file(tmp_path / "older.safetensors")
    assert all(torch.equal(value, saved[key]) for key, value in model.state_dict().items())
    export_run(run_dir, tmp_path / "newest.safetensors")
    assert read_checkpoint_info(tmp_path / "newest.safetensors")["card"]["steps"] == 2
