"""One factorized, L2-normalized vector quantizer (one codebook of the residual stack).

The input (``input_dim`` channels) is projected by a 1x1 convolution to a small
``codebook_dim`` space; the nearest code is the one of highest cosine similarity (both
sides L2-normalized); the chosen code vector (un-normalized, as in the official code) is
projected back up by another 1x1 convolution. Gradients pass the look-up by the
straight-through estimator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rvqgan.nn.conv import WNConv1d


class VectorQuantizer(nn.Module):
    """A single codebook.

    Args:
        input_dim: channels of the latent it quantizes.
        codebook_size: number of codes (1024 in the paper).
        codebook_dim: dimension of the look-up space (8 in the paper).
    """

    def __init__(self, input_dim: int, codebook_size: int, codebook_dim: int) -> None:
        super().__init__()
        self.codebook_size = codebook_size
        self.codebook_dim = codebook_dim
        self.in_proj = WNConv1d(input_dim, codebook_dim, 1)
        self.out_proj = WNConv1d(codebook_dim, input_dim, 1)
        self.codebook = nn.Embedding(codebook_size, codebook_dim)

    def project(self, z: torch.Tensor) -> torch.Tensor:
        """z (Tensor): shape (B, D, T) -> projected latent z_e, shape (B, d, T)."""
        return self.in_proj(z)

    def lookup(self, z_e: torch.Tensor) -> torch.Tensor:
        """Nearest code by cosine similarity: z_e (B, d, T) -> codes (B, T), int64."""
        # Always float32: under bf16 autocast near-ties would flip codes.
        encodings = F.normalize(z_e.transpose(1, 2).float(), dim=-1)
        codebook = F.normalize(self.codebook.weight.float(), dim=-1)
        with torch.autocast(device_type=z_e.device.type, enabled=False):
            return (encodings @ codebook.t()).argmax(dim=-1)

    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, T) -> code vectors (B, d, T), before the output projection."""
        return F.embedding(codes, self.codebook.weight).transpose(1, 2)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, T) -> this codebook's contribution to the latent, (B, D, T)."""
        return self.out_proj(self.embed(codes))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantize ``z`` (B, D, T).

        Returns:
            z_q (B, D, T) with straight-through gradient, codes (B, T), z_e (B, d, T),
            commitment loss (B,) and codebook loss (B,), each a mean over (d, T).
        """
        z_e = self.project(z)
        codes = self.lookup(z_e)
        z_q = self.embed(codes)
        commitment = F.mse_loss(z_e, z_q.detach(), reduction="none").mean(dim=(1, 2))
        codebook = F.mse_loss(z_q, z_e.detach(), reduction="none").mean(dim=(1, 2))
        z_q = z_e + (z_q - z_e).detach()
        return self.out_proj(z_q), codes, z_e, commitment, codebook
