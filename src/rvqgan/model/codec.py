"""The Improved RVQGAN generator: encoder -> residual VQ -> decoder."""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from rvqgan.errors import InputError
from rvqgan.model.config import CodecConfig
from rvqgan.model.decoder import Decoder
from rvqgan.model.encoder import Encoder
from rvqgan.quantize.rvq import ResidualVectorQuantizer

if TYPE_CHECKING:
    from rvqgan.streaming import StreamingSession, StreamTail


@dataclass
class CodecOutput:
    """The training forward pass.

    Attributes:
        audio: reconstruction, shape (B, 1, T), the input's length.
        codes: shape (B, K, frames), int64.
        latents: projected latents of each codebook, (B, K * codebook_dim, frames).
        z: quantized latent fed to the decoder, (B, latent_dim, frames).
        commitment_loss: scalar.
        codebook_loss: scalar.
        n_quantizers: shape (B,), codebooks used by each item.
    """

    audio: torch.Tensor
    codes: torch.Tensor
    latents: torch.Tensor
    z: torch.Tensor
    commitment_loss: torch.Tensor
    codebook_loss: torch.Tensor
    n_quantizers: torch.Tensor


def check_audio(audio: torch.Tensor) -> None:
    """Raise :class:`InputError` unless ``audio`` is a finite float (B, 1, T) tensor."""
    if not isinstance(audio, torch.Tensor):
        raise InputError(f"audio must be a torch.Tensor, got {type(audio).__name__}")
    if not audio.dtype.is_floating_point:
        raise InputError(f"audio must be a float tensor, got {audio.dtype}")
    if audio.dim() != 3 or audio.shape[1] != 1:
        raise InputError(f"audio must have shape (B, 1, T) (one channel per item), got {tuple(audio.shape)}")
    if audio.numel() and not torch.isfinite(audio).all():
        raise InputError("audio contains NaN or Inf samples")


