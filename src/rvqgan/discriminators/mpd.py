"""Multi-period discriminator (HiFi-GAN): one 2-D conv stack per period.

The waveform is folded into a (T / p, p) image so that each column holds every p-th
sample; kernels of width 1 along the period axis then look at periodic structure
that a plain waveform discriminator averages away.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rvqgan.discriminators.layers import WNConv2d, conv_act

# Leaky ReLU slope of HiFi-GAN and the official DAC discriminators.
LEAKY_SLOPE = 0.1


class PeriodDiscriminator(nn.Module):
    """One period of the multi-period discriminator.

    Five (5, 1) convolutions, the first four with stride 3 along time, then a (3, 1)
    convolution to one logit channel. Module names follow the official ``MPD``
    (``convs[i][0]``, ``conv_post``).

    Args:
        period: the fold width p.
        channels: widths of the five convolutions (official: 32, 128, 512, 1024, 1024).
    """

    def __init__(self, period: int, channels: tuple[int, ...] = (32, 128, 512, 1024, 1024)) -> None:
        super().__init__()
        self.period = period
        widths = (1, *channels)
        strides = (3, 3, 3, 3, 1)
        self.convs = nn.ModuleList(
            conv_act(WNConv2d(c_in, c_out, (5, 1), (s, 1), padding=(2, 0)), LEAKY_SLOPE)
            for c_in, c_out, s in zip(widths[:-1], widths[1:], strides)
        )
        self.conv_post = WNConv2d(widths[-1], 1, (3, 1), padding=(1, 0))

    def fold(self, x: torch.Tensor) -> torch.Tensor:
        """Fold audio into columns of one period.

        Like the official code, always reflect-pads ``p - T % p`` samples on the right
        (a whole extra period when T is already a multiple of p).

        Args:
            x (Tensor): shape (B, 1, T).

        Returns:
            Tensor: shape (B, 1, ceil((T + 1) / p), p).
        """
        pad = self.period - x.shape[-1] % self.period
        x = F.pad(x, (0, pad), mode="reflect")
        return x.reshape(x.shape[0], x.shape[1], -1, self.period)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """x (Tensor): shape (B, 1, T) -> (logits (B, 1, L, p), feature maps of the 5 layers)."""
        features = []
        h = self.fold(x)
        for layer in self.convs:
            h = layer(h)
            features.append(h)
        return self.conv_post(h), features
