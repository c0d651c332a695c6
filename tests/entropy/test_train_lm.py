"""rvqgan train-lm: tokenizes once, trains, resumes, logs bits per code, exports beside the codec."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import soundfile as sf
import torch

import rvqgan
from rvqgan.checkpoint import save_model
from rvqgan.cli import train_lm as train_lm_cli
from rvqgan.entropy.train_config import load_lm_config
from rvqgan.entropy.training import train_lm
from rvqgan.model import Codec
from tests.conftest import randomize, tiny_config

CONFIGS = __import__("pathlib").Path(__file__).resolve().parents[2] / "configs" / "lm"


@pytest.fixture
def corpus(tmp_path):
    """A tiny codec and a manifest of six short synthetic recordings from three sources."""
    torch.manual_seed(0)
    codec_path = tmp_path / "codec" / "tiny.safetensors"
    codec_path.parent.mkdir()
    save_model(randomize(Codec(tiny_config())), codec_path, name="tiny")
    rng = np.random.default_rng(0)
    lines = []
    for i in range(6):
        t = np.arange(int(44100 * (0.6 + 0.2 * i))) / 44100
        audio = 0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t * (1 + t)) + 0.02 * rng.standard_normal(t.size)
        sf.write(tmp_path / f"a{i}.wav", audio.astype(np.float32), 44100)
        lines.append(json.dumps({"path": f"a{i}.wav", "domain": "music", "source_id": f"src{i % 3}"}))
    (tmp_path / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return codec_path, tmp_path / "manifest.jsonl"


def _overrides(codec_path, manifest) -> list[str]:
    return [
        f"codec={codec_path}",
        f"data.manifest={manifest}",
        "data.valid_fraction=0.3",
        "schedule.max_steps=6",
        "schedule.valid_every=3",
        "schedule.checkpoint_every=3",
        "schedule.log_every=3",
        "schedule.window_frames=32",
        "model.context_frames=16",
    ]


def test_train_resume_and_export(corpus, tmp_path):
    codec_path, manifest = corpus
    config = load_lm_config(CONFIGS / "tiny.yaml", _overrides(codec_path, manifest))
    run = tmp_path / "run"
    first = train_lm(config, run, max_steps=3, echo=None)
    assert first["steps"] == 3 and (run / "lm_train.safetensors").is_file()
    cached = list((run / "codes").rglob("*.npy"))
    assert len(cached) == 6
    mtimes = {p: p.stat().st_mtime_ns for p in cached}
    second = train_lm(config, run, echo=None)
    assert second["steps"] == 6
    assert {p: p.stat().st_mtime_ns for p in cached} == mtimes  # tokenized once, reused

    log = [json.loads(line) for line in (run / "lm_log.jsonl").read_text().splitlines()]
    starts = [r["step"] for r in log if r["event"] == "start"]
    assert starts == [0, 3]  # the second invocation resumed
    valid = [r for r in log if r["event"] == "valid"]
    assert valid and all(0 < r["bits_per_code"] < 12 for r in valid)
    bits = second["valid_bits_per_code"]["4"]
    assert 0 < bits["integer"] < 12 and abs(bits["integer"] - bits["float"]) < 0.2

    model = rvqgan.load_model(codec_path)  # finds tiny.lm.safetensors and tiny.static.safetensors
    assert model.entropy_models.get("lm").content_hash == second["lm_hash"]
    assert model.entropy_models.get("static").card["train_frames"] > 0
    out = rvqgan.compress(model, tmp_path / "a5.wav", tmp_path / "a5.rvq", entropy="lm")
    rvqgan.decompress(out.path, tmp_path / "a5.out.wav", model)


def test_cli_runs_a_recipe(corpus, tmp_path, capsys):
    codec_path, manifest = corpus
    parser = argparse.ArgumentParser()
    train_lm_cli.register(parser.add_subparsers())
    overrides = []
    for item in _overrides(codec_path, manifest):
        overrides += ["--set", item]
    args = parser.parse_args(
        [
            "train-lm",
            str(CONFIGS / "tiny.yaml"),
            "--run-dir",
            str(tmp_path / "run"),
            "--max-steps",
            "2",
            "--quiet",
            *overrides,
        ]
    )
    assert args.func(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 2 and summary["lm_path"].endswith("tiny.lm.safetensors")


def test_a_resumed_run_equals_an_uninterrupted_one(corpus, tmp_path):
    codec_path, manifest = corpus
    overrides = _overrides(codec_path, manifest) + [f"data.cache_dir={tmp_path / 'cache'}", "export.static=false"]
    hashes = []
    for name, stops in (("straight", [None]), ("resumed", [2, 4, None])):
        config = load_lm_config(CONFIGS / "tiny.yaml", overrides + [f"export.lm_path={tmp_path / name}.lm.safetensors"])
        for stop in stops:
            card = train_lm(config, tmp_path / name, max_steps=stop, echo=None)
        hashes.append(card["lm_hash"])
    assert hashes[0] == hashes[1]
