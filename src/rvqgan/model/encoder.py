"""The encoder: conv k7, blocks of 3 residual units + strided conv, then conv k3 to the latent."""

from __future__ import annotations

import torch
from torch import nn

from rvqgan.nn import tiled
from rvqgan.nn.conv import WNConv1d
from rvqgan.nn.residual import ResidualUnit, conv_padding
from rvqgan.nn.snake import make_activation

DILATIONS = (1, 3, 9)


def down_padding(stride: int, causal: bool) -> tuple[int, int]:
    """Padding of the kernel-2s strided conv: ceil(s/2) each side (official), or s on the left."""
    if causal:
        return (stride, 0)
    return (-(-stride // 2), -(-stride // 2))


class EncoderBlock(nn.Module):
    """3 residual units at ``channels // 2``, then act + strided conv that doubles the channels."""

    def __init__(self, channels: int, stride: int, activation: str, causal: bool) -> None:
        super().__init__()
        half = channels // 2
        self.res = nn.ModuleList(ResidualUnit(half, d, activation, causal) for d in DILATIONS)
        self.act = make_activation(activation, half)
        self.down = WNConv1d(half, channels, 2 * stride, stride=stride, padding=down_padding(stride, causal))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for unit in self.res:
            x = unit(x)
        return self.down(self.act(x))

    def forward_tiled(self, x: torch.Tensor) -> torch.Tensor:
        """Time-major inference (:mod:`rvqgan.nn.tiled`): x (T, C/2) -> (T / stride, C)."""
        spare = torch.empty_like(x)
        for unit in self.res:
            x, spare = tiled.residual_unit(x, unit, out=spare), x
        return tiled.conv(x, self.down, act=self.act)


class Encoder(nn.Module):
    """Audio (B, 1, T) -> latent (B, latent_dim, T / hop).

    Args:
        dim: channels after the first convolution (64 in the paper).
        rates: strides of the blocks, e.g. (2, 4, 8, 8).
        latent_dim: output channels.
        activation: ``"snake"`` or ``"relu"``.
        causal: left padding only.
    """

    def __init__(self, dim: int, rates: tuple[int, ...], latent_dim: int, activation: str, causal: bool) -> None:
        super().__init__()
        self.rates = tuple(rates)
        self.causal = causal
        self.conv_in = WNConv1d(1, dim, 7, padding=conv_padding(7, 1, causal))
        blocks = []
        for stride in rates:
            dim *= 2
            blocks.append(EncoderBlock(dim, stride, activation, causal))
        self.blocks = nn.ModuleList(blocks)
        self.act = make_activation(activation, dim)
        self.conv_out = WNConv1d(dim, latent_dim, 3, padding=conv_padding(3, 1, causal))
        # Inference (no autograd, float32 CPU) takes the tiled time-major path, which
        # gives the same output to float rounding, faster; False forces the reference
        # path (benchmarks, equivalence tests). Not part of the state dict.
        self.tiled_inference = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor): audio, shape (B, 1, T) -> latent, shape (B, latent_dim, frames(T))."""
        if self.tiled_inference and tiled.applies(x):
            return tiled.per_item(self.forward_tiled, x)
        x = self.conv_in(x)
        for block in self.blocks:
            x = block(x)
        return self.conv_out(self.act(x))

    def forward_tiled(self, x: torch.Tensor) -> torch.Tensor:
        """Time-major inference for one item: x (T, 1) -> (frames(T), latent_dim)."""
        x = tiled.conv(x, self.conv_in)
        for block in self.blocks:
            x = block.forward_tiled(x)
        return tiled.conv(x, self.conv_out, act=self.act)

    def frames(self, length: int) -> int:
        """Number of latent frames for an input of ``length`` samples."""
        for stride in self.rates:
            left, right = down_padding(stride, self.causal)
            length = (length + left + right - 2 * stride) // stride + 1
        return length
