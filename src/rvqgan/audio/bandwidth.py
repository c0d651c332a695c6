"""Bandwidth signalling: the encoder measures the input's audio bandwidth and writes it in
the file's header; the decoder low-passes its output there.

Much real audio is band-limited: speech recorded at 16 or 32 kHz, lossy files cut at
16 kHz, game sounds stored at 22 kHz. The codec's decoder cannot know it from the codes
and fills the empty band with a faint hiss, which the spectral distances punish hard (in
log magnitude, nothing against a little is a large error). Opus signals its coded
bandwidth for the same reason. The measurement costs one extra pass over the input, the
side information a few bytes per file, the low-pass one short linear-phase FIR.

* :class:`BandwidthMeter` sums the power spectra of the input (frames of 2048 samples
  under a Blackman-Harris window, whose -92 dB sidelobes keep a sharp band edge from
  leaking past the threshold; the channels together), smooths the sum over ~200 Hz and
  returns the highest
  frequency whose level is within ``threshold_db`` (-90 dB) of the mean bin level,
  rounded up to 100 Hz; ``None`` (nothing to signal) when that is at least 95% of the
  Nyquist frequency or the input is silent. Summing, not averaging active frames, makes
  it streaming and lets silence count for nothing. The threshold is low on purpose: a
  band-limited source (a lowered sample rate, a lossy encoder's cut) is digital silence
  above its band, while a quiet noise floor or faint harmonics at -60 to -85 dB are real
  content that the decoder should keep reproducing.
* :class:`BandLimiter` is a Kaiser-windowed sinc low-pass (255 taps, ~60 dB stopband),
  flat up to the signalled bandwidth and closed ~700 Hz above it. It runs block by block
  with its group delay removed: the output has the input's length and is the same, to
  float rounding, however the signal is cut into blocks.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

N_FFT = 2048
SMOOTH_HZ = 200.0
THRESHOLD_DB = -90.0
FULL_BAND_FRACTION = 0.95
ROUND_HZ = 100
TAPS = 255
TRANSITION_HZ = 700.0
STOPBAND_DB = 60.0


def blackman_harris(n: int) -> np.ndarray:
    """The 4-term Blackman-Harris window of ``n`` samples (sidelobes below -92 dB)."""
    phase = 2 * np.pi * np.arange(n) / max(n - 1, 1)
    terms = (0.35875, -0.48829, 0.14128, -0.01168)
    return sum(a * np.cos(k * phase) for k, a in enumerate(terms))


class BandwidthMeter:
    """Measures the bandwidth of audio given block by block (``update``, then ``result``).

    Args:
        sample_rate: the audio's rate in Hz.
        threshold_db: level, relative to the mean bin level of the summed spectrum, that
            counts as content.
    """

    def __init__(self, sample_rate: int, threshold_db: float = THRESHOLD_DB) -> None:
        self.sample_rate = sample_rate
        self.threshold_db = threshold_db
        self.window = blackman_harris(N_FFT)
        self.power = np.zeros(N_FFT // 2 + 1)
        self._tail: np.ndarray | None = None

    def update(self, block: np.ndarray | torch.Tensor) -> None:
        """Add ``block`` ([C, n] or [n], any n) to the measurement."""
        if isinstance(block, torch.Tensor):
            block = block.detach().cpu().numpy()
        channels = np.atleast_2d(np.asarray(block, dtype=np.float64))  # [C, n]; [n] -> [1, n]
        if self._tail is None:
            self._tail = np.zeros((channels.shape[0], 0))
        signal = np.concatenate([self._tail, channels], axis=1)
        hop = N_FFT // 2
        count = max(0, (signal.shape[1] - N_FFT) // hop + 1)
        if count:
            index = np.arange(N_FFT)[None, :] + hop * np.arange(count)[:, None]
            frames = signal[:, index] * self.window  # [C, count, N_FFT]
            self.power += (np.abs(np.fft.rfft(frames, axis=-1)) ** 2).sum(axis=(0, 1))
        self._tail = signal[:, count * hop:]

    def result(self) -> int | None:
        """The bandwidth in Hz, or ``None`` for full-band or silent input (no low-pass)."""
        power = self.power.copy()
        rest = 0 if self._tail is None else self._tail.shape[1]
        if rest >= N_FFT // 4:  # the last, partial frame counts, tapered to its own length
            padded = np.zeros((self._tail.shape[0], N_FFT))
            padded[:, :rest] = self._tail * blackman_harris(rest)
            power += (np.abs(np.fft.rfft(padded, axis=-1)) ** 2).sum(axis=0)
        mean = power.mean()
        if not np.isfinite(mean) or mean <= 1e-20:
            return None
        bin_hz = self.sample_rate / N_FFT
        width = max(1, round(SMOOTH_HZ / bin_hz))
        smooth = np.convolve(power, np.ones(width) / width, mode="same")
        level = 10 * np.log10(np.maximum(smooth, 1e-30) / mean)
        above = np.nonzero(level >= self.threshold_db)[0]
        if above.size == 0:
            return None
        bandwidth = math.ceil((above[-1] + 1) * bin_hz / ROUND_HZ) * ROUND_HZ
        if bandwidth >= FULL_BAND_FRACTION * self.sample_rate / 2:
            return None
        return int(bandwidth)


def measure_bandwidth(audio: np.ndarray | torch.Tensor, sample_rate: int) -> int | None:
    """The bandwidth of ``audio`` ([C, n] or [n]) in Hz; ``None`` when full-band or silent."""
    meter = BandwidthMeter(sample_rate)
    meter.update(audio)
    return meter.result()


def lowpass_taps(sample_rate: int, bandwidth_hz: float) -> torch.Tensor:
    """The FIR (``TAPS`` taps, unit DC gain) that passes up to ``bandwidth_hz``."""
    cutoff = min(bandwidth_hz + TRANSITION_HZ / 2, sample_rate / 2) / sample_rate  # in cycles per sample
    n = np.arange(TAPS) - (TAPS - 1) / 2
    beta = 0.1102 * (STOPBAND_DB - 8.7)
    taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.kaiser(TAPS, beta)
    return torch.from_numpy(taps / taps.sum()).float()


class BandLimiter:
    """Low-passes blocks of ``[C, n]`` audio at ``bandwidth_hz``, with no delay.

    ``process`` returns as many samples as it can (the first call fewer: the filter looks
    ``TAPS // 2`` samples ahead); ``flush`` returns the rest, so the outputs together have
    exactly the length of the inputs.
    """

    def __init__(self, sample_rate: int, bandwidth_hz: float, channels: int) -> None:
        if not 0 < bandwidth_hz < sample_rate / 2:
            raise ValueError(f"bandwidth {bandwidth_hz} Hz is not inside (0, {sample_rate / 2}) Hz")
        self.taps = lowpass_taps(sample_rate, bandwidth_hz).view(1, 1, -1)
        self.delay = (TAPS - 1) // 2
        self.buffer = torch.zeros(channels, self.delay)  # the zeros before the signal

    def _run(self, block: torch.Tensor) -> torch.Tensor:
        self.buffer = torch.cat([self.buffer, block.to(self.buffer.dtype)], dim=1)
        ready = self.buffer.shape[1] - (TAPS - 1)
        if ready <= 0:
            return self.buffer.new_zeros(self.buffer.shape[0], 0)
        out = F.conv1d(self.buffer[:, None, :], self.taps.to(self.buffer.dtype))[:, 0]
        self.buffer = self.buffer[:, ready:]
        return out

    def process(self, block: torch.Tensor) -> torch.Tensor:
        """Filter the next block ``[C, n]``; returns ``[C, m]`` samples ready so far."""
        return self._run(block.cpu())

    def flush(self) -> torch.Tensor:
        """The last samples (the zeros after the signal let the filter finish)."""
        return self._run(torch.zeros(self.buffer.shape[0], self.delay))


def band_limit(audio: torch.Tensor, sample_rate: int, bandwidth_hz: float | None) -> torch.Tensor:
    """``audio`` ([C, n]) low-passed at ``bandwidth_hz`` in one go (unchanged for ``None``)."""
    if bandwidth_hz is None:
        return audio
    limiter = BandLimiter(sample_rate, bandwidth_hz, audio.shape[0])
    return torch.cat([limiter.process(audio), limiter.flush()], dim=1)
