"""Recipes: every shipped YAML loads; unknown keys and impossible values are errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from rvqgan.errors import ConfigError
from rvqgan.model import preset
from rvqgan.train import config_from_dict, load_config
from rvqgan.train.config import normalize_override

CONFIGS = Path(__file__).parents[2] / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")) + sorted(CONFIGS.glob("ablations/*.yaml")),
                         ids=lambda p: p.stem)
def test_shipped_recipes_load(path):
    config = load_config(path)
    assert config.discriminator.sample_rate == config.model.sample_rate
    assert config.schedule.batch_size % 3 == 0  # equal items of the three domains


def test_paper_recipe_values():
    config = load_config(CONFIGS / "dac_44khz.yaml")
    assert config.model == preset("dac_44khz")
    assert (config.schedule.batch_size, config.schedule.max_steps) == (72, 400_000)
    assert config.optim.betas == (0.8, 0.9) and config.optim.lr == 1e-4 and config.optim.lr_gamma == 0.999996
    assert config.data.excerpt_seconds == 0.38 and config.data.loudness_db == -24.0
    weights = config.loss.weights
    assert (weights.mel, weights.adversarial, weights.feature_matching, weights.codebook, weights.commitment) == (
        15.0, 1.0, 2.0, 1.0, 0.25)
    ablation = load_config(CONFIGS / "ablations" / "decoder_512.yaml")
    assert (ablation.schedule.batch_size, ablation.schedule.max_steps, ablation.model.decoder_dim) == (12, 250_000, 512)
    assert ablation.model.encoder_dim == 64  # everything else from the base


@pytest.mark.parametrize(
    "data, overrides, match",
    [
        ({"optim": {"learning_rate": 1e-4}}, [], "optim.learning_rate"),
        ({"colour": "red"}, [], "colour"),
        ({}, ["loss.weights.melody=1.0"], "loss.weights.melody"),
        ({}, ["data.excerpt_secs=1.0"], "data.excerpt_secs"),
        ({"model": {"preset": "no_such_model"}}, [], "no_such_model"),
        ({}, ["optim.betas=[0.8]"], "betas"),
        ({}, ["schedule.batch_size=0"], "batch_size"),
        ({}, ["discriminator.sample_rate=24000"], "sample_rate"),
        ({}, ["log.progress_bar=off"], "progress_bar"),
    ],
)
def test_bad_keys_and_values_are_config_errors(data, overrides, match):
    with pytest.raises(ConfigError, match=match):
        config_from_dict(data, overrides)


def test_overrides_and_presets():
    config = config_from_dict({"model": {"preset": "small_44khz", "decoder_dim": 256}},
                              ["optim.lr=2e-4", "optim.betas=[0.8,0.99]", "data.domains=[speech,music]"])
    assert config.model.encoder_dim == 32 and config.model.decoder_dim == 256
    assert config.optim.lr == 2e-4 and config.optim.betas == (0.8, 0.99)
    assert config.data.domains == ("speech", "music")


def test_scientific_notation_override_is_a_number():
    assert normalize_override("optim.lr=2e-4") == "optim.lr=2.0e-4"
    assert normalize_override("a=1.5E+3") == "a=1.5E+3".replace("E+3", "e+3")
    assert normalize_override("name=x2e4") == "name=x2e4"
