"""MelGAN multi-scale waveform discriminator (Kumar et al. 2019), an ablation option.

The same 1-D conv architecture runs on the waveform at the full rate and after
repeated 2x average-pool downsampling; grouped strided convs keep it cheap.
"""

from __future__ import annotations

from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from rvqgan.discriminators.layers import GroupedWNConv1d, conv_act

# MelGAN's slope (HiFi-GAN and DAC use 0.1 elsewhere).
LEAKY_SLOPE = 0.2


class WaveformDiscriminator(nn.Module):
    """One MelGAN scale: conv 15 (reflect-padded) to 16 channels, four grouped strided
    convs (kernel 41, stride 4) up to 1024 channels, conv 5, then conv 3 to one logit.
    """

    def __init__(self) -> None:
        super().__init__()
        widths = (16, 64, 256, 1024, 1024)
        layers = [conv_act(GroupedWNConv1d(1, widths[0], 15), LEAKY_SLOPE)]
        for c_in, c_out in pairwise(widths):
            layers.append(
                conv_act(GroupedWNConv1d(c_in, c_out, 41, stride=4, padding=20, groups=c_in // 4), LEAKY_SLOPE)
            )
        layers.append(conv_act(GroupedWNConv1d(widths[-1], widths[-1], 5, padding=2), LEAKY_SLOPE))
        self.convs = nn.ModuleList(layers)
        self.conv_post = GroupedWNConv1d(widths[-1], 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """x (Tensor): shape (B, 1, T) -> (logits (B, 1, ~T / 256), 6 feature maps)."""
        features = []
        h = F.pad(x, (7, 7), mode="reflect")
        for layer in self.convs:
            h = layer(h)
            features.append(h)
        return self.conv_post(h), features


def downsample(x: torch.Tensor, times: int) -> torch.Tensor:
    """Halve the rate ``times`` times with MelGAN's AvgPool1d(4, stride 2, padding 1)."""
    for _ in range(times):
        x = F.avg_pool1d(x, 4, stride=2, padding=1, count_include_pad=False)
    return x


class ScaledWaveformDiscriminator(nn.Module):
    """A :class:`WaveformDiscriminator` that first downsamples its input ``scale`` times."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.net = WaveformDiscriminator()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """x (Tensor): shape (B, 1, T) -> (logits, feature maps) at rate / 2**scale."""
        return self.net(downsample(x, self.scale))
