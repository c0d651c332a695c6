"""Waveform-domain losses: L1 on samples and scale-invariant SDR."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rvqgan.losses.spectral import check_pair

# Keeps SI-SDR finite for silent references and perfect estimates (x == y gives ~+80 dB
# or more instead of +inf), as the official implementation's eps does.
_EPS = 1e-8


def si_sdr(x: torch.Tensor, y: torch.Tensor, zero_mean: bool = True) -> torch.Tensor:
    """Scale-invariant signal-to-distortion ratio of estimate ``x`` against reference ``y``.

    ``SI-SDR = 10 log10(||a y||^2 / ||x - a y||^2)`` with ``a = <x, y> / ||y||^2``, over all
    channels and samples of each item (means removed first when ``zero_mean``).

    Args:
        x (Tensor): estimate, shape (B, C, T).
        y (Tensor): reference, shape (B, C, T).
        zero_mean: remove each item's mean first (official default).

    Returns:
        Tensor: shape (B,), in dB.
    """
    check_pair(x, y)
    est = x.reshape(x.shape[0], -1).float()
    ref = y.reshape(y.shape[0], -1).float()
    if zero_mean:
        est = est - est.mean(dim=-1, keepdim=True)
        ref = ref - ref.mean(dim=-1, keepdim=True)
    scale = (est * ref).sum(-1, keepdim=True) / (ref.pow(2).sum(-1, keepdim=True) + _EPS)
    target = scale * ref
    signal = target.pow(2).sum(-1)
    noise = (est - target).pow(2).sum(-1)
    return 10.0 * torch.log10((signal + _EPS) / (noise + _EPS))


class SISDRLoss(nn.Module):
    """Negative SI-SDR in dB, averaged over the batch (lower is better).

    Args:
        zero_mean: remove each item's mean first.
        clip_min: if set, the per-item loss is floored at this value, so items already
            better than ``-clip_min`` dB stop pulling (official option).
    """

    def __init__(self, zero_mean: bool = True, clip_min: float | None = None) -> None:
        super().__init__()
        self.zero_mean = zero_mean
        self.clip_min = clip_min

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x estimate, y reference, (B, C, T) -> scalar ``-mean(SI-SDR)``."""
        loss = -si_sdr(x, y, self.zero_mean)
        if self.clip_min is not None:
            loss = loss.clamp(min=self.clip_min)
        return loss.mean()


class WaveformL1Loss(nn.Module):
    """Mean absolute sample difference (EnCodec's time-domain loss)."""

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x estimate, y reference, (B, C, T) -> scalar."""
        check_pair(x, y)
        return F.l1_loss(x, y)
