"""Bandwidth measurement, silence handling and excerpt choice on synthetic signals."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soxr
from audio_sources import analysis

SR = 44100


def lowpassed_noise(cutoff_hz: float, seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """White noise band-limited by resampling down to 2 * cutoff and back up (soxr's steep filter)."""
    rng = np.random.default_rng(seed)
    low_rate = int(2 * cutoff_hz)
    x = rng.standard_normal(int(seconds * low_rate)).astype(np.float32) * 0.1
    return soxr.resample(x, low_rate, SR, quality="VHQ")


@pytest.mark.parametrize("cutoff", [4000.0, 5000.0, 11025.0, 16000.0])
def test_bandwidth_of_band_limited_noise(cutoff):
    bw = analysis.measure_bandwidth(lowpassed_noise(cutoff), SR)
    assert cutoff - 400 <= bw <= cutoff + 400


def test_tone_plus_band_limited_noise():
    t = np.arange(3 * SR) / SR
    x = lowpassed_noise(5000.0) + 0.3 * np.sin(2 * np.pi * 1000 * t)
    bw = analysis.measure_bandwidth(x, SR)
    assert 4600 <= bw <= 5400
    assert not analysis.is_full_band(bw, SR)


def test_white_noise_is_full_band():
    x = np.random.default_rng(1).standard_normal(3 * SR) * 0.1
    bw = analysis.measure_bandwidth(x, SR)
    assert bw >= 21500
    assert analysis.is_full_band(bw, SR)


def test_full_band_needs_a_high_original_rate():
    assert analysis.is_full_band(19000.0, 48000)
    assert not analysis.is_full_band(19000.0, 32000)  # upsampled content cannot be full-band
    assert not analysis.is_full_band(17000.0, 48000)
    assert analysis.is_full_band(10000.0, 24000, sample_rate=24000)  # 18/22.05 of 12 kHz = 9.8 kHz


def test_bandwidth_ignores_silence_and_short_input():
    assert analysis.measure_bandwidth(np.zeros(SR), SR) == 0.0
    assert analysis.measure_bandwidth(np.ones(100), SR) == 0.0
    # A 5-ms fade-in, as real recordings have: a hard step from digital silence would splash
    # broadband energy into one frame (a click), which the measure rightly counts as content.
    noise = lowpassed_noise(6000.0)
    noise[: SR // 200] *= np.linspace(0.0, 1.0, SR // 200)
    x = np.concatenate([np.zeros(5 * SR), noise])
    assert 5600 <= analysis.measure_bandwidth(x, SR) <= 6400


def test_frame_levels_and_activity():
    x = np.concatenate([np.zeros(SR), 0.5 * np.ones(SR)])
    levels = analysis.frame_levels_db(x, SR, frame_s=0.1)
    assert levels.shape == (20,)
    assert np.all(levels[:10] < -150) and np.allclose(levels[10:], 20 * np.log10(0.5))
    assert analysis.active_fraction(levels) == pytest.approx(0.5)


def test_valid_windows_skip_silence():
    levels = np.full(300, -20.0)
    levels[100:200] = -90.0  # ten seconds of silence
    starts = analysis.valid_window_starts(levels, window=50, min_active=0.8)
    assert len(starts) > 0
    for s in starts:
        assert np.mean(levels[s:s + 50] >= analysis.ACTIVE_FLOOR_DB) >= 0.8
    assert not np.any((starts > 110) & (starts < 190))
    assert analysis.valid_window_starts(levels[:10], window=50, min_active=0.5).size == 0


def test_choose_excerpts_is_deterministic_disjoint_and_spread():
    valid = [np.arange(0, 500), np.arange(0, 80), np.array([], dtype=np.int64), np.arange(0, 300)]
    a = analysis.choose_excerpts(valid, window=100, count=6, seed=3)
    b = analysis.choose_excerpts(valid, window=100, count=6, seed=3)
    assert a == b and len(a) == 6
    assert {i for i, _ in a} == {0, 1, 3}  # every stream with a valid window is used
    for i in {i for i, _ in a}:
        starts = sorted(s for j, s in a if j == i)
        assert all(s in set(valid[i].tolist()) for s in starts)
        assert all(b2 - b1 >= 100 for b1, b2 in itertools.pairwise(starts))  # no overlap within a stream
    assert analysis.choose_excerpts(valid, window=100, count=6, seed=4) != a


def test_choose_excerpts_stops_when_streams_are_exhausted():
    valid = [np.arange(0, 150)]  # room for two non-overlapping 100-frame windows at most
    got = analysis.choose_excerpts(valid, window=100, count=10, seed=0)
    assert 1 <= len(got) <= 2


def test_trim_edges():
    x = np.concatenate([np.zeros(SR), 0.3 * np.ones(SR // 2), np.zeros(SR)]).astype(np.float32)
    start, stop = analysis.trim_edges(x, SR, keep_s=0.1)
    assert abs(start - int(0.9 * SR)) <= SR // 100
    assert abs(stop - int(1.6 * SR)) <= SR // 100
    assert analysis.trim_edges(np.zeros(SR), SR) == (0, 0)
