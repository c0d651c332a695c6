"""Spectral reconstruction losses: the multi-scale mel loss and the multi-resolution STFT loss.

Both follow the official DAC (audiotools) definitions: a periodic hann window of the
window length, hop = window / 4, a centred STFT with reflect padding, magnitudes
``|STFT|``; per scale, ``log_weight * L1(log10(clamp(S, eps) ** pow))`` plus
``mag_weight * L1(S)``; scales are **summed**, not averaged (the paper's loss weight
15 is calibrated for the sum of the 7 mel scales).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rvqgan.errors import ConfigError, InputError
from rvqgan.losses import melscale

PAPER_MEL_WINDOWS = (32, 64, 128, 256, 512, 1024, 2048)
PAPER_MEL_BINS = (5, 10, 20, 40, 80, 160, 320)


def check_pair(x: torch.Tensor, y: torch.Tensor, min_length: int = 1) -> None:
    """Raise :class:`InputError` unless ``x`` and ``y`` are same-shaped (B, C, T) audio, T >= min_length."""
    if x.shape != y.shape or x.dim() != 3:
        raise InputError(
            f"loss inputs must both be (B, C, T) of the same shape, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if x.shape[-1] < min_length:
        raise InputError(
            f"loss inputs need at least {min_length} samples (half the longest window + 1), got {x.shape[-1]}"
        )


def magnitude(x: torch.Tensor, window: torch.Tensor, hop_length: int) -> torch.Tensor:
    """|STFT| of every channel: x (B, C, T) -> (B, C, W // 2 + 1, 1 + T // hop), float32."""
    spec = torch.stft(
        x.float().reshape(-1, x.shape[-1]),
        window.shape[0],
        hop_length,
        window=window.float(),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    return spec.abs().reshape(*x.shape[:-1], *spec.shape[-2:])


def _log_l1(a: torch.Tensor, b: torch.Tensor, clamp_eps: float, pow: float) -> torch.Tensor:
    return F.l1_loss(a.clamp(min=clamp_eps).pow(pow).log10(), b.clamp(min=clamp_eps).pow(pow).log10())


class _MultiScale(nn.Module):
    """Shared part: one periodic hann window buffer per scale, built once."""

    def __init__(
        self, windows: tuple[int, ...], clamp_eps: float, pow: float, mag_weight: float, log_weight: float
    ) -> None:
        super().__init__()
        if not windows or any(w < 4 for w in windows):
            raise ConfigError(f"loss windows must be a non-empty list of lengths >= 4, got {windows}")
        self.windows = tuple(int(w) for w in windows)
        self.hop_lengths = tuple(w // 4 for w in self.windows)
        self.clamp_eps = clamp_eps
        self.pow = pow
        self.mag_weight = mag_weight
        self.log_weight = log_weight
        for i, w in enumerate(self.windows):
            # Non-persistent: rebuilt from the config, never stored in checkpoints.
            self.register_buffer(f"window_{i}", torch.hann_window(w), persistent=False)

    @property
    def min_length(self) -> int:
        """Shortest input: reflect padding of half the longest window must fit in it."""
        return max(self.windows) // 2 + 1

    def _scale_loss(self, sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
        loss = self.log_weight * _log_l1(sx, sy, self.clamp_eps, self.pow)
        if self.mag_weight:
            loss = loss + self.mag_weight * F.l1_loss(sx, sy)
        return loss


class MelLoss(_MultiScale):
    """Multi-scale log10-mel L1 distance (the paper's main reconstruction loss and metric).

    Args:
        sample_rate: audio rate in Hz (fixes the mel filters).
        windows: STFT windows, hop = window / 4 (paper: 32 ... 2048).
        n_mels: mel bins per window (paper: 5 ... 320).
        clamp_eps: floor on the mel magnitude before the log.
        pow: exponent on the clamped mel magnitude (official config: 1.0).
        mag_weight: weight of an extra L1 on linear mel magnitudes (official config: 0).
        log_weight: weight of the log10-mel L1.
        fmin, fmax: mel range in Hz (``fmax=None``: Nyquist).

    Attributes:
        windows, n_mels, hop_lengths: the per-scale configuration, as tuples.
    """

    def __init__(
        self,
        sample_rate: int,
        windows=PAPER_MEL_WINDOWS,
        n_mels=PAPER_MEL_BINS,
        clamp_eps: float = 1e-5,
        pow: float = 1.0,
        mag_weight: float = 0.0,
        log_weight: float = 1.0,
        fmin: float = 0.0,
        fmax: float | None = None,
    ) -> None:
        super().__init__(tuple(windows), clamp_eps, pow, mag_weight, log_weight)
        if len(n_mels) != len(self.windows):
            raise ConfigError(f"mel loss: {len(n_mels)} mel sizes for {len(self.windows)} windows")
        self.sample_rate = sample_rate
        self.n_mels = tuple(int(m) for m in n_mels)
        for i, (w, m) in enumerate(zip(self.windows, self.n_mels)):
            bank = melscale.mel_filterbank(sample_rate, w, m, fmin, fmax)
            self.register_buffer(f"mel_basis_{i}", bank, persistent=False)

    def mel_spectrogram(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        """Mel magnitudes at one scale: x (B, C, T) -> (B, C, n_mels[scale], frames)."""
        window = getattr(self, f"window_{scale}")
        basis = getattr(self, f"mel_basis_{scale}")
        return torch.matmul(basis.float(), magnitude(x, window, self.hop_lengths[scale]))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mel distance of estimate ``x`` to reference ``y``, both (B, C, T): a scalar (0 iff equal spectra)."""
        check_pair(x, y, self.min_length)
        return self.distance(x, self.spectra(y))

    def spectra(self, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The reference's mel magnitudes at every scale, for :meth:`distance` (a reference
        scored against many estimates, as in the encoder's search, is analysed once)."""
        return tuple(self.mel_spectrogram(y, i) for i in range(len(self.windows)))

    def distance(self, x: torch.Tensor, reference: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """``forward(x, y)`` given ``reference = spectra(y)``; the same value, bit for bit."""
        if len(reference) != len(self.windows):
            raise InputError(f"mel loss: {len(reference)} reference spectra for {len(self.windows)} windows")
        loss = x.new_zeros((), dtype=torch.float32)
        for i, sy in enumerate(reference):
            sx = self.mel_spectrogram(x, i)
            if sx.shape != sy.shape:
                raise InputError(f"mel loss: the estimate's spectrum {tuple(sx.shape)} does not match the "
                                 f"reference's {tuple(sy.shape)}")
            loss = loss + self._scale_loss(sx, sy)
        return loss


class STFTLoss(_MultiScale):
    """Multi-resolution STFT distance (the paper's "STFT distance" metric; official
    ``MultiScaleSTFTLoss``): per window, L1 of log10(clamp(|S|, eps) ** 2) plus L1 of |S|.

    Args:
        windows: STFT windows, hop = window / 4 (official: 2048, 512).
        clamp_eps, pow, mag_weight, log_weight: as in :class:`MelLoss` (official defaults here).
    """

    def __init__(
        self,
        windows=(2048, 512),
        clamp_eps: float = 1e-5,
        pow: float = 2.0,
        mag_weight: float = 1.0,
        log_weight: float = 1.0,
    ) -> None:
        super().__init__(tuple(windows), clamp_eps, pow, mag_weight, log_weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """STFT distance of estimate ``x`` to reference ``y``, both (B, C, T): a scalar."""
        check_pair(x, y, self.min_length)
        loss = x.new_zeros((), dtype=torch.float32)
        for i, hop in enumerate(self.hop_lengths):
            window = getattr(self, f"window_{i}")
            loss = loss + self._scale_loss(magnitude(x, window, hop), magnitude(y, window, hop))
        return loss
