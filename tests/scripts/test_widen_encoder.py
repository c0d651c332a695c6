"""scripts/widen_encoder.py: writes a widened model with the same codes; refuses to clobber or narrow."""

from __future__ import annotations

import pytest
import torch
import widen_encoder

from rvqgan.checkpoint import load_model_file, read_checkpoint_info, save_model
from rvqgan.model import Codec
from tests.conftest import randomize, tiny_config


@pytest.fixture
def model_file(tmp_path):
    torch.manual_seed(4)
    model = randomize(Codec(tiny_config()), seed=4)
    path = tmp_path / "model.safetensors"
    save_model(model, path, name="small", card={"steps": 7})
    return path


def test_writes_a_wider_model_with_the_same_codes(model_file, tmp_path, capsys) -> None:
    out = tmp_path / "wide.safetensors"
    assert widen_encoder.main([str(model_file), "-o", str(out), "--encoder-dim", "8"]) == 0
    assert "encoder_dim 4 -> 8" in capsys.readouterr().out
    info = read_checkpoint_info(out)
    assert info["config"]["encoder_dim"] == 8 and info["card"]["steps"] == 7
    assert info["card"]["widened"]["was"] == 4
    audio = 0.3 * torch.randn(1, 1, 4000)
    with torch.no_grad():
        assert torch.equal(load_model_file(out).encode(audio), load_model_file(model_file).encode(audio))


def test_refuses_to_overwrite_or_narrow(model_file, tmp_path, capsys) -> None:
    out = tmp_path / "wide.safetensors"
    out.write_bytes(b"keep me")
    assert widen_encoder.main([str(model_file), "-o", str(out), "--encoder-dim", "8"]) == 1
    assert out.read_bytes() == b"keep me"
    assert widen_encoder.main([str(model_file), "-o", str(tmp_path / "n.safetensors"), "--encoder-dim", "2"]) == 1
    assert "narrower" in capsys.readouterr().err
    assert not (tmp_path / "n.safetensors").exists()
