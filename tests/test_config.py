"""Configs: frozen dataclasses from YAML, dotted overrides, clear errors."""

from __future__ import annotations

import dataclasses

import pytest

from rvqgan.config import apply_overrides, from_dict, load_yaml, to_dict
from rvqgan.errors import ConfigError
from rvqgan.model import CodecConfig, preset


def test_round_trip() -> None:
    config = preset("dac_24khz")
    assert from_dict(CodecConfig, to_dict(config)) == config


def test_unknown_key_is_an_error() -> None:
    with pytest.raises(ConfigError, match="n_codebook"):
        from_dict(CodecConfig, {"n_codebook": 3})


def test_wrong_type_is_an_error() -> None:
    with pytest.raises(ConfigError, match="n_codebooks"):
        from_dict(CodecConfig, {"n_codebooks": "nine"})
    with pytest.raises(ConfigError, match="activation"):
        from_dict(CodecConfig, {"activation": "gelu"})


def test_impossible_value_is_an_error() -> None:
    with pytest.raises(ConfigError, match="same product"):
        from_dict(CodecConfig, {"encoder_rates": [2, 4], "decoder_rates": [8, 8]})
    with pytest.raises(ConfigError, match="power of two"):
        from_dict(CodecConfig, {"codebook_size": 1000})


def test_overrides_and_base_files(tmp_path) -> None:
    (tmp_path / "base.yaml").write_text("n_codebooks: 9\nencoder_rates: [2, 4, 8, 8]\n")
    (tmp_path / "child.yaml").write_text("base: base.yaml\ncodebook_dim: 2\n")
    data = apply_overrides(load_yaml(tmp_path / "child.yaml"), ["n_codebooks=12", "quantizer_dropout=1.0"])
    config = from_dict(CodecConfig, data)
    assert config == dataclasses.replace(CodecConfig(), n_codebooks=12, codebook_dim=2, quantizer_dropout=1.0)


def test_configs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CodecConfig().n_codebooks = 3  # type: ignore[misc]
