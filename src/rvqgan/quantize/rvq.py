"""Residual VQ: each codebook quantizes what the previous ones left, with quantizer dropout."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rvqgan.errors import InputError
from rvqgan.quantize.vq import VectorQuantizer


@dataclass
class QuantizerOutput:
    """What the residual quantizer returns.

    Attributes:
        z_q: quantized latent, shape (B, D, T); straight-through gradient to z.
        codes: shape (B, K, T), int64; K codebooks were run (items may use fewer).
        latents: projected latents z_e of each codebook, concatenated, (B, K * d, T).
        commitment_loss: scalar, ``||z_e - sg(z_q)||^2`` summed over codebooks.
        codebook_loss: scalar, ``||sg(z_e) - z_q||^2`` summed over codebooks.
        n_quantizers: shape (B,), the number of codebooks each item used.
    """

    z_q: torch.Tensor
    codes: torch.Tensor
    latents: torch.Tensor
    commitment_loss: torch.Tensor
    codebook_loss: torch.Tensor
    n_quantizers: torch.Tensor


class ResidualVectorQuantizer(nn.Module):
    """A stack of ``n_codebooks`` factorized VQs applied to successive residuals.

    Args:
        input_dim: latent channels D.
        n_codebooks: K.
        codebook_size: codes per codebook.
        codebook_dim: look-up dimension d.
        dropout: fraction of a training batch whose items use only the first
            ``n ~ U{1..K}`` codebooks (0.5 in the paper, 1.0 is SoundStream's).
    """

    def __init__(
        self, input_dim: int, n_codebooks: int, codebook_size: int, codebook_dim: int, dropout: float = 0.5
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"quantizer dropout must be in [0, 1], got {dropout}")
        self.n_codebooks = n_codebooks
        self.codebook_size = codebook_size
        self.codebook_dim = codebook_dim
        self.dropout = dropout
        self.quantizers = nn.ModuleList(
            VectorQuantizer(input_dim, codebook_size, codebook_dim) for _ in range(n_codebooks)
        )

    def check_n_quantizers(self, n_quantizers: int | None) -> int:
        """Validate ``n_quantizers`` (None means all) and return it as an int."""
        if n_quantizers is None:
            return self.n_codebooks
        if isinstance(n_quantizers, bool) or not isinstance(n_quantizers, int):
            raise InputError(f"n_quantizers must be an int or None, got {n_quantizers!r}")
        if not 1 <= n_quantizers <= self.n_codebooks:
            raise InputError(f"n_quantizers must be between 1 and {self.n_codebooks}, got {n_quantizers}")
        return n_quantizers

    def sample_n_quantizers(self, batch_size: int, device: torch.device) -> torch.Tensor:
        """Quantizer dropout: the first ``int(B * p)`` items get ``U{1..K}``, the rest K."""
        n = torch.full((batch_size,), self.n_codebooks, dtype=torch.long)
        n_dropout = int(batch_size * self.dropout)
        if n_dropout:
            n[:n_dropout] = torch.randint(1, self.n_codebooks + 1, (n_dropout,))
        return n.to(device)

    def forward(self, z: torch.Tensor, n_quantizers: int | None = None) -> QuantizerOutput:
        """Quantize z (B, D, T).

        In training with ``n_quantizers=None`` each item's number of codebooks is drawn
        by quantizer dropout; otherwise every item uses ``n_quantizers`` (honoured in
        training too). Only the codebooks some item uses are run.
        """
        batch = z.shape[0]
        if self.training and n_quantizers is None:
            n_per_item = self.sample_n_quantizers(batch, z.device)
        else:
            n = self.check_n_quantizers(n_quantizers)
            n_per_item = torch.full((batch,), n, dtype=torch.long, device=z.device)
        n_run = int(n_per_item.max())

        z_q = torch.zeros_like(z)
        residual = z
        commitment = z.new_zeros(())
        codebook = z.new_zeros(())
        codes, latents = [], []
        for i, quantizer in enumerate(self.quantizers[:n_run]):
            z_q_i, codes_i, z_e_i, commitment_i, codebook_i = quantizer(residual)
            mask = (n_per_item > i).to(z.dtype)
            z_q = z_q + z_q_i * mask[:, None, None]
            residual = residual - z_q_i
            commitment = commitment + (commitment_i * mask).mean()
            codebook = codebook + (codebook_i * mask).mean()
            codes.append(codes_i)
            latents.append(z_e_i)
        return QuantizerOutput(
            z_q=z_q,
            codes=torch.stack(codes, dim=1),
            latents=torch.cat(latents, dim=1),
            commitment_loss=commitment,
            codebook_loss=codebook,
            n_quantizers=n_per_item,
        )

    @torch.no_grad()
    def encode(self, z: torch.Tensor, n_quantizers: int | None = None) -> torch.Tensor:
        """Codes only (inference): z (B, D, T) -> codes (B, n_quantizers, T), int64."""
        n = self.check_n_quantizers(n_quantizers)
        residual = z
        codes = []
        for quantizer in self.quantizers[:n]:
            z_e = quantizer.project(residual)
            codes_i = quantizer.lookup(z_e)
            codes.append(codes_i)
            if len(codes) < n:
                # ``z_e + (z_q - z_e)`` rather than ``z_q``: the training forward (and the
                # official code) subtracts the straight-through value, which can differ
                # from z_q in the last bit; matching it keeps codes identical.
                z_q = quantizer.embed(codes_i)
                residual = residual - quantizer.out_proj(z_e + (z_q - z_e))
        return torch.stack(codes, dim=1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, K', T) with any K' <= K -> quantized latent z_q (B, D, T)."""
        self.check_codes(codes)
        z_q = self.quantizers[0].decode(codes[:, 0])
        for i in range(1, codes.shape[1]):
            z_q = z_q + self.quantizers[i].decode(codes[:, i])
        return z_q

    def check_codes(self, codes: torch.Tensor) -> None:
        """Raise :class:`InputError` unless codes is an integer (B, K', T) tensor in range."""
        if not isinstance(codes, torch.Tensor):
            raise InputError(f"codes must be a torch.Tensor, got {type(codes).__name__}")
        if codes.dtype.is_floating_point or codes.dtype == torch.bool or codes.is_complex():
            raise InputError(f"codes must be an integer tensor, got {codes.dtype}")
        if codes.dim() != 3:
            raise InputError(f"codes must have shape (B, K, frames), got {tuple(codes.shape)}")
        if not 1 <= codes.shape[1] <= self.n_codebooks:
            raise InputError(f"codes hold {codes.shape[1]} codebooks; this model has 1..{self.n_codebooks}")
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.codebook_size):
            raise InputError(
                f"codes must be in [0, {self.codebook_size}), got range [{int(codes.min())}, {int(codes.max())}]"
            )
