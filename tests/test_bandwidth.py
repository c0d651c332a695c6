"""Bandwidth signalling: the meter finds a band-limited input's bandwidth, the low-pass keeps
the band and closes above it, and block-by-block filtering equals filtering in one go."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

import rvqgan
from rvqgan.audio import read_audio
from rvqgan.audio.bandwidth import TAPS, BandLimiter, BandwidthMeter, band_limit, measure_bandwidth
from rvqgan.bitstream import RvqReader
from tests.conftest import REAL_CLIP

RATE = 44100


def _lowpassed_noise(cutoff_hz: float, seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(int(seconds * RATE))
    spectrum = np.fft.rfft(noise)
    spectrum[np.fft.rfftfreq(noise.size, 1 / RATE) > cutoff_hz] = 0
    return (0.1 * np.fft.irfft(spectrum, noise.size)).astype(np.float32)


def _level_db(x: np.ndarray, hz: float) -> float:
    """Level of the sine at ``hz`` in ``x`` (a windowed FFT peak), in dB."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    freqs = np.fft.rfftfreq(x.size, 1 / RATE)
    near = np.abs(freqs - hz) < 20
    return 20 * np.log10(spectrum[near].max() + 1e-30)


@pytest.mark.parametrize("cutoff", [4000, 8000, 11025, 16000])
def test_meter_finds_the_band_of_band_limited_noise(cutoff):
    found = measure_bandwidth(_lowpassed_noise(cutoff), RATE)
    assert found is not None and cutoff <= found <= cutoff + 400, found


def test_meter_signals_nothing_for_full_band_silent_or_empty_input():
    white = (0.1 * np.random.default_rng(1).standard_normal(RATE)).astype(np.float32)
    assert measure_bandwidth(white, RATE) is None
    assert measure_bandwidth(np.zeros(RATE, np.float32), RATE) is None
    assert measure_bandwidth(np.zeros(0, np.float32), RATE) is None
    assert measure_bandwidth(_lowpassed_noise(21500), RATE) is None  # above 95% of Nyquist


def test_meter_is_the_same_however_the_input_is_cut():
    x = np.stack([_lowpassed_noise(6000, seed=2), _lowpassed_noise(9000, seed=3)])  # stereo: the wider band wins
    whole = measure_bandwidth(x, RATE)
    meter = BandwidthMeter(RATE)
    for part in np.array_split(x, [1, 700, 700, 5000, 30000, 30001], axis=1):  # an empty block too
        meter.update(part)
    assert meter.result() == whole and 9000 <= whole <= 9400


def test_band_limiter_passes_the_band_and_stops_above():
    t = np.arange(2 * RATE) / RATE
    bandwidth = 8000
    passed, stopped = 6000.0, bandwidth + 1500.0
    x = 0.5 * (np.sin(2 * np.pi * passed * t) + np.sin(2 * np.pi * stopped * t))
    y = band_limit(torch.from_numpy(x[None].astype(np.float32)), RATE, bandwidth)[0].numpy()
    assert y.shape == x.shape
    middle = slice(TAPS, -TAPS)
    assert abs(_level_db(y[middle], passed) - _level_db(x[middle], passed)) < 0.1
    assert _level_db(y[middle], stopped) - _level_db(x[middle], stopped) < -50
    # Linear phase with its delay removed: a sine in the band comes out where it went in.
    sine = 0.5 * np.sin(2 * np.pi * passed * t).astype(np.float32)
    same = band_limit(torch.from_numpy(sine[None]), RATE, bandwidth)[0].numpy()
    assert np.abs(same[middle] - sine[middle]).max() < 0.01


