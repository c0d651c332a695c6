"""Streaming versions of the generator's layers, built once per session from the model.

Each step object holds its own copy of what it needs from one module (the effective
weight of a weight-normed convolution, computed once; Snake's alpha and 1/alpha) and
is stateless: the state of a stream is passed in and updated by ``step``. Nothing here
writes to the model.

Time geometry (causal layout, all padding on the left)::

    conv, kernel k, dilation d, stride s, left padding p:
        state = the inputs after the last complete window start, p zeros at the start;
        a window spans (k - 1) * d + 1 inputs; every complete one gives one output.

    transposed conv, kernel k = 2s, stride s (output trimmed by k - s on the right):
        frame t  ->  k samples at [t*s, t*s + k)
                     |-- s: emitted now --|-- k - s: kept, added to frame t+1's --|

so a stream gives exactly the offline output, one sample or frame at a time.

Layout. Inside a stream, signals are time-major, (R, T, C) (R = rows of the batch):
appending along time is then contiguous, a convolution's windows are rows of one
matrix (im2col) and every convolution is one 2-D matrix product, whose CPU kernels stay
fast for the few time steps of a frame (``conv1d`` and channel-major products do not).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from rvqgan.nn.snake import SNAKE_EPS
from rvqgan.streaming.state import ConvState, ResidualState, TransposedConvState


def _empty(x: torch.Tensor, channels: int) -> torch.Tensor:
    return x.new_zeros(x.shape[0], 0, channels)


@dataclass(frozen=True, eq=False)
class SnakeStep:
    """Snake, pointwise: ``x + 1/(alpha + eps) * sin^2(alpha x)``, in four operations.

    Attributes:
        alpha (Tensor): shape (C,).
        inverse (Tensor): ``1 / (alpha + eps)``, shape (C,).
    """

    alpha: torch.Tensor
    inverse: torch.Tensor

    @classmethod
    def from_alpha(cls, alpha: torch.Tensor) -> SnakeStep:
        """alpha (Tensor): the module's parameter, shape (1, C, 1)."""
        alpha = alpha.detach().reshape(-1)
        return cls(alpha, (alpha + SNAKE_EPS).reciprocal())

    def new_state(self, rows: int) -> None:
        return None

    def step(self, x: torch.Tensor, state: None) -> torch.Tensor:
        y = torch.sin(x * self.alpha)
        return torch.addcmul(x, y.mul_(y), self.inverse)


@dataclass(frozen=True, eq=False)
class PointwiseStep:
    """Any other pointwise function (LeakyReLU, tanh): no state."""

    fn: Callable[[torch.Tensor], torch.Tensor]

    def new_state(self, rows: int) -> None:
        return None

    def step(self, x: torch.Tensor, state: None) -> torch.Tensor:
        return self.fn(x)