class Codec(nn.Module):
    """Improved RVQGAN (DAC) generator.

    Example:
        >>> model = Codec(CodecConfig(encoder_dim=4, decoder_dim=16, n_codebooks=3,
        ...                           codebook_size=16)).eval()
        >>> codes = model.encode(torch.zeros(1, 1, 1000))
        >>> tuple(codes.shape)
        (1, 3, 2)
        >>> tuple(model.decode(codes).shape)
        (1, 1, 1024)
    """

    def __init__(self, config: CodecConfig) -> None:
        super().__init__()
        self.config = config
        latent = config.latent_channels
        self.encoder = Encoder(config.encoder_dim, config.encoder_rates, latent, config.activation, config.causal)
        self.quantizer = ResidualVectorQuantizer(
            latent, config.n_codebooks, config.codebook_size, config.codebook_dim, config.quantizer_dropout
        )
        self.decoder = Decoder(latent, config.decoder_dim, config.decoder_rates, config.activation, config.causal)
        # Identity of the weights, set by the checkpoint loader; written into .rvq headers
        # so that a file names the model that can decode it.
        self.name: str = "unnamed"
        self.content_hash: str | None = None

    # -- facts of the model -------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    @property
    def frame_rate(self) -> float:
        return self.config.frame_rate

    @property
    def n_codebooks(self) -> int:
        return self.config.n_codebooks

    @property
    def codebook_size(self) -> int:
        return self.config.codebook_size

    @property
    def is_causal(self) -> bool:
        return self.config.causal

    def bitrate(self, n_quantizers: int | None = None) -> float:
        """Nominal bitrate in bits per second with the first ``n_quantizers`` codebooks."""
        n = self.quantizer.check_n_quantizers(n_quantizers)
        return n * math.log2(self.codebook_size) * self.frame_rate

    def n_frames(self, length: int) -> int:
        """Frames :meth:`encode` returns for ``length`` samples: ceil(length / hop)."""
        return -(-length // self.hop_length)

    def decoded_length(self, frames: int) -> int:
        """Samples :meth:`decode` returns for ``frames`` frames (``frames * hop`` for even strides)."""
        return self.decoder.samples(frames) if frames else 0

    # -- inference ----------------------------------------------------------------------
    def pad_to_hop(self, audio: torch.Tensor) -> torch.Tensor:
        """Right-pad (B, C, T) with zeros to a multiple of the hop length."""
        extra = self.n_frames(audio.shape[-1]) * self.hop_length - audio.shape[-1]
        return F.pad(audio, (0, extra)) if extra else audio

    @torch.no_grad()
    def encode(self, audio: torch.Tensor, n_quantizers: int | None = None) -> torch.Tensor:
        """Audio to codes.

        Args:
            audio (Tensor): shape (B, 1, T), float, at ``sample_rate``; right-padded with
                zeros to a multiple of ``hop_length``.
            n_quantizers: number of codebooks to return (default all).

        Returns:
            Tensor: codes, shape (B, n_quantizers, ceil(T / hop_length)), int64.
        """
        check_audio(audio)
        n = self.quantizer.check_n_quantizers(n_quantizers)
        if audio.shape[-1] == 0:
            return torch.zeros(audio.shape[0], n, 0, dtype=torch.long, device=audio.device)
        z = self.encoder(self.pad_to_hop(audio))
        return self.quantizer.encode(z, n)

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes to audio.

        Args:
            codes (Tensor): shape (B, K', frames), integer, any K' <= n_codebooks.

        Returns:
            Tensor: audio, shape (B, 1, decoded_length(frames)), float in [-1, 1].
        """
        self.quantizer.check_codes(codes)
        if codes.shape[-1] == 0:
            return torch.zeros(codes.shape[0], 1, 0, device=codes.device)
        return self.decoder(self.quantizer.decode(codes.long()))

    # -- streaming (causal models; the work is done in rvqgan.streaming) ----------------
    def streaming(
        self, batch_size: int = 1, *, channels: int = 1, n_quantizers: int | None = None
    ) -> AbstractContextManager[StreamingSession]:
        """Open a stream: inside the ``with`` block, use the ``*_step`` methods and :meth:`flush`.

        The session holds all state; the model is not modified. See ``docs/streaming.md``.

        Example:
            >>> model = Codec(CodecConfig(encoder_dim=4, decoder_dim=16, n_codebooks=3,
            ...                           codebook_size=16, causal=True)).eval()
            >>> with model.streaming(batch_size=1):
            ...     codes = model.encode_step(torch.zeros(1, 1, 1000))
            ...     audio = model.decode_step(codes)
            ...     tail = model.flush()
            >>> tuple(codes.shape), tuple(audio.shape), tuple(tail.codes.shape), tuple(tail.audio.shape)
            ((1, 3, 1), (1, 1, 512), (1, 3, 1), (1, 1, 488))

        Args:
            batch_size: B, items per chunk.
            channels: C, channels per item; each is coded as a mono stream (codes rows
                ``b * C + c``).
            n_quantizers: codebooks per frame from :meth:`encode_step` (default all).

        Raises:
            StreamingError: the model is not causal (``is_causal`` is False).
        """
        from rvqgan.streaming import streaming

        return streaming(self, batch_size, channels=channels, n_quantizers=n_quantizers)

    def encode_step(self, chunk: torch.Tensor) -> torch.Tensor:
        """Streaming encode: audio (B, C, n), any n >= 0 -> codes (B * C, K, frames completed), int64."""
        from rvqgan.streaming import active_session

        return active_session(self, "encode_step").encode_step(chunk)

    def decode_step(self, codes: torch.Tensor) -> torch.Tensor:
        """Streaming decode: codes (B * C, K, m) -> audio (B, C, m * hop_length)."""
        from rvqgan.streaming import active_session

        return active_session(self, "decode_step").decode_step(codes)

    def flush(self) -> StreamTail:
        """End the stream: the zero-padded partial last frame's codes, and the audio still owed."""
        from rvqgan.streaming import active_session

        return active_session(self, "flush").flush()

    # -- training -----------------------------------------------------------------------
    def forward(self, audio: torch.Tensor, n_quantizers: int | None = None) -> CodecOutput:
        """Training forward: encode, quantize (with quantizer dropout in training mode), decode.

        Args:
            audio (Tensor): shape (B, 1, T), float.
            n_quantizers: codebooks for every item; ``None`` in training mode means
                quantizer dropout, in eval mode all codebooks.
        """
        check_audio(audio)
        length = audio.shape[-1]
        if length == 0:
            raise InputError("cannot run the model on zero-length audio")
        z = self.encoder(self.pad_to_hop(audio))
        q = self.quantizer(z, n_quantizers)
        audio_hat = self.decoder(q.z_q)
        if audio_hat.shape[-1] < length:
            audio_hat = F.pad(audio_hat, (0, length - audio_hat.shape[-1]))
        return CodecOutput(
            audio=audio_hat[..., :length],
            codes=q.codes,
            latents=q.latents,
            z=q.z_q,
            commitment_loss=q.commitment_loss,
            codebook_loss=q.codebook_loss,
            n_quantizers=q.n_quantizers,
        )
