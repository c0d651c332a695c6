"""Entropy-model files: round trip, content hash, damage and codec mismatch detected."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import rvqgan
from rvqgan.entropy import lm_path_for, load_lm, load_static, save_lm, static_path_for
from rvqgan.entropy.export import export_lm
from rvqgan.entropy.model_files import EntropyModels
from rvqgan.errors import CheckpointError
from tests.entropy.conftest import markov_codes, random_lm


def test_lm_file_round_trip_keeps_the_tables(tmp_path):
    model = random_lm(5, depth_dim=8)
    tensors = export_lm(model, 8)
    digest = save_lm(
        tmp_path / "a.lm.safetensors",
        model.config,
        tensors,
        name="a.lm",
        codec_name="a",
        codec_hash="c" * 64,
        card={"steps": 3},
    )
    loaded = load_lm(tmp_path / "a.lm.safetensors")
    assert (loaded.content_hash, loaded.name, loaded.codec_hash, loaded.card) == (
        digest,
        "a.lm",
        "c" * 64,
        {"steps": 3},
    )
    from rvqgan.entropy.integer_lm import IntegerLM

    codes = markov_codes(np.random.default_rng(0), 1, 4, 20)
    np.testing.assert_array_equal(loaded.model.frequencies(codes), IntegerLM(model.config, tensors).frequencies(codes))
    # The same model saved again has the same hash; another model has another.
    assert (
        save_lm(tmp_path / "b.lm.safetensors", model.config, tensors, name="b", codec_name="a", codec_hash="c" * 64)
        == digest
    )
    other = random_lm(6)
    assert (
        save_lm(
            tmp_path / "c.lm.safetensors", other.config, export_lm(other), name="c", codec_name="a", codec_hash="c" * 64
        )
        != digest
    )
    with pytest.raises(CheckpointError, match="already exists"):
        save_lm(tmp_path / "a.lm.safetensors", model.config, tensors, name="a", codec_name="a", codec_hash="c")


def test_tampered_files_are_refused(tmp_path):
    model = random_lm(5)
    path = tmp_path / "a.lm.safetensors"
    save_lm(path, model.config, export_lm(model), name="a.lm", codec_name="a", codec_hash="c" * 64)
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as handle:
        meta = handle.metadata()
    tensors = load_file(str(path))
    tensors["heads.0.bias"] = tensors["heads.0.bias"] + 1
    save_file(tensors, str(tmp_path / "t.lm.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="corrupt.*hash"):
        load_lm(tmp_path / "t.lm.safetensors")
    meta2 = dict(meta, config=json.dumps(dict(json.loads(meta["config"]), context_frames=3)))
    save_file(load_file(str(path)), str(tmp_path / "u.lm.safetensors"), metadata=meta2)
    with pytest.raises(CheckpointError, match="hash"):  # the config is part of what the hash covers
        load_lm(tmp_path / "u.lm.safetensors")
    (tmp_path / "junk.lm.safetensors").write_bytes(b"not a file at all")
    with pytest.raises(CheckpointError):
        load_lm(tmp_path / "junk.lm.safetensors")
    with pytest.raises(CheckpointError, match="not a rvqgan-static-tables"):
        load_static(path)


def test_load_model_finds_the_sidecars(codec_dir, tmp_path):
    model = rvqgan.load_model(codec_dir / "tiny.safetensors")
    assert isinstance(model.entropy_models, EntropyModels)
    assert model.entropy_models.available("lm") and model.entropy_models.available("static")
    assert model.entropy_models.get("lm").codec_hash == model.content_hash
    assert lm_path_for(tmp_path / "x.safetensors").name == "x.lm.safetensors"
    assert static_path_for(tmp_path / "x.pth").name == "x.static.safetensors"
    shutil.copy(codec_dir / "tiny.safetensors", tmp_path / "tiny.safetensors")
    bare = rvqgan.load_model(tmp_path / "tiny.safetensors")
    assert not bare.entropy_models.available("lm")
    with pytest.raises(CheckpointError, match="no code language model .*expected at .*tiny.lm.safetensors"):
        bare.entropy_models.get("lm")
