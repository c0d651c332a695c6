"""Mel filter banks, computed here in torch (no librosa needed).

The default (Slaney mel scale, Slaney area normalization) is what librosa's
``filters.mel`` returns with its defaults, which is what the official DAC mel loss
uses through audiotools.
"""

from __future__ import annotations

import math

import torch

# Slaney's Auditory Toolbox mel scale: linear below 1 kHz, logarithmic above.
_F_SP = 200.0 / 3.0
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = math.log(6.4) / 27.0


def hz_to_mel(freqs: torch.Tensor, htk: bool = False) -> torch.Tensor:
    """Hz -> mel (Slaney scale by default, HTK's 2595 log10(1 + f/700) with ``htk``)."""
    if htk:
        return 2595.0 * torch.log10(1.0 + freqs / 700.0)
    linear = freqs / _F_SP
    log = _MIN_LOG_MEL + torch.log(torch.clamp(freqs, min=_MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOG_STEP
    return torch.where(freqs >= _MIN_LOG_HZ, log, linear)


def mel_to_hz(mels: torch.Tensor, htk: bool = False) -> torch.Tensor:
    """mel -> Hz, the inverse of :func:`hz_to_mel`."""
    if htk:
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    linear = _F_SP * mels
    log = _MIN_LOG_HZ * torch.exp(_LOG_STEP * (mels - _MIN_LOG_MEL))
    return torch.where(mels >= _MIN_LOG_MEL, log, linear)


def mel_filterbank(
    sample_rate: int,
    n_fft: int,
    n_mels: int,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    slaney_norm: bool = True,
) -> torch.Tensor:
    """Triangular mel filters over the bins of an ``n_fft``-point real FFT.

    Filter i rises from mel point i to i + 1 and falls to i + 2, the n_mels + 2 points
    being equally spaced in mel between ``fmin`` and ``fmax``. With ``slaney_norm`` each
    triangle is scaled by 2 / (its width in Hz), so all filters have equal area.

    Few mels over a short FFT can leave a filter that covers no FFT bin (all zeros).
    That filter's mel band is then identically 0 for every signal; after the loss's
    clamp it contributes a constant, so it wastes a row but never produces NaN or a
    wrong gradient. :func:`empty_filters` finds them; the paper's (window, n_mels) pairs
    have none at 16, 24 and 44.1 kHz (tested).

    Args:
        sample_rate: audio rate in Hz.
        n_fft: FFT size (the window length here).
        n_mels: number of filters.
        fmin, fmax: frequency range in Hz; ``fmax=None`` means Nyquist.
        htk: use the HTK mel formula instead of Slaney's.
        slaney_norm: area-normalize the triangles (librosa's ``norm="slaney"``).

    Returns:
        Tensor: float32, shape (n_mels, n_fft // 2 + 1).
    """
    fmax = sample_rate / 2.0 if fmax is None else float(fmax)
    fft_freqs = torch.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1, dtype=torch.float64)
    lo, hi = hz_to_mel(torch.tensor([float(fmin), fmax], dtype=torch.float64), htk)
    points = mel_to_hz(torch.linspace(float(lo), float(hi), n_mels + 2, dtype=torch.float64), htk)
    widths = points.diff()  # (n_mels + 1,)
    ramps = points[:, None] - fft_freqs[None, :]  # (n_mels + 2, n_bins)
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    if slaney_norm:
        weights = weights * (2.0 / (points[2:] - points[:-2]))[:, None]
    return weights.to(torch.float32)


def empty_filters(filterbank: torch.Tensor) -> list[int]:
    """Indices of the filters (rows of a (n_mels, n_bins) bank) that cover no bin."""
    return [i for i, row in enumerate(filterbank) if not bool((row > 0).any())]
