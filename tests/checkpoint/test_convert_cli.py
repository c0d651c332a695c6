"""``rvqgan convert``: both directions, dtype, name, overwrite and errors, through the real entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rvqgan.checkpoint import detect_format, load_model_file, model_hash, read_checkpoint_info, save_model
from rvqgan.cli.main import main
from rvqgan.model import Codec


def test_convert_round_trip(tiny_model: Codec, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "model.safetensors"
    content_hash = save_model(tiny_model, src, name="tiny")

    assert main(["convert", str(src), "-o", str(tmp_path / "model.pth")]) == 0  # default: -> official
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and "name=tiny" in line and f"hash={content_hash}" in line and "params=0.13M" in line
    assert detect_format(tmp_path / "model.pth") == "official"

    back = tmp_path / "back.safetensors"
    assert main(["convert", str(tmp_path / "model.pth"), "-o", str(back), "--name", "tiny2"]) == 0  # -> rvqgan
    assert f"hash={content_hash}" in capsys.readouterr().out
    info = read_checkpoint_info(back)
    assert info["name"] == "tiny2" and info["content_hash"] == content_hash

    loaded = load_model_file(back)
    audio = 0.3 * torch.randn(1, 1, 2000, generator=torch.Generator().manual_seed(0))
    codes = tiny_model.encode(audio)
    assert torch.equal(loaded.encode(audio), codes)
    assert torch.equal(loaded.decode(codes), tiny_model.decode(codes))


def test_convert_float16_and_overwrite(tiny_model: Codec, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "model.safetensors"
    save_model(tiny_model, src)
    out = tmp_path / "half.safetensors"
    assert main(["convert", str(src), "-o", str(out), "--to", "rvqgan", "--dtype", "float16"]) == 0
    assert read_checkpoint_info(out)["dtype"] == "float16"
    capsys.readouterr()

    assert main(["convert", str(src), "-o", str(out), "--to", "rvqgan"]) == 2  # exists
    assert "already exists" in capsys.readouterr().err
    assert main(["convert", str(src), "-o", str(out), "--to", "rvqgan", "--overwrite"]) == 0
    assert read_checkpoint_info(out)["content_hash"] == model_hash(tiny_model)


def test_convert_errors(tiny_model: Codec, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "model.safetensors"
    save_model(tiny_model, src)
    assert main(["convert", str(src), "-o", str(tmp_path / "x.pth"), "--dtype", "float16"]) == 2
    assert "float32" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "missing.pth"), "-o", str(tmp_path / "y.safetensors")]) == 2
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "x.pth").exists() and not (tmp_path / "y.safetensors").exists()