def test_band_limiter_in_blocks_equals_one_go():
    x = torch.from_numpy(np.stack([_lowpassed_noise(15000, 1.0, 4), _lowpassed_noise(15000, 1.0, 5)]))
    whole = band_limit(x, RATE, 5000)
    rng = np.random.default_rng(6)
    limiter, out, pos = BandLimiter(RATE, 5000, channels=2), [], 0
    while pos < x.shape[1]:
        n = int(rng.integers(0, 3000))
        out.append(limiter.process(x[:, pos : pos + n]))
        pos += n
    out.append(limiter.flush())
    blocks = torch.cat(out, dim=1)
    assert blocks.shape == whole.shape == x.shape
    assert torch.allclose(blocks, whole, atol=1e-6)
    tiny = band_limit(x[:, :10], RATE, 5000)  # shorter than the filter
    assert tiny.shape == (2, 10)


def test_band_limiter_refuses_a_bandwidth_outside_the_band():
    for bad in (0, RATE / 2, 30000):
        with pytest.raises(ValueError, match="bandwidth"):
            BandLimiter(RATE, bad, channels=1)


def test_compress_signals_the_bandwidth_and_decompress_keeps_above_it_quiet(tmp_path):
    x, _ = read_audio(REAL_CLIP, RATE)
    spectrum = np.fft.rfft(x[:, : 2 * RATE], axis=1)
    spectrum[:, np.fft.rfftfreq(2 * RATE, 1 / RATE) > 7000] = 0  # a band-limited copy of a real recording
    narrow = np.fft.irfft(spectrum, 2 * RATE, axis=1).astype(np.float32)
    sf.write(tmp_path / "narrow.wav", narrow.T, RATE, subtype="FLOAT")
    model = rvqgan.load_model()
    rvqgan.compress(model, tmp_path / "narrow.wav", tmp_path / "a.rvq")
    rvqgan.compress(model, tmp_path / "narrow.wav", tmp_path / "b.rvq", band_limit=False)
    with RvqReader(tmp_path / "a.rvq") as reader:
        assert reader.header.format_version == 3 and 7000 <= reader.header.bandwidth_hz <= 7400
    with RvqReader(tmp_path / "b.rvq") as reader:
        assert reader.header.bandwidth_hz is None
    rvqgan.decompress(tmp_path / "a.rvq", tmp_path / "a.wav")
    rvqgan.decompress(tmp_path / "b.rvq", tmp_path / "b.wav")
    limited, _ = sf.read(tmp_path / "a.wav", dtype="float32", always_2d=True)
    plain, _ = sf.read(tmp_path / "b.wav", dtype="float32", always_2d=True)
    assert limited.shape == plain.shape == narrow.T.shape

    def above(y: np.ndarray) -> float:  # energy above 8.5 kHz relative to the whole
        power = np.abs(np.fft.rfft(y, axis=0)) ** 2
        return float(power[np.fft.rfftfreq(y.shape[0], 1 / RATE) > 8500].sum() / power.sum())

    assert above(limited) < above(plain) / 10, (above(limited), above(plain))  # down to 16-bit PCM noise
    # Below the band the two decodings are the same signal.
    low = np.fft.rfftfreq(limited.shape[0], 1 / RATE) < 6000
    a, b = np.fft.rfft(limited, axis=0)[low], np.fft.rfft(plain, axis=0)[low]
    assert np.abs(a - b).sum() / np.abs(b).sum() < 0.02


def test_salvage_applies_the_signalled_low_pass_as_decompress_does(tmp_path):
    noise = np.stack([_lowpassed_noise(6000, 1.0, 7)])
    sf.write(tmp_path / "n.wav", noise.T, RATE, subtype="FLOAT")
    model = rvqgan.load_model()
    rvqgan.compress(model, tmp_path / "n.wav", tmp_path / "n.rvq")
    rvqgan.decompress(tmp_path / "n.rvq", tmp_path / "plain.wav")
    rvqgan.decompress(tmp_path / "n.rvq", tmp_path / "salvaged.wav", salvage=True)
    plain, _ = sf.read(tmp_path / "plain.wav", dtype="float32")
    salvaged, _ = sf.read(tmp_path / "salvaged.wav", dtype="float32")
    assert plain.shape == salvaged.shape == (noise.shape[1],)
    assert np.abs(plain - salvaged).max() < 1e-4
