"""Fixtures of the entropy-coding tests: tiny code LMs, and a tiny codec with its sidecars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rvqgan.checkpoint import save_model
from rvqgan.entropy import (
    CodeLM,
    CodeLMConfig,
    StaticTables,
    count_codes,
    lm_path_for,
    save_lm,
    save_static,
    static_path_for,
)
from rvqgan.entropy.export import export_lm
from rvqgan.entropy.integer_lm import IntegerLM
from rvqgan.model import Codec
from tests.conftest import randomize, tiny_config


def lm_config(**changes) -> CodeLMConfig:
    """A code LM small enough for unit tests (4 codebooks of 64 codes, like tiny_config)."""
    fields = {
        "n_codebooks": 4,
        "codebook_size": 64,
        "dim": 32,
        "layers": 2,
        "heads": 4,
        "ff_dim": 48,
        "context_frames": 24,
    }
    fields.update(changes)
    return CodeLMConfig(**fields)


def random_lm(seed: int = 0, **changes) -> CodeLM:
    """A float LM with weights spread enough to give peaked, varied tables."""
    torch.manual_seed(seed)
    model = CodeLM(lm_config(**changes)).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.startswith("heads") and name.endswith("weight"):
                param.mul_(6.0)
    return model


def integer_lm(seed: int = 0, weight_bits: int = 8, **changes) -> IntegerLM:
    model = random_lm(seed, **changes)
    return IntegerLM(model.config, export_lm(model, weight_bits))


def markov_codes(rng: np.random.Generator, batch: int, n: int, frames: int, size: int = 64) -> np.ndarray:
    """Codes with structure an LM can learn: each codebook mostly repeats or steps by one."""
    codes = np.zeros((batch, n, frames), dtype=np.int64)
    codes[:, :, 0] = rng.integers(0, size, size=(batch, n))
    for t in range(1, frames):
        step = rng.choice([0, 1, 2], size=(batch, n), p=[0.6, 0.3, 0.1])
        codes[:, :, t] = (codes[:, :, t - 1] + step) % size
    return codes


def fitted_lm(codes: np.ndarray, steps: int = 60, seed: int = 0, **changes) -> CodeLM:
    """A tiny float LM trained for a few steps on windows of ``codes [C, K, T]``."""
    torch.manual_seed(seed)
    model = CodeLM(lm_config(**changes)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        starts = rng.integers(0, codes.shape[2] - 32, size=4)
        channels = rng.integers(0, codes.shape[0], size=4)
        batch = np.stack([codes[c, :, s : s + 32] for c, s in zip(channels, starts)])
        loss = model.bits_per_code(torch.from_numpy(batch))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="session")
def codec_dir(tmp_path_factory) -> Path:
    """A tiny random codec saved with a code LM and static tables (fitted to its codes) beside it."""
    from rvqgan.audio import read_audio
    from rvqgan.inference import encode_long
    from tests.conftest import REAL_CLIP

    folder = tmp_path_factory.mktemp("codec")
    torch.manual_seed(0)
    codec = randomize(Codec(tiny_config())).eval()
    path = folder / "tiny.safetensors"
    codec_hash = save_model(codec, path, name="tiny")
    audio, _ = read_audio(REAL_CLIP, codec.sample_rate)
    with torch.no_grad():
        codes = encode_long(codec, torch.from_numpy(audio)).numpy()  # [C, K, T]
    lm = fitted_lm(codes)
    save_lm(lm_path_for(path), lm.config, export_lm(lm), name="tiny.lm", codec_name="tiny", codec_hash=codec_hash)
    save_static(
        static_path_for(path),
        StaticTables.from_counts(count_codes([codes], 4, 64)),
        name="tiny.static",
        codec_name="tiny",
        codec_hash=codec_hash,
    )
    return folder
