"""Excerpt processing in numpy only: loudness (ITU-R BS.1770), phase rotation, gain.

The training loop must run on machines without pyloudnorm or soxr, and must be
cheap, so the meter here is a small FFT-based implementation of BS.1770:

* K-weighting (a high shelf and a high pass, the RBJ-cookbook biquads that
  pyloudnorm uses at any sample rate) is applied by multiplying the spectrum by the
  filters' frequency response (zero-padded so that the circular convolution barely
  wraps); this matches the IIR filtering to within a few hundredths of a dB on
  real music (tested against pyloudnorm).
* Gating as BS.1770: 400 ms blocks, 75 % overlap, absolute gate -70 LUFS, relative
  gate -10 LU. **Fallback:** an excerpt shorter than one 400 ms block (the 0.38 s
  training excerpts are) cannot be gated; it is measured as a single block (mean
  K-weighted power) with only the absolute gate. pyloudnorm refuses such input.
"""

from __future__ import annotations

import math

import numpy as np

ABSOLUTE_GATE_LUFS = -70.0
# Returned for silence: below the absolute gate, so silence is never "normalized up".
SILENCE_LUFS = -100.0


def _biquad_response(b: tuple[float, float, float], a: tuple[float, float, float], w: np.ndarray) -> np.ndarray:
    z = np.exp(-1j * w)
    return (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)


def k_weighting_response(n_fft: int, sample_rate: int) -> np.ndarray:
    """The complex K-weighting response at the ``n_fft // 2 + 1`` rfft bins.

    Args:
        n_fft: FFT length.
        sample_rate: Hz.

    Returns:
        ndarray: shape (n_fft // 2 + 1,), complex128.
    """
    w = 2 * np.pi * np.arange(n_fft // 2 + 1) / n_fft
    # Stage 1: high shelf, +4 dB above ~1.5 kHz (models the head's acoustic effect).
    gain, q, fc = 4.0, 1 / math.sqrt(2), 1500.0
    big_a = 10 ** (gain / 40)
    w0 = 2 * math.pi * fc / sample_rate
    alpha = math.sin(w0) / (2 * q)
    cos, root = math.cos(w0), 2 * math.sqrt(big_a) * alpha
    shelf = _biquad_response(
        (
            big_a * ((big_a + 1) + (big_a - 1) * cos + root),
            -2 * big_a * ((big_a - 1) + (big_a + 1) * cos),
            big_a * ((big_a + 1) + (big_a - 1) * cos - root),
        ),
        ((big_a + 1) - (big_a - 1) * cos + root, 2 * ((big_a - 1) - (big_a + 1) * cos), (big_a + 1) - (big_a - 1) * cos - root),
        w,
    )
    # Stage 2: high pass at 38 Hz (RLB weighting).
    q, fc = 0.5, 38.0
    w0 = 2 * math.pi * fc / sample_rate
    alpha = math.sin(w0) / (2 * q)
    cos = math.cos(w0)
    high_pass = _biquad_response(((1 + cos) / 2, -(1 + cos), (1 + cos) / 2), (1 + alpha, -2 * cos, 1 - alpha), w)
    return shelf * high_pass


def k_weight(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """K-weighted copy of a mono signal (T,), by FFT filtering (see the module notes)."""
    length = audio.shape[-1]
    # 0.1 s of zero padding lets the filters' tails (tens of ms) decay before wrapping.
    n_fft = 1 << max(1, (length + sample_rate // 10 - 1).bit_length())
    spectrum = np.fft.rfft(audio.astype(np.float64), n=n_fft)
    return np.fft.irfft(spectrum * k_weighting_response(n_fft, sample_rate), n=n_fft)[:length]


def loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness of a mono signal in LUFS (BS.1770; see the module notes).

    Args:
        audio: shape (T,), float.
        sample_rate: Hz.

    Returns:
        float: LUFS; :data:`SILENCE_LUFS` for silence or empty input.
    """
    if audio.size == 0:
        return SILENCE_LUFS
    weighted = k_weight(audio, sample_rate)
    block = round(0.4 * sample_rate)
    if weighted.shape[-1] < block:
        # Fallback for short excerpts: one block, absolute gate only.
        power = float(np.mean(weighted**2))
        lufs = -0.691 + 10 * math.log10(power) if power > 0 else SILENCE_LUFS
        return lufs if lufs > ABSOLUTE_GATE_LUFS else SILENCE_LUFS
    hop = block // 4
    squares = np.concatenate([[0.0], np.cumsum(weighted**2)])
    starts = np.arange(0, weighted.shape[-1] - block + 1, hop)
    powers = (squares[starts + block] - squares[starts]) / block
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10 * np.log10(powers)
    gated = powers[levels > ABSOLUTE_GATE_LUFS]
    if gated.size == 0:
        return SILENCE_LUFS
    relative_gate = -0.691 + 10 * math.log10(float(gated.mean())) - 10.0
    gated = powers[(levels > ABSOLUTE_GATE_LUFS) & (levels > relative_gate)]
    return -0.691 + 10 * math.log10(float(gated.mean()))


def normalize_loudness(audio: np.ndarray, sample_rate: int, target_db: float) -> np.ndarray:
    """Scale a mono signal to ``target_db`` LUFS; silence (below the gate) is returned unchanged."""
    level = loudness(audio, sample_rate)
    if level <= ABSOLUTE_GATE_LUFS:
        return audio
    return audio * np.float32(10 ** ((target_db - level) / 20))


def rotate_phase(audio: np.ndarray, angle: float) -> np.ndarray:
    """Add a constant ``angle`` (radians) to the phase of every frequency.

    This is DAC's "ShiftPhase" augmentation (a constant added to every STFT phase),
    done with one FFT of the whole excerpt instead of an STFT/iSTFT pair: the result
    is ``cos(angle) * x + sin(angle) * hilbert(x)``. The magnitude spectrum, and so
    the loudness, is unchanged; the waveform shape is not.

    Args:
        audio: shape (T,), float.
        angle: radians.
    """
    spectrum = np.fft.rfft(audio.astype(np.float64))
    # The DC and Nyquist bins are real; irfft keeps the real part of their rotation
    # (cos(angle) times them), as the STFT version does.
    return np.fft.irfft(spectrum * np.exp(1j * angle), n=audio.shape[-1]).astype(audio.dtype)


def peak_guard(audio: np.ndarray, limit: float = 1.0) -> np.ndarray:
    """Scale down a signal whose peak exceeds ``limit`` (DAC's RescaleAudio); no clipping."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return audio * np.float32(limit / peak) if peak > limit else audio
