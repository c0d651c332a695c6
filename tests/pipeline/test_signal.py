"""Loudness (BS.1770), phase rotation and peak guard of the excerpt pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from rvqgan.data.signal import SILENCE_LUFS, loudness, normalize_loudness, peak_guard, rotate_phase


def test_loudness_matches_pyloudnorm(piano):
    pyloudnorm = pytest.importorskip("pyloudnorm")
    audio, rate = piano
    for segment in (audio, audio[:rate], audio[5000 : 5000 + int(0.45 * rate)]):
        expected = pyloudnorm.Meter(rate).integrated_loudness(segment.astype(np.float64))
        assert abs(loudness(segment, rate) - expected) < 0.02
    noise = np.random.default_rng(0).standard_normal(16000) * 0.1
    assert abs(loudness(noise, 16000) - pyloudnorm.Meter(16000).integrated_loudness(noise)) < 0.02


def test_short_excerpt_fallback_equals_gated_loudness_of_a_steady_signal():
    rate = 44100
    t = np.arange(int(0.38 * rate)) / rate
    tone = 0.2 * np.sin(2 * np.pi * 997 * t)
    long_tone = 0.2 * np.sin(2 * np.pi * 997 * np.arange(2 * rate) / rate)
    # 0.38 s is shorter than one 400 ms gating block: measured as one block.
    assert abs(loudness(tone, rate) - loudness(long_tone, rate)) < 0.05


def test_silence_and_normalization(piano):
    audio, rate = piano
    assert loudness(np.zeros(rate), rate) == SILENCE_LUFS
    assert loudness(np.zeros(0), rate) == SILENCE_LUFS
    assert np.array_equal(normalize_loudness(np.zeros(100), rate, -24.0), np.zeros(100))
    excerpt = audio[10000 : 10000 + int(0.38 * rate)]
    assert abs(loudness(normalize_loudness(excerpt, rate, -24.0), rate) + 24.0) < 1e-6


def test_phase_rotation(piano):
    audio, _ = piano
    x = audio[: 4096].astype(np.float64)
    assert np.allclose(rotate_phase(x, 0.0), x, atol=1e-12)
    assert np.allclose(rotate_phase(x, np.pi), -x, atol=1e-12)
    y = rotate_phase(x, 1.1)
    assert not np.allclose(x, y, atol=1e-3)  # the waveform changes...
    magnitude_x, magnitude_y = np.abs(np.fft.rfft(x)), np.abs(np.fft.rfft(y))
    assert np.allclose(magnitude_x[1:-1], magnitude_y[1:-1], rtol=1e-9, atol=1e-9)  # ...its spectrum does not
    # A quarter turn of a cosine is a sine (up to the sign convention of the rotation).
    n = np.arange(1024)
    cosine = np.cos(2 * np.pi * 8 * n / 1024)
    assert np.allclose(np.abs(rotate_phase(cosine, np.pi / 2)), np.abs(np.sin(2 * np.pi * 8 * n / 1024)), atol=1e-9)


def test_peak_guard_scales_without_clipping():
    x = np.array([0.5, -2.0, 1.0], dtype=np.float32)
    assert np.allclose(peak_guard(x), x / 2)
    quiet = np.array([0.1, -0.2], dtype=np.float32)
    assert peak_guard(quiet) is quiet
