"""The decoder: conv k7, blocks of act + transposed conv + 3 residual units, then conv k7 + tanh."""

from __future__ import annotations

import torch
from torch import nn

from rvqgan.model.encoder import DILATIONS
from rvqgan.nn import tiled
from rvqgan.nn.conv import WNConv1d, WNConvTranspose1d
from rvqgan.nn.residual import ResidualUnit, conv_padding
from rvqgan.nn.snake import make_activation


def up_trim(stride: int, causal: bool) -> tuple[int, int]:
    """Samples cut from the kernel-2s transposed conv: ceil(s/2) each side (official), or s on the right.

    With an odd stride the official layout gives ``s*L - 1`` samples instead of ``s*L``
    (it has no output padding); kept so that official weights reproduce official output.
    """
    if causal:
        return (0, stride)
    return (-(-stride // 2), -(-stride // 2))


class DecoderBlock(nn.Module):
    """act + transposed conv (channels halve, length x stride) + 3 residual units."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, activation: str, causal: bool) -> None:
        super().__init__()
        self.act = make_activation(activation, in_channels)
        self.up = WNConvTranspose1d(in_channels, out_channels, 2 * stride, stride=stride, trim=up_trim(stride, causal))
        self.res = nn.ModuleList(ResidualUnit(out_channels, d, activation, causal) for d in DILATIONS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.up(self.act(x))
        for unit in self.res:
            x = unit(x)
        return x

    def forward_tiled(self, x: torch.Tensor) -> torch.Tensor:
        """Time-major inference (:mod:`rvqgan.nn.tiled`): x (L, C_in) -> (~L * stride, C_out)."""
        if self.up.out_channels < tiled.MIN_TILED_CHANNELS:
            return tiled.channel_major(self.forward, x)
        x = tiled.conv_transpose(x, self.up, act=self.act)
        spare = torch.empty_like(x)
        for unit in self.res:
            x, spare = tiled.residual_unit(x, unit, out=spare), x
        return x


class Decoder(nn.Module):
    """Latent (B, latent_dim, L) -> audio (B, 1, ~L * hop) in [-1, 1].

    Args:
        latent_dim: input channels.
        dim: channels after the first convolution (1536 in the paper).
        rates: upsampling factors, e.g. (8, 8, 4, 2).
        activation: ``"snake"`` or ``"relu"``.
        causal: left padding only.
    """

    def __init__(self, latent_dim: int, dim: int, rates: tuple[int, ...], activation: str, causal: bool) -> None:
        super().__init__()
        self.rates = tuple(rates)
        self.causal = causal
        self.conv_in = WNConv1d(latent_dim, dim, 7, padding=conv_padding(7, 1, causal))
        blocks = []
        for i, stride in enumerate(rates):
            blocks.append(DecoderBlock(dim // 2**i, dim // 2 ** (i + 1), stride, activation, causal))
        self.blocks = nn.ModuleList(blocks)
        out_dim = dim // 2 ** len(rates)
        self.act = make_activation(activation, out_dim)
        self.conv_out = WNConv1d(out_dim, 1, 7, padding=conv_padding(7, 1, causal))
        # As Encoder.tiled_inference: False forces the reference path.
        self.tiled_inference = True

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z (Tensor): latent, shape (B, latent_dim, L) -> audio, shape (B, 1, samples(L))."""
        if self.tiled_inference and tiled.applies(z):
            return tiled.per_item(self.forward_tiled, z)
        x = self.conv_in(z)
        for block in self.blocks:
            x = block(x)
        return torch.tanh(self.conv_out(self.act(x)))

    def forward_tiled(self, z: torch.Tensor) -> torch.Tensor:
        """Time-major inference for one item: z (L, latent_dim) -> (samples(L), 1)."""
        x = tiled.conv(z, self.conv_in)
        for block in self.blocks:
            x = block.forward_tiled(x)
        return tiled.conv(x, self.conv_out, act=self.act).tanh_()

    def samples(self, frames: int) -> int:
        """Number of output samples for ``frames`` latent frames."""
        length = frames
        for stride in self.rates:
            left, right = up_trim(stride, self.causal)
            length = (length - 1) * stride + 2 * stride - left - right
        return max(length, 0)