def affine(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``x @ weight.T + bias``: x (R, n, C_in), weight (C_out, C_in) -> (R, n, C_out), as one 2-D product.

    A single row (one frame at the latent rate) is a matrix-vector product, which BLAS does
    several times faster from the (C_out, C_in) layout than as a 1-row matrix product.
    """
    rows, n, channels = x.shape
    out = weight.shape[0]
    if rows * n == 1:
        vector = x.reshape(channels)
        y = torch.mv(weight, vector) if bias is None else torch.addmv(bias, weight, vector)
        return y.view(1, 1, out)
    flat = x.reshape(rows * n, channels)
    y = torch.mm(flat, weight.t()) if bias is None else torch.addmm(bias, flat, weight.t())
    return y.view(rows, n, out)


def _windows(x: torch.Tensor, taps: int, dilation: int, stride: int, count: int) -> torch.Tensor:
    """im2col, time-major: x (R, L, C) -> (R, count, taps * C), row j holding window j's inputs."""
    rows, length, channels = x.shape
    x = x.contiguous()
    view = x.as_strided((rows, count, taps, channels), (length * channels, stride * channels, dilation * channels, 1))
    return view.reshape(rows, count, taps * channels)


@dataclass(frozen=True, eq=False)
class ConvStep:
    """A causal convolution (any kernel, dilation, stride; left padding only).

    Computed as one matrix product over the complete windows (im2col): for the short
    inputs of a stream this is several times faster than ``conv1d``, whose CPU kernels
    are tuned for long signals (dilated ones fall back to a slow loop).

    Attributes:
        matrix (Tensor): the weight (C_out, C_in, k) as (C_out, k * C_in), tap-major.
        bias (Tensor | None): shape (C_out,).
        taps: kernel size k.
        stride, dilation: as ``Conv1d``.
        left: zeros padded before the stream (the offline layer's left padding).
    """

    matrix: torch.Tensor
    bias: torch.Tensor | None
    taps: int
    stride: int
    dilation: int
    left: int

    @classmethod
    def from_weight(
        cls, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, dilation: int, left: int
    ) -> ConvStep:
        """weight (C_out, C_in, k), bias (C_out,)."""
        matrix = weight.permute(0, 2, 1).reshape(weight.shape[0], -1).contiguous()
        return cls(matrix, bias, weight.shape[-1], stride, dilation, left)

    @property
    def span(self) -> int:
        """Inputs one window covers."""
        return (self.taps - 1) * self.dilation + 1

    @property
    def pointwise(self) -> bool:
        return self.span == 1 and self.stride == 1 and self.left == 0

    def new_state(self, rows: int) -> ConvState | None:
        if self.pointwise:
            return None
        channels = self.matrix.shape[1] // self.taps
        return ConvState(self.matrix.new_zeros(rows, self.left, channels))

    def step(self, x: torch.Tensor, state: ConvState | None) -> torch.Tensor:
        """x (Tensor): shape (R, n, C_in), n >= 0 -> (R, complete windows, C_out)."""
        if state is None:
            return affine(x, self.matrix, self.bias) if x.shape[1] else _empty(x, self.matrix.shape[0])
        joined = torch.cat((state.buffer, x), dim=1) if state.buffer.shape[1] else x
        span, stride = self.span, self.stride
        count = (joined.shape[1] - span) // stride + 1 if joined.shape[1] >= span else 0
        state.buffer = joined[:, count * stride :]
        if count == 0:
            return _empty(x, self.matrix.shape[0])
        return affine(_windows(joined, self.taps, self.dilation, stride, count), self.matrix, self.bias)


@dataclass(frozen=True, eq=False)
class TransposedConvStep:
    """A transposed convolution of kernel ``2 s``, stride ``s``, whose second half overlaps the next frame.

    One matrix product gives every input frame's ``2 s`` output samples; the first
    half of frame ``t`` plus the second half of frame ``t - 1`` (the state, for the
    first frame of a call) are the ``s`` output samples of frame ``t``.

    Attributes:
        matrix (Tensor): the weight (C_in, C_out, 2s) as (2s * C_out, C_in).
        bias (Tensor | None): shape (C_out,).
        stride: the upsampling factor s.
    """

    matrix: torch.Tensor
    bias: torch.Tensor | None
    stride: int

    @classmethod
    def from_weight(cls, weight: torch.Tensor, bias: torch.Tensor | None, stride: int) -> TransposedConvStep:
        """weight (C_in, C_out, 2 * stride), bias (C_out,)."""
        matrix = weight.permute(2, 1, 0).reshape(-1, weight.shape[0]).contiguous()
        return cls(matrix, bias, stride)

    @property
    def out_channels(self) -> int:
        return self.matrix.shape[0] // (2 * self.stride)

    def new_state(self, rows: int) -> TransposedConvState:
        return TransposedConvState(self.matrix.new_zeros(rows, 1, self.stride, self.out_channels))

    def step(self, x: torch.Tensor, state: TransposedConvState) -> torch.Tensor:
        """x (Tensor): shape (R, m, C_in) -> (R, m * stride, C_out)."""
        rows, frames, _ = x.shape
        if frames == 0:
            return _empty(x, self.out_channels)
        s, channels = self.stride, self.out_channels
        pieces = affine(x, self.matrix, None).view(rows, frames, 2, s, channels)
        first, second = pieces[:, :, 0], pieces[:, :, 1]
        # Frame t's output: its first half + frame t-1's second half (the state, for t = 0).
        previous = torch.cat((state.overlap, second[:, :-1]), dim=1) if frames > 1 else state.overlap
        state.overlap = second[:, -1:]
        out = first + previous
        if self.bias is not None:
            out.add_(self.bias)
        return out.view(rows, frames * s, channels)


@dataclass(frozen=True, eq=False)
class ResidualStep:
    """``x + layers(x)``: every inner layer keeps the length (stride 1, causal)."""

    layers: tuple

    def new_state(self, rows: int) -> ResidualState:
        return ResidualState([layer.new_state(rows) for layer in self.layers])

    def step(self, x: torch.Tensor, state: ResidualState) -> torch.Tensor:
        if x.shape[1] == 0:
            return x
        y = x
        for layer, layer_state in zip(self.layers, state.layers):
            y = layer.step(y, layer_state)
        return x + y


@dataclass(frozen=True, eq=False)
class SequenceStep:
    """Layers run one after the other; the state is the list of their states."""

    layers: tuple

    def new_state(self, rows: int) -> list[object]:
        return [layer.new_state(rows) for layer in self.layers]

    def step(self, x: torch.Tensor, state: list[object]) -> torch.Tensor:
        for layer, layer_state in zip(self.layers, state):
            x = layer.step(x, layer_state)
        return x
