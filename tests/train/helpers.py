"""Helpers of the training tests: the tiny recipe and weight snapshots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rvqgan.train import TrainConfig, config_from_dict

PIANO = Path(__file__).parents[1] / "data" / "ambi_piano.flac"

TINY = {
    "model": {"encoder_dim": 4, "decoder_dim": 32, "n_codebooks": 3, "codebook_size": 16, "codebook_dim": 4},
    "discriminator": {"periods": [2, 3], "stft_windows": [256], "mpd_channels": [4, 4, 4, 4, 4], "channels": 4},
    "data": {"excerpt_seconds": 0.06, "num_workers": 0, "valid_items": 2, "valid_seconds": 0.1},
    "schedule": {"max_steps": 6, "batch_size": 2, "checkpoint_every": 100, "valid_every": 100, "threads": 1,
                 "device": "cpu"},
    "log": {"every": 1, "tensorboard": False, "progress_bar": "never"},
}


def tiny_train_config(cache: Path, *overrides: str) -> TrainConfig:
    """The tiny recipe on ``cache`` with dotted overrides."""
    data = {**TINY, "data": {**TINY["data"], "cache": str(cache)}}
    return config_from_dict(data, list(overrides))


def weights(module: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}
