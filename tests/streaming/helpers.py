"""Tiny causal codecs, test signals and chunked feeding shared by the streaming tests."""

from __future__ import annotations

import random

import torch

from rvqgan.model import Codec
from rvqgan.streaming import StreamingSession
from tests.inference.helpers import tiny_codec

# (layout preset, what it exercises): hop 512 with even strides; hop 320 with an odd stride.
LAYOUTS = ("tiny_44khz", "dac_16khz")


def causal_codec(layout: str = "tiny_44khz", seed: int = 0, **changes: object) -> Codec:
    """A narrow causal codec with ``layout``'s rates, Snake alphas and biases randomized,
    and codebooks spread over its latents (see :func:`spread_codebooks`)."""
    return spread_codebooks(tiny_codec(layout, seed, causal=True, **changes), seed)


@torch.no_grad()
def spread_codebooks(model: Codec, seed: int = 0) -> Codec:
    """Set each codebook to projected residuals of a calibration signal.

    Random codebooks of a random model use two or three codes in all, which would make
    "codes identical" a weak check; codebooks drawn from the model's own latents use
    most of their codes, so every frame's choice is a real decision.
    """
    gen = torch.Generator().manual_seed(seed + 100)
    audio = signal(1, 1, 64 * model.hop_length, seed=seed + 100)
    residual = model.encoder(audio)
    for quantizer in model.quantizer.quantizers:
        z_e = quantizer.project(residual)[0].t()  # (frames, d)
        rows = torch.randint(0, z_e.shape[0], (quantizer.codebook_size,), generator=gen)
        quantizer.codebook.weight.copy_(z_e[rows] + 0.3 * z_e.std() * torch.randn(z_e[rows].shape, generator=gen))
        residual = residual - quantizer.decode(quantizer.lookup(z_e.t()[None]))
    return model


def signal(batch: int, channels: int, length: int, seed: int = 0) -> torch.Tensor:
    """Audio (B, C, T): a chirp-like tone plus noise, amplitude about 0.5."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(length, dtype=torch.float32) / 16000
    tone = torch.sin(2 * torch.pi * (200 + 3000 * t) * t)
    return 0.3 * tone + 0.2 * torch.randn(batch, channels, length, generator=gen)


def chunk_sizes(total: int, rule: str, hop: int, seed: int = 0) -> list[int]:
    """Chunk lengths adding up to ``total``: ``"1"``, ``"hop"``, ``"hop+1"`` or ``"random"`` (0s included)."""
    rng = random.Random(seed)
    sizes, left = [], total
    while left > 0:
        n = {"1": 1, "hop": hop, "hop+1": hop + 1}.get(rule) or rng.choice([0, 1, 7, hop - 1, rng.randint(1, 3 * hop)])
        sizes.append(min(n, left))
        left -= sizes[-1]
    return sizes


def stream_encode(session: StreamingSession, audio: torch.Tensor, sizes: list[int]) -> tuple[torch.Tensor, list[int]]:
    """Feed ``audio`` (B, C, T) in chunks of ``sizes``, then flush; returns all codes and frames per call."""
    pieces, pos = [], 0
    for n in sizes:
        pieces.append(session.encode_step(audio[..., pos : pos + n]))
        pos += n
    pieces.append(session.flush().codes)
    return torch.cat(pieces, dim=-1), [p.shape[-1] for p in pieces]


def stream_decode(session: StreamingSession, codes: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """Feed codes (R, K, L) in chunks of ``sizes`` frames; returns the audio (B, C, L * hop)."""
    pieces, pos = [], 0
    for m in sizes:
        pieces.append(session.decode_step(codes[..., pos : pos + m]))
        pos += m
    return torch.cat(pieces, dim=-1)


def relative_error(estimate: torch.Tensor, reference: torch.Tensor) -> float:
    """||estimate - reference|| / ||reference||, in float64."""
    return float((estimate.double() - reference.double()).norm() / reference.double().norm())
