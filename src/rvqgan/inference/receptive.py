"""How far the encoder and decoder see, computed from the layers of the model.

Chunked inference needs, for a run of output frames (or samples), the range of input
it depends on. It is found by walking the convolutions of a network from its output
back to its input, widening an interval of positions at each layer:

    conv (stride s, kernel k, dilation d, left padding l):
        outputs [a, b] <- inputs [a*s - l, b*s - l + (k-1)*d]
    transposed conv (stride s, kernel k, left trim l):   output o = j*s + t - l, 0 <= t < k
        outputs [a, b] <- inputs [ceil((a + l - k + 1) / s), floor((b + l) / s)]

Pointwise layers (Snake, LeakyReLU, tanh) do not widen it. A residual unit's skip path
is the identity, whose interval lies inside its convolution path's (the kernel covers
the position itself whether the padding is centred or causal), so walking the layers in
the order the modules are registered -- the order they run in, for :class:`Encoder` and
:class:`Decoder` -- gives each block's exact reach. A test checks the result against
the positions a perturbation actually reaches.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from rvqgan.errors import InputError
from rvqgan.model.codec import Codec
from rvqgan.nn.conv import WNConv1d, WNConvTranspose1d


@dataclass(frozen=True)
class Layer:
    """The temporal geometry of one convolution."""

    kernel_size: int
    stride: int
    dilation: int
    left: int  # padding before the input (conv), or samples trimmed from the output start (transposed)
    transposed: bool

    def inputs_of(self, a: int, b: int) -> tuple[int, int]:
        """Input positions that outputs ``a..b`` (inclusive) depend on."""
        s, k, d, left = self.stride, self.kernel_size, self.dilation, self.left
        if self.transposed:
            return -((-(a + left - (k - 1) * d)) // s), (b + left) // s
        return a * s - left, b * s - left + (k - 1) * d


def _geometry(module: nn.Module) -> Layer | None:
    """The :class:`Layer` of a convolution, ``None`` for a layer that works pointwise in time."""
    if isinstance(module, WNConv1d):
        return Layer(module.kernel_size, module.stride, module.dilation, module.padding[0], False)
    if isinstance(module, WNConvTranspose1d):
        return Layer(module.kernel_size, module.stride, 1, module.trim[0], True)
    if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)) and isinstance(module.padding, tuple):
        transposed = isinstance(module, nn.ConvTranspose1d)
        return Layer(module.kernel_size[0], module.stride[0], module.dilation[0], module.padding[0], transposed)
    if hasattr(module, "kernel_size") or isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
        raise InputError(f"cannot work out the reach of layer {type(module).__name__}; chunked inference needs it")
    return None


def layers(network: nn.Module) -> list[Layer]:
    """The convolutions of ``network`` in the order they run (registration order)."""
    return [g for m in network.modules() if (g := _geometry(m)) is not None]


def reach(network: nn.Module, first: int, last: int) -> tuple[int, int]:
    """Input positions that outputs ``first..last`` of ``network`` depend on (ignoring its edges)."""
    for layer in reversed(layers(network)):
        first, last = layer.inputs_of(first, last)
    return first, last


@dataclass(frozen=True)
class Context:
    """Frames of context a chunk needs on each side so that its centre is exact."""

    left: int
    right: int


def encoder_context(model: Codec) -> Context:
    """Context, in frames (hops of input), for chunked encoding.

    Frame ``f`` depends on input samples ``f*hop + lo .. f*hop + hi``; a window that
    starts ``ceil(-lo / hop)`` frames before the first kept frame and ends
    ``ceil((hi + 1 - hop) / hop)`` frames after the last one holds all of them.
    """
    hop = model.hop_length
    lo, hi = reach(model.encoder, 0, 0)
    return Context(left=max(0, -(lo // hop)), right=max(0, -(-(hi + 1 - hop) // hop)))


def decoder_context(model: Codec) -> Context:
    """Context, in frames, for chunked decoding.

    The ``hop`` samples of frame 0 depend on frames ``lo .. hi``; samples of frames
    ``f0 .. f1-1`` therefore on frames ``f0 + lo .. f1 - 1 + hi``.
    """
    lo, hi = reach(model.decoder, 0, model.hop_length - 1)
    return Context(left=max(0, -lo), right=max(0, hi))
