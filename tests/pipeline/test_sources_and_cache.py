"""Sources (folders, manifests) and the prepared cache; unreadable files are skipped and counted."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rvqgan.cli.prepare import parse_source
from rvqgan.data import AudioCache, SourceConfig, decode_file, list_sources, prepare_cache, read_manifest
from rvqgan.errors import ConfigError


def test_folder_sources_are_recursive_and_labelled(audio_tree):
    files = list_sources([SourceConfig(str(audio_tree / "music"), "music", True),
                          SourceConfig(str(audio_tree / "speech"), "speech", False, 2.0)])
    names = [f.path.split("/")[-1] for f in files]
    assert names == ["a.wav", "b.flac", "broken.wav", "voice48k.flac"]  # notes.txt is not audio
    assert [f.domain for f in files] == ["music", "music", "speech", "speech"]
    assert files[0].full_band and not files[2].full_band and files[2].weight == 2.0
    with pytest.raises(ConfigError, match="does not exist"):
        list_sources([SourceConfig(str(audio_tree / "missing"))])


def test_manifest(tmp_path, audio_tree):
    manifest = tmp_path / "m.jsonl"
    lines = [
        {"path": str(audio_tree / "music" / "a.wav"), "domain": "music", "full_band": True, "weight": 3,
         "sample_rate": 44100, "sha256": "ab", "licence": "CC0"},
        {"path": "relative/x.wav"},
    ]
    manifest.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    files = read_manifest(manifest)
    assert files[0].full_band and files[0].weight == 3.0 and files[0].domain == "music"
    assert files[1].path == str((tmp_path / "relative" / "x.wav").resolve())
    assert (files[1].domain, files[1].full_band, files[1].weight) == ("music", False, 1.0)
    manifest.write_text('{"path": "a.wav"}\n{not json\n')
    with pytest.raises(ConfigError, match=r"m.jsonl:2"):
        read_manifest(manifest)
    manifest.write_text('{"path": "a.wav", "weight": -1}\n')
    with pytest.raises(ConfigError, match="weight"):
        read_manifest(manifest)


def test_prepare_skips_and_counts_unreadable_files(tmp_path, audio_tree, piano, caplog):
    files = list_sources([SourceConfig(str(audio_tree / "speech"), "speech"),
                          SourceConfig(str(audio_tree / "music"), "music", True)])
    with caplog.at_level(logging.WARNING):
        index = prepare_cache(files, tmp_path / "cache", 44100)
    assert len(index["skipped"]) == 1 and "broken.wav" in index["skipped"][0]["path"]
    assert any("broken.wav" in r.message for r in caplog.records)
    cache = AudioCache(tmp_path / "cache")
    assert len(cache) == 3 and cache.skipped == index["skipped"]
    _, rate = piano
    # The 48 kHz file (rate // 2 samples written at 48 kHz) is resampled to 44.1 kHz.
    voice = next(i for i, f in enumerate(cache.files) if f.path.endswith("voice48k.flac"))
    assert abs(cache.files[voice].length - round(rate // 2 * 44100 / 48000)) <= 1
    # Samples read back equal the decoded audio up to int16 rounding.
    a = next(i for i, f in enumerate(cache.files) if f.path.endswith("a.wav"))
    expected = decode_file(cache.files[a].path, 44100)
    np.testing.assert_allclose(cache.read(a) / cache.files[a].scale, expected, atol=1 / 32767 / cache.files[a].scale)
    assert cache.read(a, 1000, 50).shape == (50,) and cache.read(a, cache.files[a].length - 10, 50).shape == (10,)


def test_cache_errors(tmp_path, audio_tree):
    with pytest.raises(ConfigError, match="not a prepared audio cache"):
        AudioCache(tmp_path)
    broken = list_sources([SourceConfig(str(audio_tree / "speech" / ".."), "speech")])
    only_broken = [f for f in broken if f.path.endswith("broken.wav")]
    with pytest.raises(ConfigError, match="none of the 1"):
        prepare_cache(only_broken, tmp_path / "c1", 44100)
    (tmp_path / "exists").mkdir()
    with pytest.raises(ConfigError, match="exists already"):
        prepare_cache(broken, tmp_path / "exists", 44100)


def test_prepare_source_syntax():
    assert parse_source("data/vctk:speech") == SourceConfig("data/vctk", "speech", False)
    assert parse_source("d:music:fullband") == SourceConfig("d", "music", True)
    assert parse_source("m.jsonl") == SourceConfig("m.jsonl", "music", False)
    with pytest.raises(ConfigError):
        parse_source("d:music:wide")


def test_training_needs_no_audio_library(tmp_path, audio_tree):
    """The GPU machine has no soundfile, soxr or pyloudnorm: training from a cache must not import them."""
    files = list_sources([SourceConfig(str(audio_tree / "music"), "music", True)])
    prepare_cache(files, tmp_path / "cache", 44100)
    script = textwrap.dedent(f"""
        import sys
        for name in ("soundfile", "soxr", "pyloudnorm"):
            sys.modules[name] = None  # any import of them now fails
        import torch
        from rvqgan.train import Trainer, config_from_dict
        config = config_from_dict({{
            "model": {{"encoder_dim": 4, "decoder_dim": 32, "n_codebooks": 2, "codebook_size": 16}},
            "discriminator": {{"periods": [2], "stft_windows": [256], "mpd_channels": [4, 4, 4, 4, 4],
                               "channels": 4}},
            "data": {{"cache": "{tmp_path / 'cache'}", "excerpt_seconds": 0.06, "num_workers": 0,
                     "valid_files_per_domain": 1}},
            "schedule": {{"max_steps": 1, "batch_size": 2, "device": "cpu", "threads": 1}},
            "log": {{"tensorboard": False, "progress_bar": "never"}},
        }})
        assert Trainer(config, "{tmp_path / 'run'}").run() == 1
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
