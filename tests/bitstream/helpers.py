"""Shared helpers of the bitstream tests: small headers and in-memory files."""

from __future__ import annotations

import io

import numpy as np

from rvqgan.bitstream import RvqHeader, RvqWriter


def make_header(**overrides) -> RvqHeader:
    """A small valid header (1024-entry codebooks, 4 codebooks, mono); fields overridable."""
    fields = {
        "model_name": "tiny_44khz",
        "model_hash": "sha256:0123abcd",
        "sample_rate": 44100,
        "hop_length": 512,
        "n_codebooks": 4,
        "codebook_size": 1024,
        "channels": 1,
        "original_sample_rate": 48000,
        "original_length": None,
        "chunk_frames": 8,
        "tool_version": "rvqgan test",
    }
    fields.update(overrides)
    return RvqHeader(**fields)


def random_codes(rng: np.random.Generator, header: RvqHeader, frames: int) -> np.ndarray:
    """Uniform random codes ``[channels, n_codebooks, frames]`` for ``header``."""
    return rng.integers(0, header.codebook_size, size=(header.channels, header.n_codebooks, frames))


def write_bytes(header: RvqHeader, codes: np.ndarray, original_length: int | None = None) -> bytes:
    """The bytes of an .rvq file holding ``codes``, written to memory."""
    sink = io.BytesIO()
    with RvqWriter(sink, header) as writer:
        writer.write_chunk(codes)
        writer.close(original_length=original_length)
    return sink.getvalue()
