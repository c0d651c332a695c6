"""The rvqgan checkpoint: exact round trips, float16 storage, and every way a file can be wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from rvqgan.checkpoint import (
    FORMAT,
    detect_format,
    load_model_file,
    model_hash,
    read_checkpoint_info,
    save_model,
)
from rvqgan.checkpoint.tensors import tensor_hash
from rvqgan.config import to_dict
from rvqgan.errors import CheckpointError
from rvqgan.model import Codec
from rvqgan.nn import fold_weight_norm
from tests.conftest import randomize, tiny_config


@pytest.fixture
def audio() -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    return 0.3 * torch.randn(2, 1, 3000, generator=gen)


def _read_raw(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    with safe_open(str(path), framework="pt") as handle:
        names = handle.keys()
        return {k: handle.get_tensor(k) for k in names}, handle.metadata()


def _rewrite(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str], rehash: bool = True) -> None:
    """Write a hand-made checkpoint (with a consistent hash unless told otherwise)."""
    if rehash:
        metadata = {**metadata, "content_hash": tensor_hash(tensors)}
    path.unlink()
    save_file(tensors, str(path), metadata=metadata)


def test_round_trip_is_exact(tiny_model: Codec, audio: torch.Tensor, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    content_hash = save_model(tiny_model, path, name="tiny", card={"steps": 12, "data": ["x"]})
    loaded = load_model_file(path)
    assert not loaded.training
    assert loaded.name == "tiny" and loaded.content_hash == content_hash
    assert loaded.config == tiny_model.config
    codes = tiny_model.encode(audio)
    assert torch.equal(loaded.encode(audio), codes)
    assert torch.equal(loaded.decode(codes), tiny_model.decode(codes))
    for (name, a), (_, b) in zip(tiny_model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_hash_and_metadata(tiny_model: Codec, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    content_hash = save_model(tiny_model, path, card={"recipe": "tiny"})
    tensors, meta = _read_raw(path)
    assert meta["format"] == FORMAT and meta["format_version"] == "1"
    assert json.loads(meta["config"]) == to_dict(tiny_model.config)
    assert meta["name"] == "m"  # the file stem when the model is unnamed
    assert meta["content_hash"] == content_hash == tensor_hash(tensors) == model_hash(tiny_model)
    assert set(tensors) == set(Codec(tiny_model.config).state_dict())  # training form
    info = read_checkpoint_info(path)
    assert info["content_hash"] == content_hash and info["card"] == {"recipe": "tiny"}
    assert info["dtype"] == "float32" and info["n_parameters"] == sum(p.numel() for p in tiny_model.parameters())
    assert detect_format(path) == "rvqgan"


def test_hash_changes_with_any_weight(tiny_model: Codec) -> None:
    before = model_hash(tiny_model)
    with torch.no_grad():
        tiny_model.decoder.conv_out.bias[0] += 1e-6
    assert model_hash(tiny_model) != before


def test_float16_storage(tiny_model: Codec, audio: torch.Tensor, tmp_path: Path) -> None:
    path16, path32 = tmp_path / "h.safetensors", tmp_path / "f.safetensors"
    hash16 = save_model(tiny_model, path16, dtype=torch.float16)
    save_model(tiny_model, path32)
    assert path16.stat().st_size < 0.6 * path32.stat().st_size
    tensors, _ = _read_raw(path16)
    assert all(t.dtype == torch.float16 for t in tensors.values())
    assert tensor_hash(tensors) == hash16 != model_hash(tiny_model)
    loaded = load_model_file(path16)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    assert loaded.content_hash == hash16 and read_checkpoint_info(path16)["dtype"] == "float16"
    reference = tiny_model.decode(tiny_model.encode(audio))
    decoded = loaded.decode(loaded.encode(audio))
    assert (decoded - reference).abs().max() < 0.05  # float16 weights: close, codes may differ in places


def test_folded_model_saves_the_same_layout(tiny_model: Codec, audio: torch.Tensor, tmp_path: Path) -> None:
    fold_weight_norm(tiny_model)
    path = tmp_path / "folded.safetensors"
    save_model(tiny_model, path)
    tensors, _ = _read_raw(path)
    assert set(tensors) == set(Codec(tiny_model.config).state_dict())
    loaded = load_model_file(path, fold=True)
    assert loaded.encoder.conv_in.folded
    codes = tiny_model.encode(audio)
    assert torch.equal(loaded.encode(audio), codes)
    assert (loaded.decode(codes) - tiny_model.decode(codes)).abs().max() < 1e-5


def test_overwrite_refused_without_flag(tiny_model: Codec, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_model(tiny_model, path)
    before = path.read_bytes()
    other = randomize(Codec(tiny_config()), seed=5)
    with pytest.raises(CheckpointError, match="already exists"):
        save_model(other, path)
    assert path.read_bytes() == before
    save_model(other, path, overwrite=True)
    assert load_model_file(path).content_hash == model_hash(other)
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temporary file left


def test_flipped_byte_is_reported_as_corruption(tiny_model: Codec, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_model(tiny_model, path)
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01  # inside the last tensor's bytes
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt"):
        load_model_file(path)


def test_damaged_header_is_reported(tiny_model: Codec, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_model(tiny_model, path)
    path.write_bytes(path.read_bytes()[:200])  # truncated
    with pytest.raises(CheckpointError, match="corrupt"):
        load_model_file(path)


def test_wrong_shape_names_the_tensor(tiny_model: Codec, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_model(tiny_model, path)
    tensors, meta = _read_raw(path)
    name = "decoder.blocks.1.up.weight_v"
    right = tuple(tensors[name].shape)
    tensors[name] = tensors[name][:, :, :-1].contiguous()
    _rewrite(path, tensors, meta)
    with pytest.raises(CheckpointError, match=r"decoder\.blocks\.1\.up\.weight_v") as info:
        load_model_file(path)
    assert str(right) in str(info.value) and str(tuple(tensors[name].shape)) in str(info.value)


def test_missing_and_unexpected_tensors_are_named(tiny_model: Codec, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_model(tiny_model, path)
    tensors, meta = _read_raw(path)
    del tensors["quantizer.quantizers.3.codebook.weight"]
    _rewrite(path, tensors, meta)
    with pytest.raises(CheckpointError, match=r"missing tensor\(s\) quantizer\.quantizers\.3\.codebook\.weight"):
        load_model_file(path)
    tensors["quantizer.quantizers.3.codebook.weight"] = torch.zeros(64, 8)
    tensors["extra.weight"] = torch.zeros(3)
    _rewrite(path, tensors, meta)
    with pytest.raises(CheckpointError, match=r"unexpected tensor\(s\) extra\.weight"):
        load_model_file(path)


def test_wrong_version_format_and_config(tiny_model: Codec, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_model(tiny_model, path)
    tensors, meta = _read_raw(path)
    _rewrite(path, tensors, {**meta, "format_version": "2"})
    with pytest.raises(CheckpointError, match="format_version 2 is not supported"):
        load_model_file(path)
    _rewrite(path, tensors, {**meta, "format": "something-else"})
    with pytest.raises(CheckpointError, match="not an rvqgan checkpoint"):
        load_model_file(path)
    config = json.loads(meta["config"])
    _rewrite(path, tensors, {**meta, "config": json.dumps({**config, "n_codebooks": "four"})})
    with pytest.raises(CheckpointError, match="n_codebooks"):
        load_model_file(path)
    _rewrite(path, tensors, {**meta, "config": json.dumps({**config, "hop": 3})})
    with pytest.raises(CheckpointError, match="hop"):
        load_model_file(path)
    # A config that is valid but does not match the tensors: the tensor is named.
    _rewrite(path, tensors, {**meta, "config": json.dumps({**config, "codebook_dim": 4})})
    with pytest.raises(CheckpointError, match=r"quantizer\.quantizers\.\d\.\w+\.weight"):
        load_model_file(path)


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.safetensors"
    text.write_text("hello, not a model")
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        load_model_file(text)
    with pytest.raises(CheckpointError, match="not found"):
        load_model_file(tmp_path / "missing.safetensors")
    plain = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(2)}, str(plain))
    with pytest.raises(CheckpointError, match="not an rvqgan checkpoint"):
        load_model_file(plain)


def test_bad_arguments(tiny_model: Codec, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="dtype"):
        save_model(tiny_model, tmp_path / "a.safetensors", dtype=torch.bfloat16)
    with pytest.raises(CheckpointError, match="JSON"):
        save_model(tiny_model, tmp_path / "b.safetensors", card={"x": object()})
    with pytest.raises(CheckpointError, match="does not exist"):
        save_model(tiny_model, tmp_path / "no" / "c.safetensors")
    assert list(tmp_path.iterdir()) == []
