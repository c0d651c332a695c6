"""Shared fixtures: tiny random models and the real test clip."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from torch import nn

from rvqgan.model import Codec, CodecConfig, preset

DATA = Path(__file__).parent / "data"
REAL_CLIP = DATA / "ambi_piano.flac"

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]


def load_repo_script(relative: str) -> ModuleType:
    """Import a script of the repository (``benchmarks/x.py``, ``scripts/x.py``) as a module
    named after its file; it is registered in ``sys.modules``, where dataclasses look it up."""
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def tiny_config(**changes) -> CodecConfig:
    """A model small enough for unit tests, with the paper's layout."""
    base = dataclasses.replace(preset("tiny_44khz"), encoder_dim=4, decoder_dim=32, n_codebooks=4, codebook_size=64)
    return dataclasses.replace(base, **changes)


def randomize(model: nn.Module, seed: int = 0, bias_scale: float = 0.05) -> nn.Module:
    """Move Snake alphas and biases away from their initial values so tests are meaningful
    (alphas uniform in [0.5, 1.5], biases shifted by ``bias_scale`` times a normal draw)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("alpha"):
                param.copy_(0.5 + torch.rand(param.shape, generator=gen))
            elif name.endswith("bias"):
                param.add_(bias_scale * torch.randn(param.shape, generator=gen))
    return model


@pytest.fixture
def tiny_model() -> Codec:
    torch.manual_seed(0)
    return randomize(Codec(tiny_config())).eval()


@pytest.fixture(scope="session")
def real_clip() -> tuple[np.ndarray, int]:
    """The real test recording as float32 [C, T] and its sample rate."""
    import soundfile as sf

    data, rate = sf.read(REAL_CLIP, dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.T), rate


@pytest.fixture(scope="session")
def saved_model(tmp_path_factory) -> Path:
    """A tiny random model (24 kHz layout, odd strides) saved as an rvqgan checkpoint."""
    from rvqgan.checkpoint import save_model

    torch.manual_seed(0)
    model = randomize(Codec(tiny_config(sample_rate=24000, encoder_rates=(2, 4, 5, 8), decoder_rates=(8, 5, 4, 2))))
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_model(model, path, name="tiny")
    return path
