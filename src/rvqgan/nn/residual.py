"""The residual unit of the encoder and decoder: act -> dilated conv k7 -> act -> conv k1, plus skip."""

from __future__ import annotations

import torch
from torch import nn

from rvqgan.nn.conv import WNConv1d
from rvqgan.nn.snake import make_activation


def conv_padding(kernel_size: int, dilation: int, causal: bool) -> tuple[int, int]:
    """(left, right) padding that keeps the length of a stride-1 convolution."""
    total = (kernel_size - 1) * dilation
    if causal:
        return (total, 0)
    return (total // 2, total - total // 2)


class ResidualUnit(nn.Module):
    """``x + conv1x1(act(conv7_dilated(act(x))))``; the length is unchanged.

    Args:
        channels: number of channels C.
        dilation: dilation of the k=7 convolution (1, 3 or 9 in the paper).
        activation: ``"snake"`` or ``"relu"``.
        causal: pad on the left only.
    """

    def __init__(self, channels: int, dilation: int, activation: str = "snake", causal: bool = False) -> None:
        super().__init__()
        self.act1 = make_activation(activation, channels)
        self.conv1 = WNConv1d(channels, channels, 7, dilation=dilation, padding=conv_padding(7, dilation, causal))
        self.act2 = make_activation(activation, channels)
        self.conv2 = WNConv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor): shape (B, C, T) -> (B, C, T)."""
        return x + self.conv2(self.act2(self.conv1(self.act1(x))))
