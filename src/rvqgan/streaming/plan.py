"""Build the streaming step objects of a model's encoder, quantizer and decoder.

The builders read the modules (never write them): each convolution's effective weight
is computed once here, so a step costs no weight-norm arithmetic and an unfolded model
streams as fast as a folded one. A layer that is not causal (padding or trim on the
right) is refused with :class:`StreamingError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from rvqgan.model.decoder import Decoder
from rvqgan.model.encoder import Encoder
from rvqgan.nn.conv import WNConv1d, WNConvTranspose1d
from rvqgan.nn.residual import ResidualUnit
from rvqgan.nn.snake import Snake
from rvqgan.quantize.rvq import ResidualVectorQuantizer
from rvqgan.quantize.vq import VectorQuantizer
from rvqgan.streaming.errors import StreamingError
from rvqgan.streaming.layers import (
    ConvStep,
    PointwiseStep,
    ResidualStep,
    SequenceStep,
    SnakeStep,
    TransposedConvStep,
)


def _weight(module: WNConv1d | WNConvTranspose1d) -> torch.Tensor:
    with torch.no_grad():
        return module.effective_weight().detach().contiguous()


def conv_step(module: WNConv1d, name: str) -> ConvStep:
    """The streaming step of a causal ``WNConv1d``."""
    left, right = module.padding
    if right:
        raise StreamingError(f"layer {name} pads {right} samples on the right (it looks ahead): not causal")
    bias = None if module.bias is None else module.bias.detach()
    return ConvStep.from_weight(_weight(module), bias, module.stride, module.dilation, left)


def transposed_step(module: WNConvTranspose1d, name: str) -> TransposedConvStep:
    """The streaming step of a kernel-2s ``WNConvTranspose1d`` trimmed by ``stride`` on the right."""
    if module.kernel_size != 2 * module.stride:
        raise StreamingError(f"layer {name}: streaming handles kernel = 2 x stride, got {module.kernel_size}")
    if module.trim != (0, module.stride):
        raise StreamingError(
            f"layer {name} trims {module.trim} samples from (start, end) of its output; streaming needs "
            f"(0, stride) = (0, {module.stride}): not causal"
        )
    bias = None if module.bias is None else module.bias.detach()
    return TransposedConvStep.from_weight(_weight(module), bias, module.stride)


def activation_step(module: nn.Module, name: str) -> SnakeStep | PointwiseStep:
    """Snake or LeakyReLU (the two activations of the generator)."""
    if isinstance(module, Snake):
        return SnakeStep.from_alpha(module.alpha)
    if isinstance(module, nn.LeakyReLU):
        slope = module.negative_slope
        return PointwiseStep(lambda x: F.leaky_relu(x, slope))
    raise StreamingError(f"layer {name} ({type(module).__name__}) has no streaming version")


def residual_step(unit: ResidualUnit, name: str) -> ResidualStep:
    return ResidualStep(
        (
            activation_step(unit.act1, f"{name}.act1"),
            conv_step(unit.conv1, f"{name}.conv1"),
            activation_step(unit.act2, f"{name}.act2"),
            conv_step(unit.conv2, f"{name}.conv2"),
        )
    )


def encoder_steps(encoder: Encoder) -> SequenceStep:
    """Audio (R, 1, n) -> latent frames (R, D, frames completed), in the module order."""
    steps: list[object] = [conv_step(encoder.conv_in, "encoder.conv_in")]
    for i, block in enumerate(encoder.blocks):
        name = f"encoder.blocks.{i}"
        steps += [residual_step(unit, f"{name}.res.{j}") for j, unit in enumerate(block.res)]
        steps += [activation_step(block.act, f"{name}.act"), conv_step(block.down, f"{name}.down")]
    steps += [activation_step(encoder.act, "encoder.act"), conv_step(encoder.conv_out, "encoder.conv_out")]
    return SequenceStep(tuple(steps))


def decoder_steps(decoder: Decoder) -> SequenceStep:
    """Quantized latent (R, D, m) -> audio (R, 1, m * hop), in the module order."""
    steps: list[object] = [conv_step(decoder.conv_in, "decoder.conv_in")]
    for i, block in enumerate(decoder.blocks):
        name = f"decoder.blocks.{i}"
        steps += [activation_step(block.act, f"{name}.act"), transposed_step(block.up, f"{name}.up")]
        steps += [residual_step(unit, f"{name}.res.{j}") for j, unit in enumerate(block.res)]
    steps += [activation_step(decoder.act, "decoder.act"), conv_step(decoder.conv_out, "decoder.conv_out")]
    steps.append(PointwiseStep(torch.tanh))
    return SequenceStep(tuple(steps))


@dataclass(frozen=True, eq=False)
class CodebookStep:
    """One codebook's projections and table, precomputed.

    Attributes:
        in_weight, in_bias: the 1x1 projection down to ``codebook_dim``.
        out_weight, out_bias: the 1x1 projection back up.
        table (Tensor): codebook, shape (codebook_size, codebook_dim).
        normed (Tensor | None): the L2-normalized table for the cosine look-up, or
            ``None`` when the codebook has its own look-up (the EMA variant).
        module: the codebook module, whose ``lookup`` is used when ``normed`` is None.
    """

    in_weight: torch.Tensor
    in_bias: torch.Tensor | None
    out_weight: torch.Tensor
    out_bias: torch.Tensor | None
    table: torch.Tensor
    normed: torch.Tensor | None
    module: VectorQuantizer

    @classmethod
    def of(cls, q: VectorQuantizer) -> CodebookStep:
        table = q.codebook.weight.detach()
        # Only the paper's quantizer is known to look up by cosine; a subclass keeps its own rule.
        normed = F.normalize(table, dim=-1) if type(q) is VectorQuantizer else None
        bias = [None if m.bias is None else m.bias.detach() for m in (q.in_proj, q.out_proj)]
        return cls(_weight(q.in_proj), bias[0], _weight(q.out_proj), bias[1], table, normed, q)

    def lookup(self, z_e: torch.Tensor) -> torch.Tensor:
        """z_e (R, d, m) -> codes (R, m); the same operations as ``VectorQuantizer.lookup``."""
        if self.normed is None:
            return self.module.lookup(z_e)
        return (F.normalize(z_e.transpose(1, 2), dim=-1) @ self.normed.t()).argmax(dim=-1)

    def embed_out(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (R, m) -> this codebook's part of the latent, (R, D, m)."""
        return F.conv1d(F.embedding(codes, self.table).transpose(1, 2), self.out_weight, self.out_bias)


