"""Shared fixtures of the training tests: a tiny cache from the test recording, a tiny recipe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rvqgan.data import SourceFile, prepare_cache
from rvqgan.train import config_from_dict

PIANO = Path(__file__).parents[1] / "data" / "ambi_piano.flac"

TINY = {
    "model": {"encoder_dim": 4, "decoder_dim": 32, "n_codebooks": 3, "codebook_size": 16, "codebook_dim": 4},
    "discriminator": {"periods": [2, 3], "stft_windows": [256], "mpd_channels": [4, 4, 4, 4, 4], "channels": 4},
    "data": {"excerpt_seconds": 0.06, "num_workers": 0, "valid_items": 2, "valid_seconds": 0.1},
    "schedule": {"max_steps": 6, "batch_size": 2, "checkpoint_every": 100, "valid_every": 100, "threads": 1,
                 "device": "cpu"},
    "log": {"every": 1, "tensorboard": False, "progress_bar": "never"},
}


@pytest.fixture(scope="session")
def piano_cache(tmp_path_factory) -> Path:
    """A cache of the test recording cut in two files, two domains, one full-band."""
    import soundfile as sf

    root = tmp_path_factory.mktemp("cache")
    audio, rate = sf.read(PIANO, dtype="float32")
    half = len(audio) // 2
    sf.write(root / "a.wav", audio[:half], rate)
    sf.write(root / "b.wav", audio[half:], rate)
    files = [SourceFile(str(root / "a.wav"), "music", True), SourceFile(str(root / "b.wav"), "speech")]
    prepare_cache(files, root / "cache", 44100)
    return root / "cache"


def tiny_config(cache: Path, *overrides: str):
    """The tiny recipe on ``cache`` with dotted overrides."""
    data = {**TINY, "data": {**TINY["data"], "cache": str(cache)}}
    return config_from_dict(data, list(overrides))


def weights(module: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}
