"""Pure parts of the builders: offsets of concatenated excerpts, corpus summaries, atomic manifests."""

from __future__ import annotations

import build_corpus
import build_testset
import numpy as np
import pytest
import soundfile as sf
from audio_sources import audio_io

SR = audio_io.TARGET_RATE


def test_clip_parts_maps_an_excerpt_back_to_its_files():
    parts = [build_testset.Part("a.ogg", SR, 3 * SR, "oa", "aa", 44100),   # 2 s kept, from 1 s into a.ogg
             build_testset.Part("b.ogg", 0, 4 * SR, "ob", "ab", 22050)]    # 4 s kept
    stream = build_testset.Stream(source=None, label="folder", parts=parts, joined=True)
    got = build_testset.clip_parts(stream, offset=SR, n=3 * SR)  # stream seconds 1..4
    assert [p["source_path"] for p in got] == ["a.ogg", "b.ogg"]
    assert got[0]["offset_s"] == pytest.approx(2.0) and got[0]["duration_s"] == pytest.approx(1.0)
    assert got[1]["offset_s"] == pytest.approx(0.0) and got[1]["duration_s"] == pytest.approx(2.0)


def test_corpus_summary_counts_full_band_hours():
    rows = [{"sample_rate": 44100, "domain": "music", "duration": 3600.0, "full_band": True, "source_id": "m"},
            {"sample_rate": 44100, "domain": "music", "duration": 1800.0, "full_band": False, "source_id": "m"},
            {"sample_rate": 44100, "domain": "speech", "duration": 360.0, "full_band": False, "source_id": "s"}]
    s = build_corpus.summarise(rows)["44100"]
    assert s["music"]["hours"] == pytest.approx(1.5) and s["music"]["full_band_hours"] == pytest.approx(1.0)
    assert s["speech"]["files"] == 1 and s["speech"]["full_band_hours"] == 0.0


def test_limit_peak_and_atomic_flac(tmp_path):
    x = np.array([0.0, 1.5, -0.5], dtype=np.float32)
    y, gain = audio_io.limit_peak(x)
    assert gain == pytest.approx(audio_io.MAX_PEAK / 1.5) and np.max(np.abs(y)) <= audio_io.MAX_PEAK
    path = tmp_path / "a" / "x.flac"
    audio_io.write_flac_atomic(path, np.tile(y, 100), SR, "PCM_24")
    assert path.exists() and not list(path.parent.glob(".*.tmp"))
    back, rate = sf.read(path)
    assert rate == SR and np.allclose(back, np.tile(y, 100), atol=1e-6)


def test_jsonl_round_trip_drops_a_torn_last_line(tmp_path):
    path = tmp_path / "m.jsonl"
    audio_io.write_jsonl_atomic(path, [{"a": 1}, {"b": 2}])
    with open(path, "a") as f:
        f.write('{"c": ')  # an append cut short by an interruption
    assert audio_io.read_jsonl(path) == [{"a": 1}, {"b": 2}]
    assert audio_io.read_jsonl(tmp_path / "missing.jsonl") == []


def test_pcm_hash_identifies_the_same_audio():
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (1000, 2)).astype(np.float32)
    assert audio_io.pcm_sha256(x) == audio_io.pcm_sha256(x.astype(np.float64))
    assert audio_io.pcm_sha256(x) != audio_io.pcm_sha256(x * 0.5)
