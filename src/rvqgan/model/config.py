"""The generator's configuration: one frozen dataclass, the official DAC names."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class CodecConfig:
    """Everything that fixes the generator's architecture.

    The field names are the official DAC constructor arguments, so an official
    checkpoint's ``metadata.kwargs`` maps onto this class directly.

    Attributes:
        sample_rate: audio rate in Hz the model codes.
        encoder_dim: channels after the first encoder convolution (doubles per block).
        encoder_rates: stride of each encoder block; their product is the hop length.
        latent_dim: channels of the latent; ``None`` means ``encoder_dim * 2**len(rates)``.
        decoder_dim: channels after the first decoder convolution (halves per block).
        decoder_rates: upsampling factor of each decoder block.
        n_codebooks: number of residual codebooks K.
        codebook_size: codes per codebook (a power of two: bits are packed exactly).
        codebook_dim: dimension of the factorized look-up space.
        quantizer_dropout: fraction of training items with a random number of codebooks.
        activation: ``"snake"`` (paper) or ``"relu"`` (ablation).
        causal: pad every convolution on the left only (streaming variant).
    """

    sample_rate: int = 44100
    encoder_dim: int = 64
    encoder_rates: tuple[int, ...] = (2, 4, 8, 8)
    latent_dim: int | None = None
    decoder_dim: int = 1536
    decoder_rates: tuple[int, ...] = (8, 8, 4, 2)
    n_codebooks: int = 9
    codebook_size: int = 1024
    codebook_dim: int = 8
    quantizer_dropout: float = 0.5
    activation: Literal["snake", "relu"] = "snake"
    causal: bool = False

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")
        if not self.encoder_rates or any(r < 1 for r in self.encoder_rates):
            raise ValueError(f"encoder_rates must be positive integers, got {self.encoder_rates}")
        if math.prod(self.encoder_rates) != math.prod(self.decoder_rates):
            raise ValueError(
                f"encoder_rates {self.encoder_rates} and decoder_rates {self.decoder_rates} "
                "must have the same product (the hop length)"
            )
        if self.decoder_dim % 2 ** len(self.decoder_rates):
            raise ValueError(f"decoder_dim {self.decoder_dim} must be divisible by 2**{len(self.decoder_rates)}")
        if self.n_codebooks < 1 or self.codebook_dim < 1 or self.encoder_dim < 1:
            raise ValueError("n_codebooks, codebook_dim and encoder_dim must be >= 1")
        if self.codebook_size < 2 or self.codebook_size & (self.codebook_size - 1):
            raise ValueError(f"codebook_size must be a power of two >= 2, got {self.codebook_size}")
        if not 0.0 <= self.quantizer_dropout <= 1.0:
            raise ValueError(f"quantizer_dropout must be in [0, 1], got {self.quantizer_dropout}")

    @property
    def latent_channels(self) -> int:
        """The latent dimension D, with ``latent_dim=None`` resolved."""
        if self.latent_dim is not None:
            return self.latent_dim
        return self.encoder_dim * 2 ** len(self.encoder_rates)

    @property
    def hop_length(self) -> int:
        """Audio samples per code frame."""
        return math.prod(self.encoder_rates)

    @property
    def frame_rate(self) -> float:
        """Code frames per second."""
        return self.sample_rate / self.hop_length

    @property
    def bits_per_code(self) -> int:
        return int(math.log2(self.codebook_size))