@dataclass(frozen=True, eq=False)
class QuantizerStep:
    """The residual quantizer, frame-local (it has no state): what ``ResidualVectorQuantizer`` does."""

    codebooks: tuple[CodebookStep, ...]

    @classmethod
    def of(cls, rvq: ResidualVectorQuantizer) -> QuantizerStep:
        return cls(tuple(CodebookStep.of(q) for q in rvq.quantizers))

    def encode(self, z: torch.Tensor, n: int) -> torch.Tensor:
        """Latent (R, D, m) -> codes (R, n, m), int64, as ``ResidualVectorQuantizer.encode``."""
        residual, codes = z, []
        for i, book in enumerate(self.codebooks[:n]):
            z_e = F.conv1d(residual, book.in_weight, book.in_bias)
            codes_i = book.lookup(z_e)
            codes.append(codes_i)
            if i + 1 < n:
                z_q = F.embedding(codes_i, book.table).transpose(1, 2)
                # z_e + (z_q - z_e), not z_q: the offline path's straight-through value, bit for bit.
                residual = residual - F.conv1d(z_e + (z_q - z_e), book.out_weight, book.out_bias)
        return torch.stack(codes, dim=1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (R, K', m) -> quantized latent (R, D, m), as ``ResidualVectorQuantizer.decode``."""
        z_q = self.codebooks[0].embed_out(codes[:, 0])
        for i in range(1, codes.shape[1]):
            z_q = z_q + self.codebooks[i].embed_out(codes[:, i])
        return z_q
