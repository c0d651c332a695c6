"""The Snake activation, ``x + 1/(alpha + eps) * sin^2(alpha * x)``, alpha per channel.

Eager PyTorch would run Snake as five operations, each allocating its output, and autograd
would keep three of those intermediates for the backward pass and walk back through five
nodes (``mul``, ``sin``, ``pow``, ``mul``, ``add``), one of them a ``cos``. Here the forward
is the same five operations in the same order, in place on one fresh tensor, so its output
is bitwise the reference expression's; and the backward is written out:

* ``dy/dx = 1 + 2 sin(ax) cos(ax) = 1 + sin(2ax)``: one ``sin``, in place;
* ``dy/da = x sin(2ax) / (a + eps) - sin^2(ax) / (a + eps)^2``, summed over batch and time,
  only when ``alpha`` needs a gradient (training; the encoder's search freezes it).

Only ``x`` and ``alpha`` are saved, where autograd kept three activations' worth. On two
CPU threads this makes the encoder's search (:mod:`rvqgan.inference.refine`) about a fifth
faster (``benchmarks/refine_speed.py``); ``benchmarks/snake_speed.py`` times the activation
alone, forward and backward, against the eager expression.
"""

from __future__ import annotations

import torch
from torch import nn

# The official DAC adds 1e-9 to alpha before taking the reciprocal; keeping the same
# epsilon is what makes imported official weights give bitwise-comparable outputs.
SNAKE_EPS = 1e-9


def snake_reference(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Snake as one eager expression (autograd differentiates it): the definition that
    :func:`snake` reproduces bitwise, kept for tests and benchmarks."""
    return x + (alpha + SNAKE_EPS).reciprocal() * torch.sin(alpha * x).pow(2)


def _snake_forward(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """:func:`snake_reference`'s operations in its order, in place on one new tensor."""
    y = alpha * x
    y.sin_().square_().mul_((alpha + SNAKE_EPS).reciprocal())
    return y.add_(x)


class _Snake(torch.autograd.Function):
    """Snake with the closed-form backward of the module docstring."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, alpha)
        return _snake_forward(x, alpha)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        x, alpha = ctx.saved_tensors
        grad_sin_2ax = torch.mul(x, 2 * alpha).sin_().mul_(grad)  # grad * sin(2ax)
        grad_x = grad + grad_sin_2ax if ctx.needs_input_grad[0] else None
        grad_alpha = None
        if ctx.needs_input_grad[1]:
            inverse = (alpha + SNAKE_EPS).reciprocal()
            grad_sin2_ax = torch.mul(alpha, x).sin_().square_().mul_(grad)  # grad * sin^2(ax)
            batch_and_time = (0, 2)
            grad_alpha = (inverse * (grad_sin_2ax * x).sum(dim=batch_and_time, keepdim=True)
                          - inverse.square() * grad_sin2_ax.sum(dim=batch_and_time, keepdim=True)).reshape(alpha.shape)
        return grad_x, grad_alpha


def snake(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Apply Snake: bitwise :func:`snake_reference`, with the fused backward when a gradient
    is needed (module docstring).

    Args:
        x (Tensor): shape (B, C, T).
        alpha (Tensor): shape (1, C, 1), the learned frequency per channel.
    """
    if torch.is_grad_enabled() and (x.requires_grad or alpha.requires_grad):
        return _Snake.apply(x, alpha)
    return _snake_forward(x, alpha)


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
