"""Weight-normalized convolutions for the discriminators.

They share :class:`rvqgan.nn.conv.WeightNormed` with the generator's convolutions:
``weight_g`` / ``weight_v``, like
``torch.nn.utils.weight_norm`` in the official code, so a ``Sequential(conv,
LeakyReLU)`` built by :func:`conv_act` reproduces the official parameter names
(``convs.0.0.weight_g`` ...). Discriminators are never folded (they are not used at
inference), so these layers keep (g, v) only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rvqgan.nn.conv import WeightNormed

Pair = tuple[int, int]


def _pair(value: int | Pair) -> Pair:
    return (value, value) if isinstance(value, int) else tuple(value)  # type: ignore[return-value]


class WNConv2d(WeightNormed):
    """Weight-normalized ``Conv2d`` (zero padding, as ``nn.Conv2d(padding=...)``).

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation: as ``nn.Conv2d``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Pair,
        stride: int | Pair = 1,
        padding: int | Pair = 0,
        dilation: int | Pair = 1,
    ) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.dilation = _pair(dilation)
        self._init_weight((out_channels, in_channels, *self.kernel_size))
        fan_in = in_channels * self.kernel_size[0] * self.kernel_size[1]
        self.bias = nn.Parameter(torch.empty(out_channels).uniform_(-(fan_in**-0.5), fan_in**-0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor): shape (B, C_in, H, W) -> (B, C_out, H', W')."""
        return F.conv2d(x, self.effective_weight(), self.bias, self.stride, self.padding, self.dilation)


class GroupedWNConv1d(WeightNormed):
    """Weight-normalized ``Conv1d`` with groups and symmetric zero padding (MelGAN)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        groups: int = 1,
    ) -> None:
        super().__init__()
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self._init_weight((out_channels, in_channels // groups, kernel_size))
        fan_in = in_channels // groups * kernel_size
        self.bias = nn.Parameter(torch.empty(out_channels).uniform_(-(fan_in**-0.5), fan_in**-0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor): shape (B, C_in, T) -> (B, C_out, T')."""
        return F.conv1d(x, self.effective_weight(), self.bias, self.stride, self.padding, 1, self.groups)


def conv_act(conv: nn.Module, slope: float) -> nn.Sequential:
    """``conv`` followed by a leaky ReLU, as one indexable block (``block[0]`` is the conv)."""
    return nn.Sequential(conv, nn.LeakyReLU(slope))
