"""Metrics: zero distances for identical signals, SI-SDR tracks a known SNR, ordering."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch

from rvqgan.errors import AudioError
from rvqgan.eval.metrics import METRICS, MetricSuite, si_sdr


def noisy(signal: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """``signal`` plus white noise at exactly ``snr_db`` (power ratio over the clip)."""
    noise = np.random.default_rng(seed).standard_normal(signal.shape)
    noise -= noise.mean()
    centred = signal - signal.mean()
    noise *= math.sqrt(np.dot(centred, centred) / np.dot(noise, noise) / 10 ** (snr_db / 10))
    return (signal + noise).astype(np.float32)


def test_identical_signals_give_zero_distances_and_huge_sisdr(piano):
    audio, rate = piano
    scores = MetricSuite(rate, visqol=False)(audio, audio.copy(), "music")
    assert scores["mel"] == 0.0
    assert scores["stft"] == 0.0
    assert scores["sisdr"] > 100.0
    assert set(scores) == set(METRICS)
    assert math.isnan(scores["pesq"]) and math.isnan(scores["visqol"])  # not speech, ViSQOL off


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0, 30.0])
def test_sisdr_equals_the_snr_of_added_white_noise(piano, snr):
    audio, _ = piano
    # Uncorrelated noise: the optimal scale stays ~1, so SI-SDR ~ SNR (random correlation
    # of 120k samples moves it by well under 0.1 dB).
    assert si_sdr(audio, noisy(audio, snr)) == pytest.approx(snr, abs=0.15)


def test_sisdr_is_scale_invariant_and_matches_the_training_loss(piano):
    audio, _ = piano
    degraded = noisy(audio, 12.0)
    assert si_sdr(audio, 0.3 * degraded) == pytest.approx(si_sdr(audio, degraded), abs=1e-6)
    from rvqgan.losses import si_sdr as torch_si_sdr

    x = torch.from_numpy(degraded).view(1, 1, -1)
    y = torch.from_numpy(audio).view(1, 1, -1)
    assert float(torch_si_sdr(x, y)[0]) == pytest.approx(si_sdr(audio, degraded), abs=1e-2)


def test_more_noise_is_worse_on_every_spectral_metric(piano):
    audio, rate = piano
    suite = MetricSuite(rate, visqol=False)
    clean = suite(audio, noisy(audio, 30.0), "music")
    dirty = suite(audio, noisy(audio, 5.0), "music")
    assert dirty["mel"] > clean["mel"] > 0
    assert dirty["stft"] > clean["stft"] > 0
    assert clean["sisdr"] - dirty["sisdr"] == pytest.approx(25.0, abs=0.3)


def test_speech_metrics_on_speech_clips(piano):
    pytest.importorskip("pesq")
    pytest.importorskip("pystoi")
    audio, rate = piano
    suite = MetricSuite(rate, visqol=False)
    same = suite(audio, audio, "speech")
    worse = suite(audio, noisy(audio, 0.0), "speech")
    assert same["pesq"] > 4.4 and same["stoi"] > 0.99
    assert worse["pesq"] < same["pesq"] - 1 and worse["stoi"] < same["stoi"]
    assert math.isnan(same["visqol_speech"])  # ViSQOL switched off


def test_missing_visqol_is_a_note_not_an_error(piano, monkeypatch):
    monkeypatch.setitem(sys.modules, "visqol", None)  # makes `import visqol` fail
    audio, rate = piano
    suite = MetricSuite(rate, visqol=True)
    scores = suite(audio[:44100], audio[:44100], "music")
    assert math.isnan(scores["visqol"])
    assert any("visqol-python not installed" in note for note in suite.notes)


def test_mismatched_or_broken_inputs_raise_audio_error(piano):
    audio, rate = piano
    suite = MetricSuite(rate, visqol=False)
    with pytest.raises(AudioError, match="align"):
        suite(audio, audio[:-1])
    bad = audio.copy()
    bad[10] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        suite(audio, bad)
