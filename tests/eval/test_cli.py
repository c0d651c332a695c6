"""``rvqgan eval`` end to end, and the codec specs it parses."""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json

import pytest
import soundfile as sf
import torch

from rvqgan.cli import eval as eval_cli
from rvqgan.errors import CheckpointError, ConfigError, InputError
from rvqgan.eval.baselines import Mp3Codec, OpusCodec
from rvqgan.eval.specs import parse_codec_spec
from rvqgan.model import Codec
from tests.conftest import randomize, tiny_config
from tests.eval.conftest import needs_ffmpeg


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rvqgan")
    eval_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_codec_specs():
    opus = parse_codec_spec("opus:6,8,12,24")
    assert isinstance(opus, OpusCodec) and [s.label for s in opus.settings] == ["6kbps", "8kbps", "12kbps", "24kbps"]
    mp3 = parse_codec_spec("mp3:32,16@22050")
    assert isinstance(mp3, Mp3Codec) and [(s.label, s.sample_rate) for s in mp3.settings] == [
        ("16kbps@22050", 22050),
        ("32kbps", 44100),
    ]
    for bad in ("flac:5", "opus:six", "model:", "mp3:17"):
        with pytest.raises(ConfigError):
            parse_codec_spec(bad)
    with pytest.raises(CheckpointError, match="not found"):
        parse_codec_spec("model:/no/such/file.safetensors:name")


@needs_ffmpeg
def test_eval_command_writes_every_output(tmp_path, piano):
    audio, rate = piano
    (tmp_path / "set").mkdir()
    lines = []
    for index, domain in enumerate(("music", "environmental")):
        sf.write(tmp_path / "set" / f"{domain}.flac", audio[index * rate : index * rate + rate], rate)
        lines.append(json.dumps({"path": f"{domain}.flac", "domain": domain, "full_band": True, "duration": 1.0}))
    (tmp_path / "set" / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    from rvqgan.checkpoint import save_model

    torch.manual_seed(0)
    save_model(randomize(Codec(tiny_config())), tmp_path / "tiny.safetensors", name="tiny")
    plots = importlib.util.find_spec("matplotlib") is not None
    out = tmp_path / "out"
    argv = [
        "eval",
        "--testset",
        str(tmp_path / "set" / "manifest.jsonl"),
        "--codec",
        "opus:6,12",
        "--codec",
        f"model:{tmp_path / 'tiny.safetensors'}:mine",
        "-o",
        str(out),
        "--no-visqol",
        "--quiet",
        "--clips-for-plots",
        "1",
        "--listening-seconds",
        "0.5",
        *([] if plots else ["--no-plots"]),
    ]
    assert _run(argv) == 0
    with open(out / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * (2 + 4)
    assert {r["codec"] for r in rows} == {"opus", "mine"}
    summary = (out / "summary.md").read_text()
    assert "### all" in summary and "### music" in summary and "### environmental" in summary
    assert "## Codebook usage" in summary and "### mine" in summary
    page = (out / "listening" / "index.html").read_text()
    assert page.count('type="range"') == 2 + 4 + 2  # opus x2, model q1..q4 (4 or fewer), hidden ref, anchor
    if plots:
        assert (out / "rate_distortion_mel.png").exists() and (out / "spectrogram_music.png").exists()
    assert _run([*argv, "--no-plots"]) == 0  # a second run resumes: nothing new, same table
    with open(out / "results.csv", newline="") as handle:
        assert list(csv.DictReader(handle)) == rows


def test_eval_command_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        _run(["eval", "--testset", str(tmp_path / "none.jsonl"), "--codec", "opus:6", "-o", str(tmp_path)])
    (tmp_path / "m.jsonl").write_text('{"path": "a.flac"}\n')
    with pytest.raises(InputError, match="path and domain"):
        _run(["eval", "--testset", str(tmp_path / "m.jsonl"), "--codec", "opus:6", "-o", str(tmp_path)])
