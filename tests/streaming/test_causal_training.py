"""A causal generator trains: gradients reach every weight, the loss falls, the recipe runs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from rvqgan.model import Codec
from tests.conftest import tiny_config
from tests.streaming.helpers import signal


def test_a_causal_generator_learns() -> None:
    torch.manual_seed(0)
    model = Codec(tiny_config(causal=True)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.8, 0.9))
    audio = signal(4, 1, 4 * model.hop_length + 100, seed=40)
    losses = []
    for step in range(30):
        out = model(audio)
        loss = F.l1_loss(out.audio, audio) + out.commitment_loss.mean() * 0.25 + out.codebook_loss.mean()
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            for name, param in model.named_parameters():
                assert param.grad is not None and torch.isfinite(param.grad).all(), name
        optimizer.step()
        losses.append(loss.item())
    assert out.audio.shape == audio.shape
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5


@pytest.fixture(scope="module")
def piano_cache(tmp_path_factory) -> Path:
    """The training tests' tiny cache (two halves of the test recording)."""
    import soundfile as sf

    from rvqgan.data import SourceFile, prepare_cache
    from tests.conftest import REAL_CLIP

    root = tmp_path_factory.mktemp("cache")
    audio, rate = sf.read(REAL_CLIP, dtype="float32")
    half = len(audio) // 2
    sf.write(root / "a.wav", audio[:half], rate)
    sf.write(root / "b.wav", audio[half:], rate)
    files = [SourceFile(str(root / "a.wav"), "music", True), SourceFile(str(root / "b.wav"), "speech")]
    prepare_cache(files, root / "cache", 44100)
    return root / "cache"


def test_the_training_recipe_runs_a_causal_model(piano_cache, tmp_path) -> None:
    from rvqgan.train import Trainer
    from tests.train.helpers import tiny_train_config

    trainer = Trainer(tiny_train_config(piano_cache, "model.causal=true"), tmp_path)
    assert trainer.generator.is_causal
    audio = torch.stack([trainer.dataset[(0, i)][0] for i in range(2)])
    for _ in range(2):
        logs = trainer.train_step(audio)
    for name in ("mel", "generator", "discriminator"):
        assert math.isfinite(float(logs[f"loss/{name}"])), name
    assert trainer.step == 2
