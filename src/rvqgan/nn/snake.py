"""The Snake activation, ``x + 1/(alpha + eps) * sin^2(alpha * x)``, alpha per channel."""

from __future__ import annotations

import torch
from torch import nn

# The official DAC adds 1e-9 to alpha before taking the reciprocal; keeping the same
# epsilon is what makes imported official weights give bit-comparable outputs.
SNAKE_EPS = 1e-9


def snake(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Apply Snake.

    Args:
        x (Tensor): shape (B, C, T).
        alpha (Tensor): shape (1, C, 1), the learned frequency per channel.
    """
    return x + (alpha + SNAKE_EPS).reciprocal() * torch.sin(alpha * x).pow(2)


class Snake(nn.Module):
    """Snake with one learned ``alpha`` per channel, initialised to 1."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return snake(x, self.alpha)

    def channel_params(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``alpha`` and ``1 / (alpha + eps)``, each shape (C,), for time-major (T, C) signals.

        The reciprocal is the reference's own expression, so time-major Snake
        (:func:`rvqgan.nn.tiled.activate`) is bitwise identical to :func:`snake`.
        """
        alpha = self.alpha.detach().reshape(-1)
        return alpha, (alpha + SNAKE_EPS).reciprocal()


def make_activation(kind: str, channels: int) -> nn.Module:
    """``"snake"`` (the paper) or ``"relu"`` (the paper's ablation, as LeakyReLU 0.1)."""
    if kind == "snake":
        return Snake(channels)
    if kind == "relu":
        return nn.LeakyReLU(0.1)
    raise ValueError(f"unknown activation {kind!r}; expected 'snake' or 'relu'")
