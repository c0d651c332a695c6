"""Official DAC ``.pth`` files: names checked against an independent official layout, exact round
trips, and files that try to run code refused."""

from __future__ import annotations

import dataclasses
import os
import pickle
from pathlib import Path

import pytest
import torch

from rvqgan.checkpoint import (
    detect_format,
    load_model_file,
    model_hash,
    read_checkpoint_info,
    save_model,
    save_official,
)
from rvqgan.checkpoint.official import config_from_kwargs, kwargs_from_config
from rvqgan.errors import CheckpointError
from rvqgan.model import Codec
from tests.checkpoint.official_layout import ReferenceDAC
from tests.conftest import randomize, tiny_config

LAYOUTS = {
    "44khz": tiny_config(),
    "24khz": tiny_config(sample_rate=24000, encoder_rates=(2, 4, 5, 8), decoder_rates=(8, 5, 4, 2), n_codebooks=6),
}


def _reference(kwargs: dict, seed: int) -> ReferenceDAC:
    """The stand-in official model with every tensor random (alphas > 0)."""
    gen = torch.Generator().manual_seed(seed)
    ref = ReferenceDAC(kwargs)
    with torch.no_grad():
        for name, param in ref.named_parameters():
            if name.endswith(("alpha", "weight_g")):
                param.copy_(0.5 + torch.rand(param.shape, generator=gen))
            else:
                param.copy_(0.3 * torch.randn(param.shape, generator=gen))
    return ref.eval()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_written_names_and_outputs_match_the_official_layout(layout: str, tmp_path: Path) -> None:
    model = randomize(Codec(LAYOUTS[layout]), seed=3).eval()
    path = tmp_path / "weights.pth"
    save_official(model, path)
    data = torch.load(path, map_location="cpu", weights_only=True)
    assert set(data) == {"state_dict", "metadata"} and set(data["metadata"]) == {"kwargs"}
    state = data["state_dict"]
    ref = ReferenceDAC(data["metadata"]["kwargs"])
    expected = ref.state_dict()
    assert set(state) == set(expected)
    assert all(state[k].shape == expected[k].shape for k in expected)
    for key in (
        "encoder.block.0.weight_g",
        "encoder.block.1.block.0.block.1.weight_v",
        "encoder.block.4.block.4.bias",
        "encoder.block.6.weight_v",
        "quantizer.quantizers.0.codebook.weight",
        "decoder.model.1.block.1.weight_g",
        "decoder.model.4.block.4.block.3.bias",
        "decoder.model.6.weight_v",
    ):
        assert key in state
    ref.load_state_dict(state, strict=True)
    audio = 0.3 * torch.randn(1, 1, 4 * model.hop_length, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        z = model.encoder(audio)
        assert torch.allclose(ref.encoder(audio), z, atol=1e-6, rtol=1e-5)
        assert torch.allclose(ref.decoder(z), model.decoder(z), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_official_to_rvqgan_to_official_is_identical(layout: str, tmp_path: Path) -> None:
    kwargs = kwargs_from_config(LAYOUTS[layout]) | {"quantizer_dropout": False}
    original = {k: v.clone() for k, v in _reference(kwargs, seed=1).state_dict().items()}
    src = tmp_path / "official.pth"
    torch.save({"state_dict": original, "metadata": {"kwargs": kwargs}}, src)
    assert detect_format(src) == "official"

    model = load_model_file(src)
    assert model.name == "official" and model.content_hash == model_hash(model)
    assert model.config.quantizer_dropout == 0.0
    assert read_checkpoint_info(src)["content_hash"] == model.content_hash
    save_model(model, tmp_path / "mid.safetensors")
    again = load_model_file(tmp_path / "mid.safetensors")
    save_official(again, tmp_path / "back.pth")
    back = torch.load(tmp_path / "back.pth", map_location="cpu", weights_only=True)
    assert back["metadata"]["kwargs"] == kwargs  # False == 0.0
    assert set(back["state_dict"]) == set(original)
    for key, value in original.items():
        assert torch.equal(back["state_dict"][key], value), key

    audio = 0.3 * torch.randn(1, 1, 5 * model.hop_length, generator=torch.Generator().manual_seed(2))
    codes = model.encode(audio)
    assert torch.equal(again.encode(audio), codes)
    assert torch.equal(again.decode(codes), model.decode(codes))


def test_parametrized_weight_norm_names_are_accepted(tmp_path: Path) -> None:
    model = randomize(Codec(tiny_config()), seed=4).eval()
    save_official(model, tmp_path / "a.pth")
    data = torch.load(tmp_path / "a.pth", weights_only=True)
    renamed = {
        k.replace("weight_g", "parametrizations.weight.original0").replace(
            "weight_v", "parametrizations.weight.original1"
        ): v
        for k, v in data["state_dict"].items()
    }
    torch.save({"state_dict": renamed, "metadata": data["metadata"]}, tmp_path / "b.pth")
    assert load_model_file(tmp_path / "b.pth").content_hash == model_hash(model)


class _RunsCode:
    """Unpickling this calls ``os.mkdir(marker)``: evidence that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


class _Custom:
    def __init__(self) -> None:
        self.value = 3


@pytest.mark.parametrize("writer", ["torch_zip", "torch_legacy", "plain_pickle"])
def test_pickled_code_is_refused_and_never_runs(writer: str, tmp_path: Path) -> None:
    marker = tmp_path / "code_ran"
    payload = {"state_dict": {}, "metadata": {"kwargs": {}}, "extra": _RunsCode(str(marker))}
    path = tmp_path / "evil.pth"
    if writer == "torch_zip":
        torch.save(payload, path)
    elif writer == "torch_legacy":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(CheckpointError, match="refused"):
        load_model_file(path)
    assert not marker.exists()


def test_custom_object_is_refused(tmp_path: Path) -> None:
    model = Codec(tiny_config())
    path = tmp_path / "custom.pth"
    save_official(model, path)
    data = torch.load(path, weights_only=True)
    data["metadata"]["trainer"] = _Custom()
    torch.save(data, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_model_file(path)


def test_bad_official_files(tmp_path: Path) -> None:
    model = Codec(tiny_config())
    path = tmp_path / "m.pth"
    save_official(model, path)
    data = torch.load(path, weights_only=True)

    torch.save({"weights": data["state_dict"]}, path)
    with pytest.raises(CheckpointError, match="no 'state_dict'"):
        load_model_file(path)
    torch.save({**data, "metadata": {"kwargs": {**data["metadata"]["kwargs"], "use_transformer": True}}}, path)
    with pytest.raises(CheckpointError, match="unknown official DAC argument.*use_transformer"):
        load_model_file(path)
    torch.save({**data, "metadata": {"kwargs": {**data["metadata"]["kwargs"], "codebook_size": 100}}}, path)
    with pytest.raises(CheckpointError, match="codebook_size"):
        load_model_file(path)
    state = dict(data["state_dict"])
    state["decoder.model.2.block.1.weight_v"] = state["decoder.model.2.block.1.weight_v"][:1]
    torch.save({**data, "state_dict": state}, path)
    with pytest.raises(CheckpointError, match=r"decoder\.blocks\.1\.up\.weight_v"):
        load_model_file(path)
    del state["decoder.model.2.block.1.weight_v"]
    torch.save({**data, "state_dict": state}, path)
    with pytest.raises(CheckpointError, match=r"missing tensor\(s\) decoder\.blocks\.1\.up\.weight_v"):
        load_model_file(path)
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with pytest.raises(CheckpointError, match="corrupt"):
        load_model_file(path)


def test_official_kwargs_semantics() -> None:
    base = kwargs_from_config(tiny_config())
    assert config_from_kwargs(base, "x") == tiny_config()  # latent_dim resolved <-> None
    assert config_from_kwargs(base | {"quantizer_dropout": True}, "x").quantizer_dropout == 1.0
    assert config_from_kwargs(base | {"quantizer_dropout": False}, "x").quantizer_dropout == 0.0
    assert config_from_kwargs(base | {"codebook_dim": [8, 8, 8, 8]}, "x").codebook_dim == 8
    with pytest.raises(CheckpointError, match="per-codebook"):
        config_from_kwargs(base | {"codebook_dim": [8, 4, 8, 8]}, "x")
    assert config_from_kwargs({}, "x") == dataclasses.replace(tiny_config(), **_official_defaults())
    with pytest.raises(CheckpointError, match="cannot be written as an official file"):
        save_official(Codec(tiny_config(causal=True)), "unused.pth")


def _official_defaults() -> dict:
    return {
        "encoder_dim": 64,
        "decoder_dim": 1536,
        "n_codebooks": 9,
        "codebook_size": 1024,
        "quantizer_dropout": 0.0,
    }
