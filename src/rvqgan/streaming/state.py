"""The per-layer state of a stream: small typed dataclasses, one per layer that remembers.

A streaming session creates these when it opens and drops them when it closes; the
model's modules never hold any of it. Pointwise layers (Snake, LeakyReLU, tanh) and
1x1 convolutions remember nothing and have no state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class ConvState:
    """A causal convolution's input not yet consumed by a complete window.

    For a stride-1 convolution this is the last ``(kernel - 1) * dilation`` input samples;
    for a strided one it is also the stride phase: the samples after the last window
    start, ``left padding`` zeros at the start of a stream.

    Attributes:
        buffer (Tensor): shape (R, n, C_in), time-major like every signal in a stream.
    """

    buffer: torch.Tensor


@dataclass
class TransposedConvState:
    """The tail of a transposed convolution's last output, still owed to the next frame.

    A frame of a kernel-``2s``, stride-``s`` transposed convolution spans ``2s`` samples;
    the first ``s`` are complete once the frame arrives, the other ``s`` still need the
    next frame's contribution. They wait here (without bias, added once at emission); at
    the end of a stream they are discarded, as the causal layout trims them offline.

    Attributes:
        overlap (Tensor): shape (R, 1, s, C_out): one frame's second half.
    """

    overlap: torch.Tensor


@dataclass
class ResidualState:
    """The states of the layers inside a residual unit, in the order they run."""

    layers: list[object] = field(default_factory=list)


@dataclass
class EncoderCounters:
    """Where the encoder side of a stream stands.

    Attributes:
        samples: audio samples received per row.
        frames: code frames emitted (``samples // hop`` until a flush).
    """

    samples: int = 0
    frames: int = 0


@dataclass
class DecoderCounters:
    """Where the decoder side of a stream stands.

    Attributes:
        frames: code frames decoded.
        n_codebooks: codebooks per frame, fixed by the first non-empty ``decode_step``.
        used: ``decode_step`` was called at least once in this stream.
    """

    frames: int = 0
    n_codebooks: int | None = None
    used: bool = False
