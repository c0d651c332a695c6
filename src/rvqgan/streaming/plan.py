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
    affine,
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
    """Audio (R, n, 1) -> latent frames (R, frames completed, D), in the module order."""
    steps: list[object] = [conv_step(encoder.conv_in, "encoder.conv_in")]
    for i, block in enumerate(encoder.blocks):
        name = f"encoder.blocks.{i}"
        steps += [residual_step(unit, f"{name}.res.{j}") for j, unit in enumerate(block.res)]
        steps += [activation_step(block.act, f"{name}.act"), conv_step(block.down, f"{name}.down")]
    steps += [activation_step(encoder.act, "encoder.act"), conv_step(encoder.conv_out, "encoder.conv_out")]
    return SequenceStep(tuple(steps))


def decoder_steps(decoder: Decoder) -> SequenceStep:
    """Quantized latent (R, m, D) -> audio (R, m * hop, 1), in the module order."""
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
    """One codebook, precomputed for frame-rate use; time-major like the layers.

    Attributes:
        in_weight, in_bias: the 1x1 projection down to ``codebook_dim``, as (d, D), (d,).
        normed (Tensor | None): the L2-normalized codebook (size, d) for the cosine
            look-up, or ``None`` when the codebook has its own look-up rule (the EMA
            variant, whose ``lookup`` is then called).
        outputs (Tensor): every code's contribution to the latent, ``out_proj(code)``,
            shape (size, D): a look-up replaces the embedding and the projection.
        module: the codebook module.
    """

    in_weight: torch.Tensor
    in_bias: torch.Tensor | None
    normed: torch.Tensor | None
    outputs: torch.Tensor
    module: VectorQuantizer

    @classmethod
    def of(cls, q: VectorQuantizer) -> CodebookStep:
        with torch.no_grad():
            table = q.codebook.weight.detach()
            # Only the paper's quantizer is known to look up by cosine; a subclass keeps its own rule.
            normed = F.normalize(table, dim=-1) if type(q) is VectorQuantizer else None
            out_bias = None if q.out_proj.bias is None else q.out_proj.bias.detach()
            outputs = F.linear(table, _weight(q.out_proj)[..., 0], out_bias)
        in_bias = None if q.in_proj.bias is None else q.in_proj.bias.detach()
        return cls(_weight(q.in_proj)[..., 0].contiguous(), in_bias, normed, outputs.contiguous(), q)

    def lookup(self, z_e: torch.Tensor) -> torch.Tensor:
        """z_e (R, m, d) -> codes (R, m): the code of highest cosine similarity.

        Normalizing ``z_e`` scales each frame's scores by one positive number, which
        leaves the argmax unchanged, so only the codebook side is normalized.
        """
        if self.normed is None:
            return self.module.lookup(z_e.transpose(1, 2))
        return affine(z_e, self.normed, None).argmax(dim=-1)


@dataclass(frozen=True, eq=False)
class QuantizerStep:
    """The residual quantizer at frame rate (it has no state): ``ResidualVectorQuantizer`` in fewer operations.

    Attributes:
        codebooks: one :class:`CodebookStep` per codebook.
        outputs (Tensor): all codebooks' ``outputs`` stacked, (K * size, D), for decoding
            every codebook in one look-up (code ``c`` of codebook ``i`` is row ``i * size + c``).
        offsets (Tensor): ``i * size`` for each codebook, shape (K, 1).
    """

    codebooks: tuple[CodebookStep, ...]
    outputs: torch.Tensor
    offsets: torch.Tensor

    @classmethod
    def of(cls, rvq: ResidualVectorQuantizer) -> QuantizerStep:
        books = tuple(CodebookStep.of(q) for q in rvq.quantizers)
        size = books[0].outputs.shape[0]
        offsets = torch.arange(len(books), device=books[0].outputs.device)[:, None] * size
        return cls(books, torch.cat([b.outputs for b in books]), offsets)

    def encode(self, z: torch.Tensor, n: int) -> torch.Tensor:
        """Latent (R, m, D) -> codes (R, n, m), int64, as ``ResidualVectorQuantizer.encode``."""
        residual, codes = z, []
        for i, book in enumerate(self.codebooks[:n]):
            codes_i = book.lookup(affine(residual, book.in_weight, book.in_bias))
            codes.append(codes_i)
            if i + 1 < n:
                residual = residual - F.embedding(codes_i, book.outputs)
        return torch.stack(codes, dim=1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (R, K', m) -> quantized latent (R, m, D): the sum of each codebook's output."""
        rows = codes + self.offsets[: codes.shape[1]]
        return F.embedding(rows, self.outputs).sum(dim=1)
